"""Cancel signalling: who may be canceled now, and how the cancel reaches them.

Owns the cancel state of the worker: the sync prediction running on the main thread
(``sync_id``, which is also who fd-level output is attributed to), whether it may be
interrupted right now (``cancelable``), the cancels that arrived for it, the cancels
kept for predictions whose ``predict`` has not come yet, the ids of predictions that
ended (a late cancel for one of them is dropped), and the shutdown flag (shutdown
cancels everything). A sync prediction is interrupted by SIGUSR1 raising
``CancelationException`` in the main thread, repeated until it ends (falling back to
an asynchronous exception when the user replaced the handler). Async predictions are
canceled by ``_async_runner`` (``task.cancel()``), which uses the same bookkeeping.

Every field here is changed under ``lock`` (shared with the dispatcher), except by the
event loop of an async predictor, which is the only thread that touches them then.
"""

import collections
import os
import signal
import threading
import time
from typing import Any, Optional

from .exceptions import CancelationException

CANCEL_RESIGNAL_INTERVAL = 0.2
MAX_PENDING_CANCELS = 1000

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# Files where a cancel must not raise: the worker's I/O helpers (a lock held, a buffer
# half-written) and this module's own bookkeeping. No user code is called from them.
_WORKER_IO_FILES = frozenset(
    os.path.join(_PACKAGE_DIR, name)
    for name in ("_io.py", "_control.py", "_protocol.py", "_output.py", "_scope.py",
                 "_inputs.py", "_cancel.py", "_reaper.py")
)


def in_worker_io(frame: Any) -> bool:
    """True when the interrupted code is (called from) the worker's I/O helpers."""
    while frame is not None:
        if frame.f_code.co_filename in _WORKER_IO_FILES:
            return True
        frame = frame.f_back
    return False


class CancelSignals:
    """The cancel state and the SIGUSR1 delivery to the main thread.

    Built on the main thread (it installs the SIGUSR1 handler).
    """

    def __init__(self, lock: "threading.RLock") -> None:
        self.lock = lock
        self.main_ident = threading.get_ident()
        self.sync_id: Optional[str] = None  # the sync prediction on the main thread
        self.cancelable = False  # SIGUSR1 may raise in the main thread now
        self.requested: set = set()  # running predictions a cancel was asked for
        self.pending: "collections.OrderedDict[str, bool]" = collections.OrderedDict()
        # Ids of predictions that ended and whose id has not been sent again since: a
        # cancel for one of them came too late and is dropped, not kept for a later
        # prediction that reuses the id (see remember).
        self.finished: "collections.OrderedDict[str, bool]" = collections.OrderedDict()
        self.shutting_down = False
        self._used_async_exc = False
        signal.signal(signal.SIGUSR1, self._on_sigusr1)

    # ---- bookkeeping -----------------------------------------------------------------------

    def remember(self, pid: str) -> None:
        """A cancel for a prediction that is not running: kept for its predict, if it comes.

        The pipe is in order, so the cancel of a prediction that already ended (read
        late: a short sync prediction is not watched for cancels) comes after its
        predict; it is dropped. A predict that reuses an id forgets it first.
        """
        if pid in self.finished:
            return
        self.pending[pid] = True
        while len(self.pending) > MAX_PENDING_CANCELS:
            self.pending.popitem(last=False)

    def mark_finished(self, pid: str) -> None:
        self.finished[pid] = True
        while len(self.finished) > MAX_PENDING_CANCELS:
            self.finished.popitem(last=False)

    def canceled_before_start(self, pid: str) -> bool:
        """True (and the id marked finished) when ``pid`` must end as canceled unstarted."""
        if self.pending.pop(pid, False) or self.shutting_down:
            self.mark_finished(pid)
            return True
        return False

    # ---- the sync prediction on the main thread ----------------------------------------------

    def begin_sync(self, pid: str) -> bool:
        """The main thread takes ``pid``; False when it was canceled before it started."""
        with self.lock:
            if self.canceled_before_start(pid):
                return False
            self.sync_id = pid
            return True

    def arm(self, pid: str) -> None:
        """The predictor is about to be called: cancels interrupt it from now on."""
        with self.lock:
            self.cancelable = True
            if pid in self.requested:
                self.cancelable = False
                raise CancelationException()

    def disarm(self) -> None:
        """The predictor returned (or raised): no cancel may interrupt the main thread."""
        self.cancelable = False
        if self._used_async_exc:
            import ctypes

            self._used_async_exc = False
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.main_ident), None)

    def end_sync(self, pid: str) -> None:
        with self.lock:
            self.sync_id = None
            self.requested.discard(pid)
            self.mark_finished(pid)

    def cancel_sync(self, pid: str) -> None:
        """A ``cancel`` for a sync predictor (any thread)."""
        with self.lock:
            if pid == self.sync_id:
                self.requested.add(pid)
                if self.cancelable:
                    self._interrupt_main()
            else:
                self.remember(pid)

    def cancel_running_sync(self) -> None:
        """Shutdown: cancel the sync prediction on the main thread, if any (lock held)."""
        if self.sync_id is not None:
            self.requested.add(self.sync_id)
            if self.cancelable:
                self._interrupt_main()

    def _interrupt_main(self) -> None:
        if signal.getsignal(signal.SIGUSR1) == self._on_sigusr1:
            pid = self.sync_id
            threading.Thread(target=self._keep_signaling, args=(pid,), daemon=True).start()
            return
        import ctypes  # the user replaced our handler: fall back to an async exception

        self._used_async_exc = True
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(self.main_ident), ctypes.py_object(CancelationException)
        )

    def _keep_signaling(self, pid: Optional[str]) -> None:
        # One SIGUSR1 can be lost or deferred (see _on_sigusr1), so repeat it until the
        # canceled prediction has ended; the handler only raises while cancelable.
        while True:
            with self.lock:
                if self.sync_id != pid or pid not in self.requested:
                    return
                if self.cancelable:
                    signal.pthread_kill(self.main_ident, signal.SIGUSR1)
            time.sleep(CANCEL_RESIGNAL_INTERVAL)

    def _on_sigusr1(self, signum: int, frame: Any) -> None:
        if not self.cancelable:
            return
        if in_worker_io(frame):
            # Raising inside the worker's own I/O code could leave a lock held or a buffer
            # half-updated; _keep_signaling tries again once we are back in user code.
            return
        self.cancelable = False
        raise CancelationException()
