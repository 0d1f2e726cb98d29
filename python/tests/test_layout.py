"""The worker's layout: modules kept small, and nothing slow imported at start."""

import os
import subprocess
import sys
import unittest

from ._harness import PYTHON_DIR

COG_DIR = os.path.join(PYTHON_DIR, "cog")
MAX_LINES = 500


class LayoutTest(unittest.TestCase):
    def test_no_module_of_the_sdk_is_over_500_lines(self):
        sizes = {}
        for name in sorted(os.listdir(COG_DIR)):
            if name.endswith(".py"):
                with open(os.path.join(COG_DIR, name), encoding="utf-8") as handle:
                    sizes[name] = sum(1 for _ in handle)
        self.assertIn("_worker.py", sizes)
        self.assertEqual({name: n for name, n in sizes.items() if n > MAX_LINES}, {})

    def test_importing_the_worker_loads_neither_asyncio_nor_urllib_request(self):
        # Both cost tens of milliseconds at every worker start; only async predictors
        # (asyncio) and URL inputs (urllib.request) need them, and import them lazily.
        code = ("import sys, cog._worker; "
                "print(sorted(m for m in ('asyncio', 'urllib.request') if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code],
                             env=dict(os.environ, PYTHONPATH=PYTHON_DIR),
                             stdout=subprocess.PIPE, check=True, timeout=60).stdout
        self.assertEqual(out.strip(), b"[]")


if __name__ == "__main__":
    unittest.main()
