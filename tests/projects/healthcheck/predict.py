# healthcheck: a user healthcheck() that the test steers through the file $HC_FLAG.
#
# The file holds "DEVICE MODE": the worker whose CUDA_VISIBLE_DEVICES is DEVICE answers
# MODE (false: returns False; raise: raises; slow: sleeps past Cog's 5 s limit); no file,
# or another device: healthy.
import os
import time

from cog import BasePredictor


class Predictor(BasePredictor):
    def healthcheck(self) -> bool:
        try:
            with open(os.environ["HC_FLAG"]) as f:
                device, mode = f.read().split()
        except (OSError, ValueError, KeyError):
            return True
        if device != os.environ.get("CUDA_VISIBLE_DEVICES", "-"):
            return True
        if mode == "raise":
            raise RuntimeError("the database is gone")
        if mode == "slow":
            time.sleep(8)
        return mode != "false"

    def predict(self) -> str:
        return "ok"
