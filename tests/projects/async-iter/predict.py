# Yields n items, printing a log line before each and sleeping `delay` after: every event kind a webhook can carry.
import time
from typing import Iterator

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, n: int = Input(default=3, ge=0, le=100),
                delay: float = Input(default=0.3, ge=0.0, le=10.0)) -> Iterator[str]:
        for i in range(n):
            print(f"log {i}", flush=True)
            yield f"item {i}"
            time.sleep(delay)
