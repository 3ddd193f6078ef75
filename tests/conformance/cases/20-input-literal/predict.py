# typing.Literal inputs (a string and an integer) and a PEP 604 union; values outside a
# Literal get a 422.
from typing import Literal

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(
        self,
        mode: Literal["fast", "slow"],
        level: Literal[1, 2, 3] = Input(default=2, description="How hard to try"),
        image: Path | None = None,
    ) -> str:
        return f"{mode}|{level}|{image is None}"
