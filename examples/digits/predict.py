# digits: classifies an image of one handwritten digit with a small torch network.
#
# setup() trains the network on scikit-learn's digits data set (1797 images of 8x8 pixels,
# shipped with scikit-learn: nothing is downloaded). Training is seeded and takes a few seconds
# on a CPU; a GPU is used when there is one.
from typing import List

import numpy as np
import torch
from PIL import Image, ImageOps
from sklearn.datasets import load_digits

from cog import BaseModel, BasePredictor, Input, Path

# Pillow 9.1 moved the filters into Image.Resampling.
BOX = getattr(Image, "Resampling", Image).BOX


class Output(BaseModel):
    digit: int
    probabilities: List[float]


def to_features(image: Image.Image) -> np.ndarray:
    """An image of any size as the 64 features the network knows: 8x8 gray, ink bright,
    0.0 (paper) to 1.0 (ink), like the digits data (0..16) divided by 16."""
    gray = image.convert("L")
    # The digits data is light ink on a dark ground; a scan or a drawing is the reverse.
    # Decide by the border, which is paper in any sensible picture of a digit.
    px = np.asarray(gray, dtype=np.float32)
    border = np.concatenate([px[0, :], px[-1, :], px[:, 0], px[:, -1]])
    if border.mean() > 127:
        gray = ImageOps.invert(gray)
    small = gray.resize((8, 8), BOX)
    return np.asarray(small, dtype=np.float32).reshape(64) / 255.0


class Predictor(BasePredictor):
    def setup(self) -> None:
        torch.manual_seed(0)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        data = load_digits()
        x = torch.tensor(data.data / 16.0, dtype=torch.float32, device=self.device)
        y = torch.tensor(data.target, dtype=torch.long, device=self.device)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(64, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 10),
        ).to(self.device)
        opt = torch.optim.Adam(self.model.parameters(), lr=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(150):
            opt.zero_grad()
            loss = loss_fn(self.model(x), y)
            loss.backward()
            opt.step()
        self.model.eval()
        with torch.no_grad():
            accuracy = (self.model(x).argmax(1) == y).float().mean().item()
        print(f"trained on {len(y)} digits on {self.device}: loss {loss.item():.4f}, "
              f"training accuracy {accuracy:.3f}")

    def predict(self, image: Path = Input(description="An image of one handwritten digit (PNG, JPEG, ...)")) -> Output:
        with Image.open(image) as img:
            features = to_features(img)
        with torch.no_grad():
            x = torch.from_numpy(features).to(self.device).unsqueeze(0)
            probs = torch.softmax(self.model(x), dim=1)[0].cpu()
        return Output(digit=int(probs.argmax().item()),
                      probabilities=[round(float(p), 6) for p in probs])
