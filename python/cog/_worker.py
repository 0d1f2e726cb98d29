"""The cog worker process: ``python3 -u -X faulthandler -m cog._worker --ref ... --mode ...``.

Implements the worker side of docs/worker-protocol.md: moves the protocol off fds
0/1/2 before any user code runs, loads the predictor, runs setup(), then serves
predict / cancel / healthcheck / shutdown messages. Sync predictors run on the main
thread (cancel = SIGUSR1 raising CancelationException); async predictors run as
tasks on one asyncio loop on the main thread (cancel = task.cancel()).
"""

import argparse
import collections
import faulthandler
import inspect
import os
import queue
import select
import signal
import sys
import threading
import time
import traceback
import types
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from . import _scope
from . import server as _server
from ._inputs import prepare_inputs
from ._control import ControlPipe
from ._io import FdCapture, LogRouter, RoutingWriter, Wire, log_id_var
from ._output import encode_chunk
from ._protocol import (
    ProtocolError,
    decode_from_server,
    encode_done,
    encode_output,
    encode_value,
)
from ._signature import describe_signature
from ._version import __version__
from .exceptions import CancelationException
from .predictor import (
    extract_setup_weights,
    get_predictor,
    load_module_from_file,
    rewrite_field_info_defaults,
    select_method,
)

if TYPE_CHECKING:
    import asyncio  # imported lazily: only async predictors (or async setup) need it

# cog/__init__.py left bytecode writing on for the SDK's modules (see there): restore the
# interpreter's setting before any user code is imported.
sys.dont_write_bytecode = sys.modules["cog"]._dont_write_bytecode  # type: ignore[attr-defined]

HEALTHCHECK_TIMEOUT = 5.0
DRAIN_TIMEOUT = 1.0
CANCEL_RESIGNAL_INTERVAL = 0.2
MAX_PENDING_CANCELS = 1000
SYNC_CONCURRENCY_ERROR = "COG_MAX_CONCURRENCY > 1 requires an async run() or predict() method"
_SHUTDOWN = object()
_PLAIN_OUTPUTS = frozenset((str, int, bool, type(None)))
_NO_FILES: List[Dict[str, Any]] = []


def error_text(exc: BaseException) -> str:
    """``ExcType: message`` (just the type name when the message is empty)."""
    message = str(exc)
    return "{}: {}".format(type(exc).__name__, message) if message else type(exc).__name__


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_WORKER_IO_FILES = frozenset(
    os.path.join(_PACKAGE_DIR, name)
    for name in ("_io.py", "_control.py", "_protocol.py", "_output.py", "_scope.py", "_inputs.py")
)


def _in_worker_io(frame: Any) -> bool:
    """True when the interrupted code is (called from) the worker's I/O helpers."""
    while frame is not None:
        if frame.f_code.co_filename in _WORKER_IO_FILES:
            return True
        frame = frame.f_back
    return False


class SetupError(Exception):
    """Loading or setup failed; ``error`` is the text for setup_failed."""

    def __init__(self, error: str, tb: str) -> None:
        super().__init__(error)
        self.error = error
        self.tb = tb


