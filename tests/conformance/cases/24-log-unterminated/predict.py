# A log whose last line has no newline: Cog's log capture ends it with one.
import sys

from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, text: str = "hi") -> str:
        print("first line")
        print("no newline at the end", end="")
        sys.stdout.flush()
        return text
