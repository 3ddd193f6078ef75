# As tests/projects/stream, with an async generator typed AsyncConcatenateIterator[str]: yields n
# chunks "i@t" (t the wall-clock time of the yield), one every `delay` seconds.
import asyncio
import time

from cog import AsyncConcatenateIterator, BasePredictor, Input


class Predictor(BasePredictor):
    async def predict(self, n: int = Input(default=5, ge=0, le=100000),
                      delay: float = Input(default=0.2, ge=0.0, le=60.0)) -> AsyncConcatenateIterator[str]:
        for i in range(n):
            if delay > 0:
                await asyncio.sleep(delay)
            yield f"{i}@{time.time():.6f}"
