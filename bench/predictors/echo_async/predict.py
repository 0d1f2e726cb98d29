# Benchmark: an async echo predictor with 8 slots (figure 2).
from cog import BasePredictor, concurrent


class Predictor(BasePredictor):
    @concurrent(max=8)
    async def predict(self, text: str = "hello") -> str:
        return text
