"""The async runner: an async predictor's predictions, as tasks on one event loop.

The loop runs on the main thread and reads the control pipe itself
(``loop.add_reader``, no thread hop). Up to ``concurrency`` predictions run at once;
cancel is ``task.cancel()``. Owns the loop, the running tasks, and the predictor it
calls (``reload`` may swap it; running tasks keep the function they started with).
"""

import inspect
import types
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from . import _scope
from ._dispatch import SHUTDOWN
from ._inputs import prepare_inputs
from ._io import log_id_var
from .exceptions import CancelationException

if TYPE_CHECKING:
    import asyncio  # imported lazily: only async predictors (or async setup) need it

    from ._cancel import CancelSignals
    from ._dispatch import Dispatcher
    from ._emit import Emitter
    from ._loader import Predictor
    from ._reload import Reloader


class AsyncRunner:
    """Runs ``predict`` messages as asyncio tasks (``serve`` never returns)."""

    def __init__(self, loop: "asyncio.AbstractEventLoop", predictor: "Predictor",
                 concurrency: int, signals: "CancelSignals", emitter: "Emitter") -> None:
        self.loop = loop
        self.predictor = predictor
        self.concurrency = concurrency
        self._signals = signals
        self._emitter = emitter
        self.reloader: "Optional[Reloader]" = None  # set before serve()
        self.tasks: Dict[str, "asyncio.Task[Any]"] = {}
        self._started: set = set()  # tasks whose body has begun (see cancel)
        self._done_event: "Optional[asyncio.Event]" = None

    # ---- from other threads --------------------------------------------------------------------

    def submit(self, message: Dict[str, Any]) -> None:
        """Start a prediction from another thread (the reader, before the loop reads)."""
        self.loop.call_soon_threadsafe(self.start, message)

    def submit_cancel(self, pid: str) -> None:
        self.loop.call_soon_threadsafe(self.cancel, pid)

    def submit_shutdown(self) -> None:
        self.loop.call_soon_threadsafe(self.shutdown)

    def submit_reload(self, rid: str) -> None:
        self.loop.call_soon_threadsafe(self.reload, rid)

    # ---- on the loop ---------------------------------------------------------------------------

    def serve(self, dispatcher: "Dispatcher") -> None:
        import asyncio

        control = dispatcher.control
        assert control is not None
        self._done_event = asyncio.Event()
        # From here on the loop reads the control pipe itself (no reader thread hop).
        control.idle()
        self.loop.add_reader(control.fd, dispatcher.on_control_readable)
        for item in _drain(dispatcher.inbox):
            if item is SHUTDOWN:
                self.shutdown()
            elif item["type"] == "reload":
                self.reload(item["id"])
            else:
                self.start(item)
        self.loop.run_until_complete(self._main())
        self._emitter.exit(0)

    async def _main(self) -> None:
        import asyncio

        assert self._done_event is not None
        await self._done_event.wait()
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)

    def start(self, message: Dict[str, Any]) -> None:
        pid = message["id"]
        signals = self._signals
        signals.finished.pop(pid, None)
        if signals.canceled_before_start(pid):
            self._emitter.send({"type": "canceled", "id": pid})
            return
        if pid in self.tasks:
            self._emitter.log(
                None, "stderr", "protocol error: prediction {} is already running".format(pid))
            return
        if len(self.tasks) >= self.concurrency:
            signals.mark_finished(pid)
            self._emitter.send({"type": "failed", "id": pid, "error":
                                "worker is at its concurrency limit ({})".format(self.concurrency)})
            return
        task = self.loop.create_task(self._run(pid, message))
        if not task.done():  # an eager task factory (a user's setup can install one) may finish it
            self.tasks[pid] = task

    def cancel(self, pid: str) -> None:
        task = self.tasks.get(pid)
        if task is None:
            self._signals.remember(pid)
            return
        if pid not in self._started:
            # Canceled before its first step: the body (which sends the terminal message)
            # will never run, so the message is sent here.
            self.tasks.pop(pid, None)
            task.cancel()
            self._signals.mark_finished(pid)
            self._emitter.send({"type": "canceled", "id": pid})
            return
        self._signals.requested.add(pid)
        task.cancel()

    def reload(self, rid: str) -> None:
        """Swap the predictor's code in place if setup() is unaffected (see _reload).

        Running tasks keep the function they started with.
        """
        assert self.reloader is not None
        predictor, answer = self.reloader.swap(self.predictor, rid)
        if predictor is not None:
            self.predictor = predictor
        self._emitter.send(answer)

    def shutdown(self) -> None:
        self._signals.shutting_down = True
        for pid in list(self.tasks):
            self.cancel(pid)
        if self._done_event is not None:
            self._done_event.set()

    async def _run(self, pid: str, message: Dict[str, Any]) -> None:
        self._started.add(pid)
        log_id_var.set(pid)
        emitter = self._emitter
        _scope.set_async_scope(emitter.scope(pid, message))
        output_dir = message["output_dir"]
        predictor = self.predictor
        prepared = None
        try:
            prepared = prepare_inputs(message["input"], predictor.signature["inputs"])
            result = predictor.fn(**prepared.kwargs)
            if type(result) is types.CoroutineType or inspect.isawaitable(result):
                result = await result
            if not isinstance(result, (types.AsyncGeneratorType, types.GeneratorType)):
                # no await from here to the terminal message: one write for all of it
                emitter.wire.hold()
            if isinstance(result, types.AsyncGeneratorType):
                index = 0
                async for item in result:
                    emitter.send_output(pid, index, item, output_dir)
                    index += 1
                terminal = {"type": "done", "id": pid, "is_stream": True}
            else:
                terminal = emitter.emit_result(pid, result, output_dir)
        except BaseException as err:  # noqa: BLE001
            if pid in self._signals.requested or isinstance(err, CancelationException):
                terminal = {"type": "canceled", "id": pid}
            else:
                terminal = emitter.failure(pid, err)
        finally:
            if prepared is not None:
                prepared.cleanup()
        emitter.wire.hold()
        try:
            emitter.router.flush_id(pid)
            self._signals.requested.discard(pid)
            self._started.discard(pid)
            self.tasks.pop(pid, None)
            self._signals.mark_finished(pid)
            emitter.send_terminal(terminal)
        finally:
            emitter.wire.release()


def _drain(inbox: Any) -> List[Any]:
    """What the inbox holds now (messages queued before the loop read the pipe)."""
    import queue

    items = []
    while True:
        try:
            items.append(inbox.get_nowait())
        except queue.Empty:
            return items
