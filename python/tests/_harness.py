"""Test helper: spawn ``python -m cog._worker`` on a predictor file and speak the protocol."""

import json
import os
import queue
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from cog._protocol import decode_from_worker, encode

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(PYTHON_DIR)
TERMINAL = ("done", "failed", "canceled")


class WorkerProcess:
    """A running worker; every line it writes is validated with the protocol decoder."""

    def __init__(
        self,
        source: Optional[str] = None,
        ref: str = "predict.py:Predictor",
        concurrency: int = 1,
        mode: str = "predict",
        env: Optional[Dict[str, str]] = None,
        project_dir: Optional[str] = None,
        extra_args: Optional[List[str]] = None,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = project_dir or self._tmp.name
        if source is not None:
            with open(os.path.join(self.dir, ref.split(":")[0]), "w") as handle:
                handle.write(textwrap.dedent(source))
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = PYTHON_DIR
        # The model's own temp files go to a directory removed with this worker.
        self.tmp = os.path.join(self._tmp.name, ".tmp")
        os.makedirs(self.tmp)
        full_env["TMPDIR"] = self.tmp
        full_env.update(env or {})
        args = [sys.executable, "-u", "-X", "faulthandler", "-m", "cog._worker", "--ref", ref,
                "--mode", mode, "--concurrency", str(concurrency)] + (extra_args or [])
        self.proc = subprocess.Popen(
            args, cwd=self.dir, env=full_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.messages: "queue.Queue[Any]" = queue.Queue()
        self.invalid: List[str] = []
        self.seen: List[Dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr_lines: List[bytes] = []
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            try:
                self.messages.put(decode_from_worker(line))
            except Exception as err:  # noqa: BLE001
                self.invalid.append("{}: {!r}".format(err, line))
        self.messages.put(None)

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.stderr_lines.append(line)

    def send(self, message: Dict[str, Any]) -> None:
        message = dict({"v": 1}, **message)
        self.proc.stdin.write(encode(message))  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def send_raw(self, data: bytes) -> None:
        self.proc.stdin.write(data)  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def recv(self, timeout: float = 15.0) -> Dict[str, Any]:
        message = self.messages.get(timeout=timeout)
        if message is None:
            raise EOFError("worker closed its output")
        self.seen.append(message)
        return message

    def until(self, predicate: Callable[[Dict[str, Any]], bool], timeout: float = 15.0
              ) -> List[Dict[str, Any]]:
        """Messages up to and including the first one matching ``predicate``."""
        deadline = time.monotonic() + timeout
        collected = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching message; got {}".format(collected))
            message = self.recv(remaining)
            collected.append(message)
            if predicate(message):
                return collected

    def until_type(self, kind: str, timeout: float = 15.0) -> List[Dict[str, Any]]:
        return self.until(lambda m: m["type"] == kind, timeout)

    def start_ready(self) -> Dict[str, Any]:
        messages = self.until(lambda m: m["type"] in ("ready", "setup_failed"))
        assert messages[0]["type"] == "hello", messages
        return messages[-1]

    def predict(self, pid: str, inputs: Optional[Dict[str, Any]] = None,
                context: Optional[Dict[str, str]] = None) -> None:
        out = os.path.join(self.dir, "out", pid)
        os.makedirs(out, exist_ok=True)
        self.send({"type": "predict", "id": pid, "input": inputs or {},
                   "context": context or {}, "output_dir": out})

    def run(self, pid: str, inputs: Optional[Dict[str, Any]] = None, timeout: float = 15.0,
            context: Optional[Dict[str, str]] = None) -> List[Dict[str, Any]]:
        self.predict(pid, inputs, context)
        return self.until(lambda m: m["type"] in TERMINAL and m.get("id") == pid, timeout)

    def wait(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        self._tmp.cleanup()


def logs_for(messages: List[Dict[str, Any]], pid: Optional[str], source: Optional[str] = None
             ) -> str:
    return "".join(m["data"] for m in messages if m["type"] == "log" and m["id"] == pid
                   and (source is None or m["source"] == source))


def outputs(messages: List[Dict[str, Any]], pid: str) -> List[Any]:
    """The output values of ``pid``: output messages, and the one a done may carry."""
    values = []
    for m in messages:
        if m.get("id") != pid:
            continue
        if m["type"] == "output":
            values.append(m["value"])
        elif m["type"] == "done" and "output" in m:
            values.append(m["output"]["value"])
    return values


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=1)
