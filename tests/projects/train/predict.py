# A predictor with a train entry: /trainings runs train(), /predictions predict().
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, x: int = Input(default=2)) -> int:
        return x * 10
