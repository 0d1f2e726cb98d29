"""Output emission: everything the worker writes to the server.

Owns the protocol writer (``Wire`` on ctl_out), the log routing of Python-level
writes (``sys.stdout``/``sys.stderr``) and of fd-level output (the fd 1/2 capture
pipes), and the encoding of a prediction's outputs into ``output`` / ``done``
messages. Logs are attributed to the prediction ``attribution()`` names (the sync
prediction on the main thread) unless an asyncio task set ``log_id_var``.
"""

import os
import select
import sys
import traceback
import types
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

from . import _scope
from ._io import FdCapture, LogRouter, RoutingWriter, Wire
from ._output import encode_chunk
from ._protocol import encode_done, encode_output, encode_value

DRAIN_TIMEOUT = 1.0
_PLAIN_OUTPUTS = frozenset((str, int, bool, type(None)))
_NO_FILES: List[Dict[str, Any]] = []


def error_text(exc: BaseException) -> str:
    """``ExcType: message`` (just the type name when the message is empty)."""
    message = str(exc)
    return "{}: {}".format(type(exc).__name__, message) if message else type(exc).__name__


class Emitter:
    """The worker's output side; built once fds 0/1/2 are moved (see _worker)."""

    def __init__(self, ctl_out: int, diag: TextIO, attribution: Callable[[], Optional[str]],
                 exit_now: Callable[[int], None] = os._exit) -> None:
        self.diag = diag
        self._exit_now = exit_now  # ends the process (and what it started)
        self.wire = Wire(ctl_out, lambda: exit_now(0))
        self.router = LogRouter(self.wire, attribution)
        self.captures = [
            FdCapture(1, "stdout", self.router, attribution),
            FdCapture(2, "stderr", self.router, attribution),
        ]
        self._capture_poll = select.poll()  # main thread only
        for capture in self.captures:
            self._capture_poll.register(capture.read_end, select.POLLIN)
        self.stdout = RoutingWriter(self.router, "stdout", 1)
        self.stderr = RoutingWriter(self.router, "stderr", 2)
        sys.stdout = self.stdout
        sys.stderr = self.stderr
        os.register_at_fork(after_in_child=self._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        self.wire.disable()
        self.stdout.forked_child = True
        self.stderr.forked_child = True

    # ---- messages and logs -------------------------------------------------------------------

    def send(self, message: Dict[str, Any]) -> None:
        self.wire.send(message)

    def log(self, pid: Optional[str], source: str, text: str) -> None:
        if text and not text.endswith("\n"):
            text += "\n"
        self.router.send(pid, source, text)

    def drain(self, pid: Optional[str]) -> None:
        """Send every pending log line of ``pid`` (Python buffers, then fd pipes)."""
        self.router.flush_id(pid)
        # One poll for both capture pipes: after most predictions there is nothing to drain.
        if not self._capture_poll.poll(0) and all(c.settled() for c in self.captures):
            return
        for capture in self.captures:
            capture.drain(DRAIN_TIMEOUT)

    def exit(self, code: int = 0) -> None:
        self.wire.flush(5.0)
        self._exit_now(code)
        os._exit(code)

    def scope(self, pid: str, message: Dict[str, Any]) -> _scope.Scope:
        """The prediction's scope: its context, and metrics sent as ``metric`` messages."""
        def send_metric(name: str, value: Any, mode: str) -> None:
            self.send({"type": "metric", "id": pid, "name": name, "value": value, "mode": mode})

        return _scope.Scope(message.get("context") or {}, send_metric)

    # ---- outputs and terminal messages -------------------------------------------------------

    @staticmethod
    def encode_item(item: Any, index: int, output_dir: str) -> Tuple[Any, List[Dict[str, Any]]]:
        """An output item as (JSON value, file references)."""
        if type(item) in _PLAIN_OUTPUTS:  # nothing to convert (str, int, bool, None)
            return item, _NO_FILES
        return encode_chunk(item, output_dir, prefix="output-{}-".format(index))

    def send_output(self, pid: str, index: int, item: Any, output_dir: str) -> None:
        value, files = self.encode_item(item, index, output_dir)
        self.wire.send_frame(encode_output(pid, index, value, files))

    def send_terminal(self, terminal: Dict[str, Any]) -> None:
        if terminal["type"] == "done":
            self.wire.send_frame(
                encode_done(terminal["id"], terminal["is_stream"], terminal.get("output")))
        else:
            self.send(terminal)

    def emit_result(self, pid: str, result: Any, output_dir: str) -> Dict[str, Any]:
        """Sends the outputs of a finished call; returns its ``done`` message."""
        if isinstance(result, types.GeneratorType):
            for index, item in enumerate(result):
                self.send_output(pid, index, item, output_dir)
            return {"type": "done", "id": pid, "is_stream": True}
        if isinstance(result, (list, tuple)):
            for index, item in enumerate(result):
                self.send_output(pid, index, item, output_dir)
            return {"type": "done", "id": pid, "is_stream": True}
        if result is None:
            return {"type": "done", "id": pid, "is_stream": False}
        # A single output without files travels inside the done message (one line to
        # write and to read instead of two). Encoded here, so a value that cannot be
        # encoded fails the prediction like any other output.
        value, files = self.encode_item(result, 0, output_dir)
        if files:
            self.wire.send_frame(encode_output(pid, 0, value, files))
            return {"type": "done", "id": pid, "is_stream": False}
        return {"type": "done", "id": pid, "is_stream": False,
                "output": (encode_value(value), value)}

    def failure(self, pid: str, err: BaseException) -> Dict[str, Any]:
        """Logs the traceback of a failed prediction; returns its ``failed`` message."""
        tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
        self.log(pid, "stderr", tb)
        return {"type": "failed", "id": pid, "error": error_text(err)}
