# sync-concurrent: a sync predict with concurrency.max 2, which Cog refuses at setup.
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self) -> str:
        return "never"
