# zero: a setup() of a known length that reports how long it really took, for scale-from-zero.
import time

from cog import BasePredictor


class Predictor(BasePredictor):
    def setup(self):
        start = time.perf_counter()
        time.sleep(0.3)
        self.setup_seconds = time.perf_counter() - start

    def predict(self) -> float:
        return self.setup_seconds
