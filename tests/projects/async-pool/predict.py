# async-pool: an async predictor with concurrency.max 4; reports how many ran at once.
import asyncio
import os

from cog import BasePredictor, Input, current_scope

running = 0
peak = 0


class Predictor(BasePredictor):
    async def setup(self):
        await asyncio.sleep(0)

    async def predict(self, seconds: float = Input(default=1.0, ge=0.0, le=60.0)) -> str:
        global running, peak
        running += 1
        peak = max(peak, running)
        try:
            current_scope().record_metric("concurrent", running)
            print(f"start {current_scope().context.get('id')}")
            await asyncio.sleep(seconds)
            return f"pid={os.getpid()} peak={peak}"
        finally:
            running -= 1
