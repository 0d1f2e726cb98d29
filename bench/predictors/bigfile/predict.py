# Benchmark: writes a file of `mib` MiB (default 100) in 1 MiB blocks and returns it (figure 4).
import os
import tempfile

from cog import BasePredictor, Path


class Predictor(BasePredictor):
    def predict(self, mib: int = 100) -> Path:
        out = os.path.join(tempfile.mkdtemp(prefix="cog-bench-"), "big.bin")
        block = os.urandom(1 << 20)
        with open(out, "wb") as f:
            for _ in range(mib):
                f.write(block)
        return Path(out)
