# Sleeps for the requested time, then answers: a stand-in for a long prediction.
import time

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, seconds: float = Input(description="How long to work", default=5.0, ge=0.0, le=60.0)) -> str:
        time.sleep(seconds)
        return f"slept {seconds}"
