# A numpy output type: np.float64 is a float subclass, "number" in Cog's schema; the value
# returned is a numpy scalar.
import numpy as np

from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, x: float = 1.5) -> np.float64:
        return np.float64(x) * 2
