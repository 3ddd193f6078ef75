# Does nothing: every request's cost is the server's own.
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self) -> str:
        return "ok"
