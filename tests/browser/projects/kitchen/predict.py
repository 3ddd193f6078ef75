# Answers with what it received, as JSON text: the browser test reads back each control's value.
import json
from typing import List

from cog import BasePredictor, Input, Path, Secret


class Predictor(BasePredictor):
    def predict(
        self,
        prompt: str = Input(description="A long text", default="a cat"),
        steps: int = Input(description="An integer with bounds", ge=1, le=50, default=10),
        scale: float = Input(description="A number with bounds", default=7.5, ge=0, le=20),
        flag: bool = Input(description="A checkbox", default=True),
        color: str = Input(description="A choice", choices=["red", "green", "blue"], default="red"),
        count: int = Input(description="A choice of integers", choices=[1, 2, 4], default=1),
        key: Secret = Input(description="A secret", default=None),
        image: Path = Input(description="An optional image", default=None),
        tags: List[str] = Input(description="A list of words", default=["a"]),
        old: str = Input(description="A deprecated input", default="x", deprecated=True),
        code: str = Input(description="A pattern", default="ab", regex="^[a-z]+$", max_length=5),
    ) -> str:
        got = {
            "prompt": prompt, "steps": steps, "scale": scale, "flag": flag, "color": color,
            "count": count, "key_reversed": key.get_secret_value()[::-1] if key else None,
            "image_bytes": len(open(image, "rb").read()) if image else None,
            "tags": tags, "old": old, "code": code,
        }
        return json.dumps(got, sort_keys=True)
