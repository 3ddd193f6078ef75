# A nested container output: additionalProperties all the way down.
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, name: str = "a") -> dict[str, dict[str, str]]:
        return {name: {"upper": name.upper(), "lower": name.lower()}}
