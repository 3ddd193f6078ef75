# A small torch model on cuda for tests/gpu/run: a 4-layer MLP over a batch of 64.
import os

import torch
from cog import BasePredictor


def build():
    torch.manual_seed(0)
    layers = []
    for _ in range(4):
        layers += [torch.nn.Linear(1024, 1024), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers).to("cuda").eval()


class Predictor(BasePredictor):
    def setup(self):
        self.model = build()
        self.x = torch.randn(64, 1024, device="cuda")
        with torch.no_grad():
            self.model(self.x)
        torch.cuda.synchronize()

    def predict(self) -> str:
        with torch.no_grad():
            y = self.model(self.x)
        torch.cuda.synchronize()
        return f"{float(y[0, 0]):.4f} on {torch.cuda.get_device_name(0)} " \
               f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '-')})"
