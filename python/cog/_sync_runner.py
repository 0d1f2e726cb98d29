"""The sync runner: a sync predictor's predictions, one at a time, on the main thread.

Between predictions the main thread reads the control pipe itself (``read_next``
polls briefly while requests come back to back, see _control.py), and a single
``predict`` line goes straight to the predictor, with no queue and no thread hop.
While a prediction runs the pipe may be taken over by the reader thread, which
routes what it reads (``cancel`` reaches ``CancelSignals``). The runner owns the
predictor it calls (``reload`` may swap it between predictions).
"""

import queue
import types
from typing import TYPE_CHECKING, Any, Dict, Optional

from . import _scope
from ._dispatch import SHUTDOWN
from ._inputs import prepare_inputs
from .exceptions import CancelationException

if TYPE_CHECKING:
    from ._cancel import CancelSignals
    from ._dispatch import Dispatcher
    from ._emit import Emitter
    from ._loader import Predictor
    from ._reload import Reloader


class SyncRunner:
    """Runs ``predict`` messages on the main thread (``serve`` never returns)."""

    def __init__(self, predictor: "Predictor", signals: "CancelSignals", emitter: "Emitter"
                 ) -> None:
        self.predictor = predictor
        self._signals = signals
        self._emitter = emitter
        self.reloader: "Optional[Reloader]" = None  # set before serve()

    def reload(self, rid: str) -> None:
        """Swap the predictor's code in place if setup() is unaffected (see _reload)."""
        assert self.reloader is not None
        predictor, answer = self.reloader.swap(self.predictor, rid)
        if predictor is not None:
            self.predictor = predictor
        self._emitter.send(answer)

    def serve(self, dispatcher: "Dispatcher") -> None:
        # The main thread reads the control pipe itself while idle; the reader thread
        # takes it over only while a prediction runs long (see _control.py).
        control = dispatcher.control
        assert control is not None
        inbox = dispatcher.inbox
        control.idle()
        while True:
            try:
                item = inbox.get_nowait()
            except queue.Empty:
                lines = control.read_next()  # polls first while requests come back to back
                if len(lines) == 1:
                    # The common case, one predict line, runs without the queue.
                    item = dispatcher.take_predict(lines[0])
                    if item is None:
                        continue
                else:
                    dispatcher.dispatch_lines(lines)
                    continue
            else:
                if item is SHUTDOWN:
                    self._emitter.exit(0)
                if item["type"] == "reload":
                    self.reload(item["id"])
                    continue
            control.busy()
            self.run(item)
            control.idle()

    def run(self, message: Dict[str, Any]) -> None:
        """One prediction, from its ``predict`` message to its terminal message."""
        pid = message["id"]
        signals = self._signals
        emitter = self._emitter
        if not signals.begin_sync(pid):
            emitter.send({"type": "canceled", "id": pid})
            return
        _scope.set_sync_scope(emitter.scope(pid, message))
        # No `started` message: the server marks the prediction as processing
        # when it sends it, and an extra write per prediction is measurable.
        terminal: Dict[str, Any]
        prepared = None
        predictor = self.predictor
        try:
            try:
                prepared = prepare_inputs(message["input"], predictor.signature["inputs"])
                signals.arm(pid)
                result = predictor.fn(**prepared.kwargs)
                if not isinstance(result, types.GeneratorType):
                    # the whole result is known: output(s) + logs + done in one write
                    emitter.wire.hold()
                terminal = emitter.emit_result(pid, result, message["output_dir"])
            finally:
                signals.disarm()
        except CancelationException:
            terminal = {"type": "canceled", "id": pid}
        except BaseException as err:  # noqa: BLE001 - SystemExit etc. fail only this prediction
            signals.cancelable = False
            if pid in signals.requested:
                terminal = {"type": "canceled", "id": pid}
            else:
                terminal = emitter.failure(pid, err)
        self._finish(pid, prepared, terminal)

    def _finish(self, pid: str, prepared: Optional[Any], terminal: Dict[str, Any]) -> None:
        emitter = self._emitter
        self._signals.cancelable = False
        emitter.wire.hold()
        try:
            if prepared is not None:
                prepared.cleanup()
            emitter.drain(pid)
            self._signals.end_sync(pid)
            _scope.set_sync_scope(None)
            emitter.send_terminal(terminal)
        finally:
            emitter.wire.release()
