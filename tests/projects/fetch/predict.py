# Reports the size of the file input it was given.
from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(self, source: Path = Input(description="Any file")) -> str:
        return f"{len(source.read_bytes())} bytes"
