# An output declared with pydantic.BaseModel under its own name: a component named after the
# class, its docstring as description, defaults, Optional, lists and a nested model.
from typing import List, Optional

from pydantic import BaseModel

from cog import BasePredictor, Input


class Box(BaseModel):
    x: int
    y: int


class Caption(BaseModel):
    """What the model saw."""

    text: str
    score: float = 0.5
    tags: List[str] = []
    note: Optional[str] = None
    box: Box
    boxes: List[Box] = []


class Predictor(BasePredictor):
    def predict(self, text: str = Input(description="What to caption")) -> Caption:
        return Caption(text=text.upper(), tags=text.split(), box=Box(x=1, y=2),
                       boxes=[Box(x=3, y=4)])
