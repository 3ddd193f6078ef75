# A module that runs a program which does not exist and imports a package that is missing,
# at import time: its schema is still known (read from the declarations alone); only
# loading it for real fails.
import subprocess

from cog import BasePredictor, Input

subprocess.run(["cog-fcgi-no-such-program", "--download-weights"], check=True)

import cog_fcgi_no_such_package  # noqa: E402,F401

SIZES = [256, 512]


class Predictor(BasePredictor):
    def setup(self):
        self.model = cog_fcgi_no_such_package.load()

    def predict(self, size: int = Input(default=256, choices=SIZES),
                prompt: str = Input(description="What to draw")) -> str:
        return f"{prompt}@{size}"
