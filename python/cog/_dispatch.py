"""Dispatch: reading the control messages and routing each to its owner.

Owns the control pipe (``ControlPipe``: the reader thread during setup and long sync
predictions, the main thread or the event loop otherwise, see _control.py), the
worker's phase (``loading`` -> ``ready`` | ``setup_failed``) and the inbox, the queue
of messages for the main thread (predictions that arrived before a runner read the
pipe itself, and the shutdown sentinel).

Routing: ``predict`` -> the inbox (sync, or before the loop runs) or the async runner;
``cancel`` -> ``CancelSignals`` (sync) or the async runner; ``healthcheck`` ->
_healthcheck; ``reload`` -> the runner, on its own thread (between sync predictions,
or on the loop), refused unless setup() succeeded; ``shutdown`` -> exit now (setup
still running), else cancel what runs and let the runner exit.
"""

import queue
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Union

from ._control import ControlPipe
from ._emit import error_text
from ._healthcheck import start_healthcheck
from ._protocol import ProtocolError, decode_from_server

if TYPE_CHECKING:
    import threading

    from ._async_runner import AsyncRunner
    from ._cancel import CancelSignals
    from ._emit import Emitter
    from ._sync_runner import SyncRunner

LOADING = "loading"
READY = "ready"
SETUP_FAILED = "setup_failed"
SHUTDOWN = object()  # the inbox item that tells the main thread to exit


class Dispatcher:
    """Decodes control lines and routes them; the phase says where each kind goes."""

    def __init__(self, lock: "threading.RLock", signals: "CancelSignals", emitter: "Emitter",
                 on_eof: Callable[[], None]) -> None:
        self.lock = lock
        self._on_eof = on_eof
        self._signals = signals
        self._emitter = emitter
        self.phase = LOADING
        self.control: Optional[ControlPipe] = None
        self.inbox: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self.runner: "Optional[Union[SyncRunner, AsyncRunner]]" = None
        self.async_runner: "Optional[AsyncRunner]" = None  # the runner when it is async

    # ---- phase ---------------------------------------------------------------------------------

    def start_reader(self, ctl_in: int) -> None:
        """Lend the control pipe to the reader thread (setup keeps the main thread busy)."""
        self.control = ControlPipe(ctl_in, self.dispatch_lines, self._on_eof)
        self.control.lend()

    def mark_ready(self, runner: "Optional[Union[SyncRunner, AsyncRunner]]",
                   async_runner: "Optional[AsyncRunner]") -> None:
        """Setup succeeded; ``runner`` will serve the predictions (None: signature only)."""
        with self.lock:
            self.runner = runner
            self.async_runner = async_runner
            self.phase = READY

    def mark_setup_failed(self) -> None:
        with self.lock:
            self.phase = SETUP_FAILED

    # ---- reading -------------------------------------------------------------------------------

    def dispatch_lines(self, lines: List[bytes], in_loop: bool = False) -> None:
        for line in lines:
            if not line.strip():
                continue
            try:
                message = decode_from_server(line)
            except ProtocolError as err:
                self._emitter.log(None, "stderr", "protocol error: {}".format(err))
                continue
            try:
                if in_loop:
                    self._dispatch_in_loop(message)
                else:
                    self._dispatch(message)
            except Exception as err:  # noqa: BLE001 - the reader must survive
                self._emitter.log(None, "stderr", "worker error handling {}: {}".format(
                    message.get("type"), error_text(err)))

    def on_control_readable(self) -> None:
        """The event loop's reader callback (an async predictor reads the pipe itself)."""
        assert self.control is not None
        lines = self.control.read_available()
        if lines:
            self.dispatch_lines(lines, in_loop=True)

    def take_predict(self, line: bytes) -> Optional[Dict[str, Any]]:
        """A line the sync main thread read: a predict to run now, else dispatched (None)."""
        try:
            message = decode_from_server(line)
        except ProtocolError:
            message = None
        if message is not None and message["type"] == "predict" \
                and not self._signals.shutting_down:
            with self.lock:
                self._signals.finished.pop(message["id"], None)
            return message
        self.dispatch_lines([line])  # anything else, errors included, as usual
        return None

    # ---- routing -------------------------------------------------------------------------------

    def _dispatch(self, message: Dict[str, Any]) -> None:
        """Routing from a thread that is not the event loop (the reader, the main thread)."""
        kind = message["type"]
        if kind == "predict":
            with self.lock:
                self._signals.finished.pop(message["id"], None)
                if self.async_runner is not None:
                    self.async_runner.submit(message)
                else:
                    self.inbox.put(message)
        elif kind == "cancel":
            with self.lock:
                if self.async_runner is not None:
                    self.async_runner.submit_cancel(message["id"])
                    return
                self._signals.cancel_sync(message["id"])
        elif kind == "healthcheck":
            self._healthcheck(message["id"])
        elif kind == "shutdown":
            self._shutdown()
        elif kind == "reload":
            with self.lock:
                if self.runner is None:
                    self._refuse_reload(message["id"])
                elif self.async_runner is not None:
                    self.async_runner.submit_reload(message["id"])
                else:
                    self.inbox.put(message)  # the sync runner, between predictions

    def _dispatch_in_loop(self, message: Dict[str, Any]) -> None:
        """An async predictor's routing, on the event loop (which reads the pipe itself)."""
        runner = self.async_runner
        assert runner is not None
        kind = message["type"]
        if kind == "predict":
            runner.start(message)
        elif kind == "cancel":
            runner.cancel(message["id"])
        elif kind == "healthcheck":
            self._healthcheck(message["id"])
        elif kind == "shutdown":
            with self.lock:
                self._signals.shutting_down = True
            runner.shutdown()
        elif kind == "reload":
            runner.reload(message["id"])

    def _refuse_reload(self, rid: str) -> None:
        reason = {LOADING: "setup() has not finished", SETUP_FAILED: "setup() failed"}.get(
            self.phase, "the worker only describes the predictor")
        self._emitter.send({"type": "reload_refused", "id": rid, "reason": reason})

    def _healthcheck(self, hid: str) -> None:
        runner = self.runner if self.phase == READY else None
        hc = runner.predictor.healthcheck() if runner is not None else None
        loop = self.async_runner.loop if self.async_runner is not None else None
        start_healthcheck(hid, hc, self._emitter.send, loop)

    def _shutdown(self) -> None:
        with self.lock:
            self._signals.shutting_down = True
            if self.phase == LOADING:
                self._emitter.exit(0)  # setup still running: nothing to cancel
            if self.async_runner is not None:
                self.async_runner.submit_shutdown()
                return
            self._signals.cancel_running_sync()
            self.inbox.put(SHUTDOWN)  # the sync runner, or the idle loop after a failed setup