class Predictor:
    """The loaded predictor: the callable plus what ``ready`` reports about it."""

    def __init__(self, ref: str, mode: str, instantiate: bool) -> None:
        path, _, name = ref.partition(":")
        module = load_module_from_file(path)
        target = get_predictor(module, name or None)
        self.instance: Any = None
        if inspect.isclass(target):
            self.kind = "class"
            self.method = select_method(target, mode)
            static = inspect.getattr_static(target, self.method)
            unbound = getattr(target, self.method)
            skip_self = not isinstance(static, (staticmethod, classmethod))
            self.signature = describe_signature(unbound, skip_first=skip_self)
            raw = getattr(unbound, "__func__", unbound)
            self.has_healthcheck = callable(getattr(target, "healthcheck", None))
            if instantiate:
                self.instance = target()
                self.fn: Callable[..., Any] = getattr(self.instance, self.method)
            else:
                self.fn = unbound
        else:
            if not callable(target):
                raise TypeError("{} is not a class or a function".format(ref))
            self.kind = "function"
            self.method = "function"
            self.signature = describe_signature(target)
            raw = target
            self.has_healthcheck = False
            self.fn = target
        self.raw = raw
        self.is_async = inspect.iscoroutinefunction(raw) or inspect.isasyncgenfunction(raw)
        self.is_generator = inspect.isgeneratorfunction(raw) or inspect.isasyncgenfunction(raw)
        self.info = {
            "ref": ref,
            "kind": self.kind,
            "method": self.method,
            "is_async": self.is_async,
            "is_generator": self.is_generator,
            "streaming": bool(getattr(raw, "__cog_streaming__", False)),
            "concurrent_max": getattr(raw, "__cog_concurrent_max__", None),
            "has_healthcheck": self.has_healthcheck,
        }
        rewrite_field_info_defaults(self.fn)

    def healthcheck(self) -> Optional[Callable[[], Any]]:
        if self.instance is None or not self.has_healthcheck:
            return None
        return getattr(self.instance, "healthcheck")


def healthcheck_result(hid: str, value: Any = None, error: Optional[str] = None) -> Dict[str, Any]:
    """The healthcheck_result message for a return value or an error text."""
    if error is None and value is False:
        error = "Healthcheck failed: user-defined healthcheck returned False"
    if error is not None:
        return {"type": "healthcheck_result", "id": hid, "status": "unhealthy", "error": error}
    return {"type": "healthcheck_result", "id": hid, "status": "healthy"}


TIMEOUT_ERROR = "Healthcheck failed: user-defined healthcheck timed out after {} seconds".format(
    HEALTHCHECK_TIMEOUT
)


