# Counts to `steps`, printing a tqdm-like progress line per step and yielding one word each:
# the playground shows the logs, a progress bar and the text growing while it runs.
import sys
import time
from typing import Iterator

from cog import BasePredictor, ConcatenateIterator, Input


class Predictor(BasePredictor):
    def predict(
        self,
        steps: int = Input(description="How many steps", default=6, ge=1, le=100),
        delay: float = Input(description="Seconds per step", default=0.4, ge=0.0, le=5.0),
    ) -> ConcatenateIterator[str]:
        for i in range(1, steps + 1):
            time.sleep(delay)
            pct = 100 * i // steps
            bar = "#" * (pct // 10)
            print(f"{pct:3d}%|{bar:<10}| {i}/{steps} [00:0{i}<00:00, 2.50it/s]", file=sys.stderr, flush=True)
            yield f"word{i} "
