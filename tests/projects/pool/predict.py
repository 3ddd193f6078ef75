# pool: reports which worker ran it (pid, CUDA_VISIBLE_DEVICES), sleeps, or crashes its worker.
import os
import time

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self):
        time.sleep(float(os.environ.get("POOL_SETUP_SECONDS", "0")))

    def predict(
        self,
        seconds: float = Input(description="How long to work", default=0.0, ge=0.0, le=60.0),
        crash: bool = Input(description="Kill this worker", default=False),
    ) -> str:
        if crash:
            os._exit(3)
        time.sleep(seconds)
        return f"pid={os.getpid()} cuda={os.environ.get('CUDA_VISIBLE_DEVICES', '-')}"
