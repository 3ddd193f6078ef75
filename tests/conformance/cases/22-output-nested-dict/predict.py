# A nested container output: dict[str, dict[str, str]], additionalProperties all the way down.
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, name: str = "Ada") -> dict[str, dict[str, str]]:
        return {name: {"upper": name.upper(), "lower": name.lower()}, "empty": {}}
