# setup() prints a line and raises: the server stays up and reports the failure.
from cog import BasePredictor


class Predictor(BasePredictor):
    def setup(self) -> None:
        print("loading weights from nowhere", flush=True)
        raise RuntimeError("weights not found")

    def predict(self) -> str:
        return "unreachable"
