# A default is passed to predict() as written: pydantic 1 does not validate defaults, so a
# float input whose default is the int 1 receives (and echoes) the int 1, while a value sent
# by the client is a float.
from typing import Any

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, scale: float = Input(default=1), shift: float = 0) -> Any:
        return {"scale": scale, "shift": shift,
                "types": f"{type(scale).__name__},{type(shift).__name__}"}
