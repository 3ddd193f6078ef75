# typing.Literal inputs (strings and integers) and PEP 604 unions.
from typing import Literal

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(
        self,
        mode: Literal["fast", "slow"],
        level: Literal[1, 2, 3] = Input(default=2, description="How hard to try"),
        image: Path | None = None,
        label: str | None = None,
    ) -> str:
        return f"{mode}|{level}|{image is None}|{label}"