class Worker:
    """One worker process: state shared by the main thread and the control reader."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.concurrency = args.concurrency
        self.lock = threading.RLock()
        self.main_ident = threading.get_ident()
        self.sync_id: Optional[str] = None
        self.fd_target: Optional[str] = None
        self.cancelable = False
        self.cancel_requested: set = set()
        self.pending_cancels: "collections.OrderedDict[str, bool]" = collections.OrderedDict()
        # Ids of predictions that ended and whose id has not been sent again since: a
        # cancel for one of them came too late and is dropped, not kept for a later
        # prediction that reuses the id (see _remember_cancel).
        self.finished: "collections.OrderedDict[str, bool]" = collections.OrderedDict()
        self.used_async_exc = False
        self.ready = False
        self.setup_failed = False
        self.shutting_down = False
        self.predictor: Optional[Predictor] = None
        self.queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self.loop: "Optional[asyncio.AbstractEventLoop]" = None
        self.tasks: Dict[str, "asyncio.Task[Any]"] = {}
        self.started_tasks: set = set()  # tasks whose body has begun (see _cancel_async)
        self.done_event: "Optional[asyncio.Event]" = None
        self.control: Optional[ControlPipe] = None
        self._setup_io()

    # ---- I/O ----------------------------------------------------------------------------

    def _setup_io(self) -> None:
        self.ctl_in = os.dup(0)
        self.ctl_out = os.dup(1)
        diag_fd = os.dup(2)
        self.diag = os.fdopen(diag_fd, "w", buffering=1)
        faulthandler.enable(file=self.diag)
        null_fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null_fd, 0)
        os.close(null_fd)
        self.wire = Wire(self.ctl_out)
        self.router = LogRouter(self.wire, lambda: self.sync_id)
        self.captures = [
            FdCapture(1, "stdout", self.router, lambda: self.fd_target),
            FdCapture(2, "stderr", self.router, lambda: self.fd_target),
        ]
        self._capture_poll = select.poll()  # main thread only
        for capture in self.captures:
            self._capture_poll.register(capture.read_end, select.POLLIN)
        self.stdout = RoutingWriter(self.router, "stdout", 1)
        self.stderr = RoutingWriter(self.router, "stderr", 2)
        sys.stdout = self.stdout
        sys.stderr = self.stderr
        os.register_at_fork(after_in_child=self._after_fork_in_child)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, self._on_sigusr1)
        _server.active = True

    def _after_fork_in_child(self) -> None:
        self.wire.disable()
        self.stdout.forked_child = True
        self.stderr.forked_child = True

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
        os._exit(code)

    # ---- control pipe ----------------------------------------------------------------------

    def start_reader(self) -> None:
        """Lend the control pipe to the reader thread (setup keeps the main thread busy)."""
        self.control = ControlPipe(self.ctl_in, self._dispatch_lines)
        self.control.lend()

    def _dispatch_lines(self, lines: List[bytes], in_loop: bool = False) -> None:
        for line in lines:
            if not line.strip():
                continue
            try:
                message = decode_from_server(line)
            except ProtocolError as err:
                self.log(None, "stderr", "protocol error: {}".format(err))
                continue
            try:
                if in_loop:
                    self._dispatch_in_loop(message)
                else:
                    self._dispatch(message)
            except Exception as err:  # noqa: BLE001 - the reader must survive
                self.log(None, "stderr", "worker error handling {}: {}".format(
                    message.get("type"), error_text(err)))

    def _dispatch(self, message: Dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "predict":
            with self.lock:
                self.finished.pop(message["id"], None)
                if self.loop is not None and self.ready and self.predictor.is_async:
                    self.loop.call_soon_threadsafe(self._start_async_prediction, message)
                else:
                    self.queue.put(message)
        elif kind == "cancel":
            self._cancel(message["id"])
        elif kind == "healthcheck":
            self._healthcheck(message["id"])
        elif kind == "shutdown":
            self._shutdown()

    def _dispatch_in_loop(self, message: Dict[str, Any]) -> None:
        """An async predictor's dispatch, on the event loop (which reads the pipe itself)."""
        kind = message["type"]
        if kind == "predict":
            self._start_async_prediction(message)
        elif kind == "cancel":
            self._cancel_async(message["id"])
        elif kind == "healthcheck":
            self._healthcheck(message["id"])
        elif kind == "shutdown":
            with self.lock:
                self.shutting_down = True
            self._shutdown_async()

    def _on_control_readable(self) -> None:
        assert self.control is not None
        lines = self.control.read_available()
        if lines:
            self._dispatch_lines(lines, in_loop=True)

    def _remember_cancel(self, pid: str) -> None:
        """A cancel for a prediction that is not running: kept for its predict, if it comes.

        The pipe is in order, so the cancel of a prediction that already ended (read
        late: a short sync prediction is not watched for cancels) comes after its
        predict; it is dropped. A predict that reuses an id forgets it first.
        """
        if pid in self.finished:
            return
        self.pending_cancels[pid] = True
        while len(self.pending_cancels) > MAX_PENDING_CANCELS:
            self.pending_cancels.popitem(last=False)

    def _mark_finished(self, pid: str) -> None:
        self.finished[pid] = True
        while len(self.finished) > MAX_PENDING_CANCELS:
            self.finished.popitem(last=False)

    def _cancel(self, pid: str) -> None:
        with self.lock:
            if self.predictor is not None and self.predictor.is_async and self.loop is not None \
                    and self.ready:
                self.loop.call_soon_threadsafe(self._cancel_async, pid)
                return
            if pid == self.sync_id:
                self.cancel_requested.add(pid)
                if self.cancelable:
                    self._interrupt_main()
            else:
                self._remember_cancel(pid)

    def _interrupt_main(self) -> None:
        if signal.getsignal(signal.SIGUSR1) == self._on_sigusr1:
            pid = self.sync_id
            threading.Thread(target=self._keep_signaling, args=(pid,), daemon=True).start()
            return
        import ctypes  # the user replaced our handler: fall back to an async exception

        self.used_async_exc = True
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(self.main_ident), ctypes.py_object(CancelationException)
        )

    def _keep_signaling(self, pid: Optional[str]) -> None:
        # One SIGUSR1 can be lost or deferred (see _on_sigusr1), so repeat it until the
        # canceled prediction has ended; the handler only raises while cancelable.
        while True:
            with self.lock:
                if self.sync_id != pid or pid not in self.cancel_requested:
                    return
                if self.cancelable:
                    signal.pthread_kill(self.main_ident, signal.SIGUSR1)
            time.sleep(CANCEL_RESIGNAL_INTERVAL)

    def _on_sigusr1(self, signum: int, frame: Any) -> None:
        if not self.cancelable:
            return
        if _in_worker_io(frame):
            # Raising inside the worker's own I/O code could leave a lock held or a buffer
            # half-updated; _keep_signaling tries again once we are back in user code.
            return
        self.cancelable = False
        raise CancelationException()

    def _shutdown(self) -> None:
        with self.lock:
            self.shutting_down = True
            if not self.ready and not self.setup_failed:
                self.exit(0)  # setup still running: nothing to cancel
            if self.setup_failed:
                self.queue.put(_SHUTDOWN)  # _idle_after_setup_failure (no loop runs)
                return
            if self.predictor is not None and self.predictor.is_async and self.loop is not None:
                self.loop.call_soon_threadsafe(self._shutdown_async)
                return
            if self.sync_id is not None:
                self.cancel_requested.add(self.sync_id)
                if self.cancelable:
                    self._interrupt_main()
            self.queue.put(_SHUTDOWN)

    # ---- healthcheck -----------------------------------------------------------------------

    def _healthcheck(self, hid: str) -> None:
        hc = self.predictor.healthcheck() if self.predictor is not None and self.ready else None
        if hc is None:
            self.send(healthcheck_result(hid))
            return
        is_async = inspect.iscoroutinefunction(getattr(hc, "__func__", hc))
        if is_async and self.loop is not None and self.predictor.is_async:
            self.loop.call_soon_threadsafe(
                lambda: self.loop.create_task(self._async_healthcheck(hid, hc))
            )
            return
        threading.Thread(
            target=self._sync_healthcheck, args=(hid, hc, is_async), daemon=True
        ).start()

    def _sync_healthcheck(self, hid: str, hc: Callable[[], Any], is_async: bool) -> None:
        outcome: List[Any] = []

        def call() -> None:
            try:
                if is_async:
                    import asyncio

                    value = asyncio.run(hc())
                else:
                    value = hc()
                outcome.append(healthcheck_result(hid, value))
            except BaseException as err:  # noqa: BLE001
                outcome.append(healthcheck_result(
                    hid, error="Healthcheck failed: {}".format(error_text(err))))

        runner = threading.Thread(target=call, name="cog-healthcheck", daemon=True)
        runner.start()
        runner.join(HEALTHCHECK_TIMEOUT)
        if outcome:
            self.send(outcome[0])
        else:
            self.send(healthcheck_result(hid, error=TIMEOUT_ERROR))

    async def _async_healthcheck(self, hid: str, hc: Callable[[], Any]) -> None:
        import asyncio

        try:
            value = await asyncio.wait_for(hc(), HEALTHCHECK_TIMEOUT)
            self.send(healthcheck_result(hid, value))
        except asyncio.TimeoutError:
            self.send(healthcheck_result(hid, error=TIMEOUT_ERROR))
        except BaseException as err:  # noqa: BLE001
            self.send(healthcheck_result(hid, error="Healthcheck failed: {}".format(
                error_text(err))))

    # ---- startup ---------------------------------------------------------------------------

    def start(self) -> None:
        self.send({
            "type": "hello",
            "protocol": 1,
            "python": sys.version.split()[0],  # = platform.python_version(), minus a 2 ms import
            "sdk": __version__,
            "pid": os.getpid(),
        })
        self.start_reader()
        try:
            self._load_and_setup()
        except SetupError as err:
            self.drain(None)
            self.log(None, "stderr", err.tb)
            with self.lock:
                self.setup_failed = True
            self.send({"type": "setup_failed", "error": err.error, "traceback": err.tb})
            if self.args.signature_only:
                self.exit(0)
            self._idle_after_setup_failure()
            return
        self.drain(None)
        with self.lock:
            # ready first: the server may send a request the moment it reads the message
            self.ready = True
            self.send({"type": "ready", "predictor": self.predictor.info,
                       "signature": self.predictor.signature})
        if self.args.signature_only:
            self.exit(0)
        if self.predictor.is_async:
            self._run_async()
        else:
            self._run_sync()

    def _load_and_setup(self) -> None:
        try:
            predictor = Predictor(self.args.ref, self.args.mode,
                                  instantiate=not self.args.signature_only)
        except BaseException as err:  # noqa: BLE001 - includes SystemExit during import
            raise SetupError(error_text(err), traceback.format_exc()) from None
        self.predictor = predictor
        if self.args.signature_only:
            return
        if self.concurrency < 1:
            self.concurrency = predictor.info.get("concurrent_max") or 1
        if self.concurrency > 1 and not predictor.is_async:
            raise SetupError(SYNC_CONCURRENCY_ERROR, SYNC_CONCURRENCY_ERROR + "\n")
        setup = getattr(predictor.instance, "setup", None) if predictor.instance else None
        if predictor.is_async or (setup is not None and inspect.iscoroutinefunction(setup)):
            import asyncio  # only for async predictors (~20 ms to import)

            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
        if setup is None:
            return
        try:
            kwargs = {}
            try:
                if "weights" in inspect.signature(setup).parameters:
                    kwargs["weights"] = extract_setup_weights()
            except (TypeError, ValueError):
                pass
            result = setup(**kwargs)
            if inspect.isawaitable(result):
                self.loop.run_until_complete(result)
        except BaseException as err:  # noqa: BLE001
            raise SetupError(error_text(err), traceback.format_exc()) from None

    def _idle_after_setup_failure(self) -> None:
        while True:
            item = self.queue.get()
            if item is _SHUTDOWN:
                self.exit(0)
            if isinstance(item, dict) and item.get("type") == "predict":
                self.send({"type": "failed", "id": item["id"],
                           "error": "setup failed; the predictor cannot run"})

    # ---- outputs ---------------------------------------------------------------------------

    @staticmethod
    def _encode_item(item: Any, index: int, output_dir: str) -> Tuple[Any, List[Dict[str, Any]]]:
        """An output item as (JSON value, file references)."""
        if type(item) in _PLAIN_OUTPUTS:  # nothing to convert (str, int, bool, None)
            return item, _NO_FILES
        return encode_chunk(item, output_dir, prefix="output-{}-".format(index))

    def _send_output(self, pid: str, index: int, item: Any, output_dir: str) -> None:
        value, files = self._encode_item(item, index, output_dir)
        self.wire.send_frame(encode_output(pid, index, value, files))

    def _send_terminal(self, terminal: Dict[str, Any]) -> None:
        if terminal["type"] == "done":
            self.wire.send_frame(
                encode_done(terminal["id"], terminal["is_stream"], terminal.get("output")))
        else:
            self.send(terminal)

    def _emit_result(self, pid: str, result: Any, output_dir: str) -> Dict[str, Any]:
        """Sends the outputs of a finished call; returns its ``done`` message."""
        if isinstance(result, types.GeneratorType):
            for index, item in enumerate(result):
                self._send_output(pid, index, item, output_dir)
            return {"type": "done", "id": pid, "is_stream": True}
        if isinstance(result, (list, tuple)):
            for index, item in enumerate(result):
                self._send_output(pid, index, item, output_dir)
            return {"type": "done", "id": pid, "is_stream": True}
        if result is None:
            return {"type": "done", "id": pid, "is_stream": False}
        # A single output without files travels inside the done message (one line to
        # write and to read instead of two). Encoded here, so a value that cannot be
        # encoded fails the prediction like any other output.
        value, files = self._encode_item(result, 0, output_dir)
        if files:
            self.wire.send_frame(encode_output(pid, 0, value, files))
            return {"type": "done", "id": pid, "is_stream": False}
        return {"type": "done", "id": pid, "is_stream": False,
                "output": (encode_value(value), value)}

    def _scope(self, pid: str, message: Dict[str, Any]) -> _scope.Scope:
        def send_metric(name: str, value: Any, mode: str) -> None:
            self.send({"type": "metric", "id": pid, "name": name, "value": value, "mode": mode})

        return _scope.Scope(message.get("context") or {}, send_metric)

    def _failure(self, pid: str, err: BaseException) -> Dict[str, Any]:
        tb = "".join(traceback.format_exception(type(err), err, err.__traceback__))
        self.log(pid, "stderr", tb)
        return {"type": "failed", "id": pid, "error": error_text(err)}

    # ---- sync predictions ------------------------------------------------------------------

    def _run_sync(self) -> None:
        # The main thread reads the control pipe itself while idle; the reader thread
        # takes it over only while a prediction runs long (see _control.py).
        control = self.control
        assert control is not None
        control.idle()
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                lines = control.read_next()  # polls first while requests come back to back
                if len(lines) == 1:
                    # The common case, one predict line, runs without the queue.
                    item = self._single_predict(lines[0])
                    if item is None:
                        continue
                else:
                    self._dispatch_lines(lines)
                    continue
            if item is _SHUTDOWN:
                self.exit(0)
            control.busy()
            self._run_sync_prediction(item)
            control.idle()

    def _single_predict(self, line: bytes) -> Optional[Dict[str, Any]]:
        """A line the main thread read: a predict to run now, else dispatched (None)."""
        try:
            message = decode_from_server(line)
        except ProtocolError:
            message = None
        if message is not None and message["type"] == "predict" and not self.shutting_down:
            with self.lock:
                self.finished.pop(message["id"], None)
            return message
        self._dispatch_lines([line])  # anything else, errors included, as usual
        return None

    def _run_sync_prediction(self, message: Dict[str, Any]) -> None:
        pid = message["id"]
        with self.lock:
            if self.pending_cancels.pop(pid, False) or self.shutting_down:
                self._mark_finished(pid)
                self.send({"type": "canceled", "id": pid})
                return
            self.sync_id = pid
            self.fd_target = pid
        _scope.set_sync_scope(self._scope(pid, message))
        # No `started` message: the server marks the prediction as processing
        # when it sends it, and an extra write per prediction is measurable.
        terminal: Dict[str, Any]
        prepared = None
        try:
            try:
                prepared = prepare_inputs(message["input"], self.predictor.signature["inputs"])
                with self.lock:
                    self.cancelable = True
                    if pid in self.cancel_requested:
                        self.cancelable = False
                        raise CancelationException()
                result = self.predictor.fn(**prepared.kwargs)
                if not isinstance(result, types.GeneratorType):
                    # the whole result is known: output(s) + logs + done in one write
                    self.wire.hold()
                terminal = self._emit_result(pid, result, message["output_dir"])
            finally:
                self.cancelable = False
                self._clear_async_exc()
        except CancelationException:
            terminal = {"type": "canceled", "id": pid}
        except BaseException as err:  # noqa: BLE001 - SystemExit etc. fail only this prediction
            self.cancelable = False
            if pid in self.cancel_requested:
                terminal = {"type": "canceled", "id": pid}
            else:
                terminal = self._failure(pid, err)
        self._finish_sync(pid, prepared, terminal)

    def _finish_sync(self, pid: str, prepared: Any, terminal: Dict[str, Any]) -> None:
        self.cancelable = False
        self.wire.hold()
        try:
            if prepared is not None:
                prepared.cleanup()
            self.drain(pid)
            with self.lock:
                self.sync_id = None
                self.fd_target = None
                self.cancel_requested.discard(pid)
                self._mark_finished(pid)
            _scope.set_sync_scope(None)
            self._send_terminal(terminal)
        finally:
            self.wire.release()

    def _clear_async_exc(self) -> None:
        if self.used_async_exc:
            import ctypes

            self.used_async_exc = False
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.main_ident), None)

    # ---- async predictions -----------------------------------------------------------------

    def _run_async(self) -> None:
        import asyncio

        assert self.loop is not None and self.control is not None
        self.done_event = asyncio.Event()
        # From here on the loop reads the control pipe itself (no reader thread hop).
        self.control.idle()
        self.loop.add_reader(self.control.fd, self._on_control_readable)
        for item in self._drain_queue():
            if item is _SHUTDOWN:
                self._shutdown_async()
            else:
                self._start_async_prediction(item)
        self.loop.run_until_complete(self._async_main())
        self.exit(0)

    def _drain_queue(self) -> List[Any]:
        items = []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                return items

    async def _async_main(self) -> None:
        import asyncio

        assert self.done_event is not None
        await self.done_event.wait()
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)

    def _start_async_prediction(self, message: Dict[str, Any]) -> None:
        pid = message["id"]
        self.finished.pop(pid, None)
        if self.pending_cancels.pop(pid, False) or self.shutting_down:
            self._mark_finished(pid)
            self.send({"type": "canceled", "id": pid})
            return
        if pid in self.tasks:
            self.log(None, "stderr", "protocol error: prediction {} is already running".format(pid))
            return
        if len(self.tasks) >= self.concurrency:
            self._mark_finished(pid)
            self.send({"type": "failed", "id": pid, "error":
                       "worker is at its concurrency limit ({})".format(self.concurrency)})
            return
        task = self.loop.create_task(self._run_async_prediction(pid, message))
        if not task.done():  # an eager task factory (a user's setup can install one) may finish it
            self.tasks[pid] = task

    def _cancel_async(self, pid: str) -> None:
        task = self.tasks.get(pid)
        if task is None:
            self._remember_cancel(pid)
            return
        if pid not in self.started_tasks:
            # Canceled before its first step: the body (which sends the terminal message)
            # will never run, so the message is sent here.
            self.tasks.pop(pid, None)
            task.cancel()
            self._mark_finished(pid)
            self.send({"type": "canceled", "id": pid})
            return
        self.cancel_requested.add(pid)
        task.cancel()

    def _shutdown_async(self) -> None:
        self.shutting_down = True
        for pid in list(self.tasks):
            self._cancel_async(pid)
        if self.done_event is not None:
            self.done_event.set()

    async def _run_async_prediction(self, pid: str, message: Dict[str, Any]) -> None:
        self.started_tasks.add(pid)
        log_id_var.set(pid)
        _scope.set_async_scope(self._scope(pid, message))
        output_dir = message["output_dir"]
        prepared = None
        try:
            prepared = prepare_inputs(message["input"], self.predictor.signature["inputs"])
            result = self.predictor.fn(**prepared.kwargs)
            if type(result) is types.CoroutineType or inspect.isawaitable(result):
                result = await result
            if not isinstance(result, (types.AsyncGeneratorType, types.GeneratorType)):
                # no await from here to the terminal message: one write for all of it
                self.wire.hold()
            if isinstance(result, types.AsyncGeneratorType):
                index = 0
                async for item in result:
                    self._send_output(pid, index, item, output_dir)
                    index += 1
                terminal = {"type": "done", "id": pid, "is_stream": True}
            else:
                terminal = self._emit_result(pid, result, output_dir)
        except BaseException as err:  # noqa: BLE001
            if pid in self.cancel_requested or isinstance(err, CancelationException):
                terminal = {"type": "canceled", "id": pid}
            else:
                terminal = self._failure(pid, err)
        finally:
            if prepared is not None:
                prepared.cleanup()
        self.wire.hold()
        try:
            self.router.flush_id(pid)
            self.cancel_requested.discard(pid)
            self.started_tasks.discard(pid)
            self.tasks.pop(pid, None)
            self._mark_finished(pid)
            self._send_terminal(terminal)
        finally:
            self.wire.release()


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cog._worker")
    parser.add_argument("--ref", required=True, help="predictor reference, e.g. predict.py:Predictor")
    parser.add_argument("--mode", choices=("predict", "train"), default="predict")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--signature-only", action="store_true")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        args.concurrency = 0  # auto: the @concurrent(max=N) value, else 1
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    worker = Worker(args)
    try:
        worker.start()
    except BaseException as err:  # noqa: BLE001 - last resort: tell the server why we exit
        try:
            worker.send({"type": "fatal", "reason": error_text(err)})
            traceback.print_exc(file=worker.diag)
        finally:
            worker.exit(1)


if __name__ == "__main__":
    main()
