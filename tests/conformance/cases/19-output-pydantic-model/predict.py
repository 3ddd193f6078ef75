# An output declared with pydantic.BaseModel under its own class name: a component named after
# the class (docstring as description, defaults, Optional, a list, a nested model).
from typing import List, Optional

from pydantic import BaseModel

from cog import BasePredictor, Input


class Point(BaseModel):
    x: int
    y: int


class Detection(BaseModel):
    """One thing found in the text."""

    label: str
    score: float = 0.5
    tags: List[str] = []
    note: Optional[str] = None
    where: Point


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="What to look at")) -> Detection:
        return Detection(label=text.upper(), tags=text.split(), where=Point(x=len(text), y=1))
