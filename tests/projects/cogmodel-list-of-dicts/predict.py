# A list of dicts output, and numpy integers inside it converted when returned.
from typing import Dict, List

import numpy as np

from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, n: int = 2) -> List[Dict[str, int]]:
        return [{"i": np.int64(i), "square": i * i} for i in range(n)]
