# cpu: about 20 ms of pure-Python CPU work per prediction (the GIL held throughout).
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, n: int = 200000) -> int:
        total = 0
        for i in range(n):
            total += i * i % 7
        return total
