# Returns `size` bytes of text after `sleep` seconds and ignores `data` (a large input the
# front echoes back).
import sys
import time

from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, size: int = 0, data: str = "", bad_log: bool = False, sleep: float = 0) -> str:
        time.sleep(sleep)
        if bad_log:
            # bytes that are not UTF-8, between valid lines: `logs` must stay a string
            sys.stdout.write("before\n")
            sys.stdout.flush()
            sys.stdout.buffer.write(b"bad \xff\xfe bytes\n")
            sys.stdout.buffer.flush()
            print("after", flush=True)
        return "x" * size
