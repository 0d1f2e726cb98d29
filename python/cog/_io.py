"""Worker I/O: the protocol writer, log routing and fd-level output capture.

- ``Wire`` serialises messages in the caller's thread and hands the bytes to one
  writer thread, which writes them to ctl_out under a lock (so a cancelation
  exception raised in the main thread can never tear a frame).
- ``LogRouter`` turns Python-level writes into ``log`` messages attributed to the
  current prediction (process-wide sync id, or a ContextVar per asyncio task).
- ``FdCapture`` points fd 1/2 at pipes drained for the worker's whole life; that
  output is attributed to the running sync prediction (``fd_target``), else null.
"""

import codecs
import contextvars
import io
import os
import queue
import threading
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._protocol import PROTOCOL_VERSION, encode

log_id_var: "contextvars.ContextVar[Optional[str]]" = contextvars.ContextVar(
    "cog_prediction_id", default=None
)


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Wire:
    """The protocol output channel (worker -> server)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._disabled = False
        self._thread = threading.Thread(target=self._run, name="cog-wire", daemon=True)
        self._thread.start()

    def send(self, message: Dict[str, Any]) -> None:
        """Queue one message; raises ValueError if it is not valid JSON (NaN...)."""
        if self._disabled:
            return
        if "v" not in message:
            message = dict({"v": PROTOCOL_VERSION}, **message)
        self._queue.put(encode(message))

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything queued so far has been written."""
        if self._disabled:
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def disable(self) -> None:
        """Never write again (used in forked children)."""
        self._disabled = True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            if self._disabled:
                continue
            with self._lock:
                try:
                    write_all(self._fd, item)
                except OSError:
                    os._exit(0)  # the server is gone


class LogRouter:
    """Buffers Python-level writes per (source, prediction id) and emits complete lines."""

    def __init__(self, wire: Wire, sync_id: Callable[[], Optional[str]]) -> None:
        self._wire = wire
        self._sync_id = sync_id
        self._lock = threading.Lock()
        self._buffers: Dict[Tuple[str, Optional[str]], str] = {}

    def current_id(self) -> Optional[str]:
        """The prediction the calling code belongs to (ContextVar first, then the sync id)."""
        return log_id_var.get() or self._sync_id()

    def send(self, pid: Optional[str], source: str, data: str) -> None:
        """Send one log message now."""
        if data:
            self._wire.send({"type": "log", "id": pid, "source": source, "data": data})

    def write(self, source: str, text: str) -> None:
        pid = self.current_id()
        key = (source, pid)
        with self._lock:
            buffered = self._buffers.pop(key, "") + text
            cut = max(buffered.rfind("\n"), buffered.rfind("\r"))
            if cut >= 0:
                self.send(pid, source, buffered[: cut + 1])
                buffered = buffered[cut + 1 :]
            if buffered:
                self._buffers[key] = buffered

    def flush_id(self, pid: Optional[str]) -> None:
        """Emit the trailing partial lines buffered for ``pid``."""
        with self._lock:
            for source in ("stdout", "stderr"):
                self.send(pid, source, self._buffers.pop((source, pid), ""))


class RoutingWriter(io.TextIOBase):
    """Installed as sys.stdout / sys.stderr: routes text into LogRouter."""

    def __init__(self, router: LogRouter, source: str, fd: int) -> None:
        super().__init__()
        self._router = router
        self._source = source
        self._fd = fd
        self._buffer = io.FileIO(fd, "wb", closefd=False)
        self.forked_child = False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "replace"

    @property
    def buffer(self) -> io.FileIO:  # type: ignore[override]
        return self._buffer

    @property
    def line_buffering(self) -> bool:
        return True

    def write(self, text: str) -> int:  # type: ignore[override]
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not {}".format(type(text).__name__))
        if self.forked_child:
            write_all(self._fd, text.encode("utf-8", errors="replace"))
        else:
            self._router.write(self._source, text)
        return len(text)

    def writelines(self, lines: Any) -> None:  # type: ignore[override]
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        return None

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        return None  # closing sys.stdout must not break the worker


class FdCapture:
    """Replaces fd 1 or 2 with a pipe and forwards what arrives as log messages."""

    def __init__(
        self, fd: int, source: str, router: LogRouter, target: Callable[[], Optional[str]]
    ) -> None:
        self.fd = fd
        self._source = source
        self._router = router
        self._target = target
        self._tokens: Dict[str, threading.Event] = {}
        self._tokens_lock = threading.Lock()
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self._read_end = read_end
        thread = threading.Thread(target=self._run, name="cog-capture-" + source, daemon=True)
        thread.start()

    def drain(self, timeout: float) -> None:
        """Wait (bounded) until everything written to the fd so far has been forwarded."""
        token = "__cog_drain_{}__\n".format(uuid.uuid4().hex)
        event = threading.Event()
        with self._tokens_lock:
            self._tokens[token] = event
        try:
            write_all(self.fd, token.encode("ascii"))
            event.wait(timeout)
        except OSError:
            pass
        finally:
            with self._tokens_lock:
                self._tokens.pop(token, None)

    def _run(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                chunk = os.read(self._read_end, 65536)
            except OSError:
                return
            if not chunk:
                return
            pending += decoder.decode(chunk)
            pending = self._consume(pending)

    def _consume(self, pending: str) -> str:
        while True:
            found = self._find_token(pending)
            if found is None:
                break
            start, token = found
            self._emit(pending[:start], final=True)
            pending = pending[start + len(token) :]
            with self._tokens_lock:
                event = self._tokens.get(token)
            if event is not None:
                event.set()
        cut = pending.rfind("\n")
        if cut >= 0:
            self._emit(pending[: cut + 1], final=False)
            pending = pending[cut + 1 :]
        return pending

    def _find_token(self, text: str) -> Optional[Tuple[int, str]]:
        start = text.find("__cog_drain_")
        if start < 0:
            return None
        end = text.find("__\n", start + len("__cog_drain_"))
        if end < 0:
            return None
        return start, text[start : end + 3]

    def _emit(self, text: str, final: bool) -> None:
        if text:
            self._router.send(self._target(), self._source, text)


