# Benchmark: a streaming generator; each token carries the time.time_ns() of its
# yield, so the client (same machine clock) can compute yield -> SSE event latency.
import time
from typing import Iterator

from cog import BasePredictor, streaming


class Predictor(BasePredictor):
    @streaming
    def predict(self, tokens: int = 2000, interval_ms: float = 1.0) -> Iterator[str]:
        delay = interval_ms / 1000.0
        for i in range(tokens):
            if delay > 0:
                time.sleep(delay)
            yield "{}:{}".format(i, time.time_ns())
