# A numpy output type (np.float64, a float subclass: "number" in Cog's schema) and numpy
# values returned where the annotation says float or list of int.
import numpy as np

from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, x: float = 1.5) -> np.float64:
        return np.float64(x) * 2
