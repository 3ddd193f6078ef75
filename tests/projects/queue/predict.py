# Appends the tag to `path` when it starts (one line per run, O_APPEND: safe across processes),
# works `seconds`, then answers the tag: the queue tests count the lines to see each request ran once.
import os
import time

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(
        self,
        tag: str = Input(description="Written to path, then answered"),
        path: str = Input(description="File the tag is appended to", default=""),
        seconds: float = Input(description="How long to work", default=0.0, ge=0.0, le=60.0),
    ) -> str:
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (tag + "\n").encode())
            finally:
                os.close(fd)
        print(f"working on {tag}")
        time.sleep(seconds)
        return tag
