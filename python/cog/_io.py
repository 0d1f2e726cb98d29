"""Worker I/O: the protocol writer, log routing and fd-level output capture.

- ``Wire`` serialises messages and writes them to ctl_out in the caller's thread,
  under one lock (frames never interleave nor tear).
- ``LogRouter`` turns Python-level writes into ``log`` messages attributed to the
  current prediction (process-wide sync id, or a ContextVar per asyncio task).
- ``FdCapture`` points fd 1/2 at pipes drained for the worker's whole life; that
  output is attributed to the running sync prediction (``fd_target``), else null.
"""

import codecs
import contextvars
import io
import os
import select
import threading
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


_JOIN_LIMIT = 1 << 18  # held frames up to this total size are joined into one write


class Wire:
    """The protocol output channel (worker -> server).

    Each frame is written straight to ctl_out by the calling thread, under one lock
    (no thread hop: a message reaches the pipe before ``send`` returns, and a full
    pipe slows the sender down instead of growing a queue). Frames cannot tear:
    SIGUSR1 never raises inside this module (see ``_cancel.in_worker_io``), and a
    frame sent by a signal handler that interrupts a write in the same thread is
    deferred until that write is complete.
    """

    def __init__(self, fd: int, on_gone: Callable[[], None] = lambda: os._exit(0)) -> None:
        self._fd = fd
        self._on_gone = on_gone  # the server is gone (a write failed): must not return
        self._lock = threading.Lock()
        self._owner: Optional[int] = None
        self._deferred: List[bytes] = []
        self._disabled = False
        self._held: Optional[List[bytes]] = None
        self._held_owner: Optional[int] = None

    def send(self, message: Dict[str, Any]) -> None:
        """Write one message; raises ValueError if it is not valid JSON (NaN...)."""
        if self._disabled:
            return
        if "v" not in message:
            message = dict({"v": PROTOCOL_VERSION}, **message)
        self._write(encode(message))

    def send_frame(self, frame: bytes) -> None:
        """Write one already-encoded message line (see _protocol.encode_output)."""
        if not self._disabled:
            self._write(frame)

    def hold(self) -> None:
        """Collect the frames this thread sends until ``release`` (one write for all).

        Used around the end of a prediction (the single output, the drained logs and the
        terminal message) so the server gets them in one read. Other threads' frames are
        written at once as usual. Never hold across a wait (a stream, an await).
        """
        if self._held_owner == threading.get_ident():
            return
        self._held = []
        self._held_owner = threading.get_ident()

    def release(self) -> None:
        """Write what ``hold`` collected, in order, in as few writes as possible."""
        if self._held_owner != threading.get_ident():
            return
        frames = self._held or []
        self._held = None
        self._held_owner = None
        if not frames:
            return
        if len(frames) == 1:
            self._write(frames[0])
        elif sum(map(len, frames)) <= _JOIN_LIMIT:
            self._write(b"".join(frames))
        else:
            for frame in frames:  # large frames: no extra copy
                self._write(frame)

    def _write(self, data: bytes) -> None:
        held = self._held
        if held is not None and self._held_owner == threading.get_ident():
            held.append(data)
            return
        if self._owner == threading.get_ident():
            # re-entered from a signal handler in the middle of a write: keep the order
            self._deferred.append(data)
            return
        with self._lock:
            self._owner = threading.get_ident()
            try:
                if not self._disabled:
                    write_all(self._fd, data)
                while self._deferred:
                    frame = self._deferred.pop(0)
                    if not self._disabled:
                        write_all(self._fd, frame)
            except OSError:
                self._on_gone()  # the server is gone
                os._exit(0)
            finally:
                self._owner = None

    def flush(self, timeout: float = 5.0) -> None:
        """Write what a signal handler deferred (frames are otherwise written at once)."""
        if self._disabled:
            return
        if self._lock.acquire(timeout=timeout):
            try:
                while self._deferred:
                    write_all(self._fd, self._deferred.pop(0))
            except OSError:
                self._on_gone()
                os._exit(0)
            finally:
                self._lock.release()

    def disable(self) -> None:
        """Never write again (used in forked children)."""
        self._disabled = True


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
        if not self._buffers:
            return  # nothing buffered (this thread's own writes are always seen here)
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
    """Replaces fd 1 or 2 with a pipe and forwards what arrives as log messages.

    A reader thread waits for the (non-blocking) read end to become readable and
    reads under a lock; ``drain`` takes the same lock and reads whatever is left in
    the pipe itself, so it needs no round trip through the reader thread.
    """

    def __init__(
        self, fd: int, source: str, router: LogRouter, target: Callable[[], Optional[str]]
    ) -> None:
        self.fd = fd
        self._source = source
        self._router = router
        self._target = target
        self._lock = threading.Lock()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        os.set_blocking(read_end, False)
        self._read_end = read_end
        self._drain_poller = select.poll()  # poll objects must not be shared across threads
        self._drain_poller.register(read_end, select.POLLIN)
        thread = threading.Thread(target=self._run, name="cog-capture-" + source, daemon=True)
        thread.start()

    @property
    def read_end(self) -> int:
        return self._read_end

    def settled(self) -> bool:
        """Nothing pending here, and the capture thread is not mid-read.

        Together with an empty pipe (checked first, by the caller) this means ``drain``
        has nothing to forward: whatever the thread read is forwarded or pending.
        """
        return not self._pending and not self._lock.locked()

    def drain(self, timeout: float) -> None:
        """Forward (bounded wait) everything written to the fd so far, partial line included."""
        if not self._lock.acquire(timeout=timeout):
            return
        try:
            # Under the lock the capture thread is not mid-chunk, so an empty pipe (poll)
            # and nothing pending means there is nothing to forward (cheaper than EAGAIN).
            if not self._pending and not self._drain_poller.poll(0):
                return
            self._pump()
            if self._pending:
                self._emit(self._pending)
                self._pending = ""
        finally:
            self._lock.release()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._read_end, select.POLLIN)
        while True:
            try:
                poller.poll()
            except OSError:
                return
            with self._lock:
                if not self._pump():
                    return

    def _pump(self) -> bool:
        """Read and forward what the pipe holds now (lock held); False at EOF."""
        while True:
            try:
                chunk = os.read(self._read_end, 65536)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            pending = self._pending + self._decoder.decode(chunk)
            cut = pending.rfind("\n")
            if cut >= 0:
                self._emit(pending[: cut + 1])
                pending = pending[cut + 1 :]
            self._pending = pending

    def _emit(self, text: str) -> None:
        if text:
            self._router.send(self._target(), self._source, text)
