"""Output files end to end: the worker resolves them and refuses what is not a regular file."""

import os
import sys
import time
import unittest

from ._harness import outputs
from .test_worker import WorkerTestCase

SOURCE = """
import os, socket
from cog import BasePredictor, Path

class Predictor(BasePredictor):
    def setup(self):
        os.mkfifo("out.fifo")
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind("out.sock")
        os.mkdir("outdir")
        with open("real.txt", "w") as handle:
            handle.write("hi")
        os.symlink("/dev/zero", "zero.png")
        os.symlink("real.txt", "link.txt")

    def predict(self, name: str) -> dict:
        return {"files": [Path(name)]}
"""


@unittest.skipUnless(sys.platform.startswith("linux"), "Linux /proc, /dev")
class OutputFilesTest(WorkerTestCase):
    def test_each_refused_kind_fails_the_prediction_naming_the_path_and_why(self):
        worker = self.spawn(SOURCE)
        self.assertEqual(worker.start_ready()["type"], "ready")
        cases = {
            "out.fifo": "it is a FIFO (named pipe), not a regular file",
            "out.sock": "it is a socket, not a regular file",
            "outdir": "it is a directory, not a regular file",
            "/dev/zero": "it is under /dev",
            "zero.png": "(resolves to '/dev/zero') at '/files/0' refused: it is under /dev",
            "/proc/self/environ": "(resolves to '/proc/{}/environ')".format(worker.proc.pid),
            "/sys/kernel": "it is under /sys",
            "missing.png": "it does not exist",
        }
        for index, (name, reason) in enumerate(cases.items()):
            with self.subTest(name=name):
                started = time.monotonic()
                terminal = worker.run("p{}".format(index), {"name": name})[-1]
                self.assertLess(time.monotonic() - started, 5, "a FIFO is never opened")
                self.assertEqual(terminal["type"], "failed", terminal)
                self.assertTrue(terminal["error"].startswith("OutputFileError: Output file "),
                                terminal["error"])
                self.assertIn(repr(os.path.join(worker.dir, name) if name[0] != "/" else name),
                              terminal["error"])
                self.assertIn(reason, terminal["error"])

    def test_a_symlinked_regular_file_is_reported_by_its_resolved_path(self):
        worker = self.spawn(SOURCE)
        worker.start_ready()
        messages = worker.run("ok", {"name": "link.txt"})
        real = os.path.realpath(os.path.join(worker.dir, "real.txt"))
        self.assertEqual(outputs(messages, "ok"), [{"files": [real]}])
        output = [m for m in messages if m["type"] == "output"][0]
        self.assertEqual(output["files"], [{"pointer": "/files/0", "path": real,
                                            "mime": "text/plain"}])
        self.assertEqual(messages[-1]["type"], "done")


if __name__ == "__main__":
    unittest.main()
