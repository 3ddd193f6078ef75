# The train: entry, a plain function.
from cog import BaseModel, Input


class TrainingOutput(BaseModel):
    steps: int
    message: str


def train(steps: int = Input(default=3, ge=1, le=100), name: str = "run") -> TrainingOutput:
    print(f"training {name} for {steps} steps")
    return TrainingOutput(steps=steps, message=f"{name} done")
