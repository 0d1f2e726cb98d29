# Benchmark: a sync echo predictor (figure 1).
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, text: str = "hello") -> str:
        return text
