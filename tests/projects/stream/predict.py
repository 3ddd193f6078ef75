# Yields n chunks, one every `delay` seconds, each carrying the wall-clock time of its yield
# ("i@t"), so a client can measure how long the chunk took to reach it. mode: "gen" (the
# iterator), "fail" (raises after the chunks), "log" (prints a line before each chunk).
import sys
import time
from typing import Iterator

from cog import BasePredictor, Input, streaming


class Predictor(BasePredictor):
    @streaming
    def predict(self, n: int = Input(default=5, ge=0, le=100000),
                delay: float = Input(default=0.2, ge=0.0, le=60.0),
                mode: str = Input(default="gen")) -> Iterator[str]:
        for i in range(n):
            if delay > 0:
                time.sleep(delay)
            if mode == "log":
                print(f"line {i}", flush=True)
            yield f"{i}@{time.time():.6f}"
        if mode == "fail":
            raise ValueError("failed on purpose")
