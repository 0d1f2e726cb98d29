# Benchmark: an empty setup() (figure 5: process start -> READY).
from cog import BasePredictor


class Predictor(BasePredictor):
    def setup(self) -> None:
        pass

    def predict(self) -> str:
        return "ok"
