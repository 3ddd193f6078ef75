# Copies its input file to its output file (the benchmark's 1 MB in and out).
import collections
import os
import shutil
import tempfile

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="copyfile-")
        self.n = 0
        # The server reads an output after predict() returns: keep the last few.
        self.recent = collections.deque()

    def predict(self, source: Path = Input(description="Any file")) -> Path:
        self.n += 1
        out = os.path.join(self.dir, f"{self.n}{source.suffix}")
        shutil.copyfile(source, out)
        self.recent.append(out)
        while len(self.recent) > 8:
            os.unlink(self.recent.popleft())
        return Path(out)
