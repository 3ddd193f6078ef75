# hello-world: prefixes the text it is given with "hello ".
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="Text to prefix with 'hello '")) -> str:
        return "hello " + text
