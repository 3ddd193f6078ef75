# A setup() that takes a while: the schema and 422s are answered while it runs.
import time

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self):
        with open("setup-ran", "w") as f:  # tests look for it: `cog-fcgi schema` must not
            f.write("yes\n")
        time.sleep(6)

    def predict(self, n: int = Input(ge=1, le=10)) -> int:
        return n * 2
