"""The cog worker process: ``python3 -u -X faulthandler -m cog._worker --ref ... --mode ...``.

Implements the worker side of docs/worker-protocol.md: moves the protocol off fds
0/1/2 before any user code runs, loads the predictor, runs setup(), then serves
predict / cancel / healthcheck / shutdown messages. This module only wires the parts
together, each owning its share of the state:

- ``_dispatch``: the control pipe, the phase, routing each message to its owner;
- ``_cancel``: cancel signalling (SIGUSR1 to the main thread, remembered cancels);
- ``_sync_runner``: sync predictions on the main thread;
- ``_async_runner``: async predictions as tasks on one asyncio loop;
- ``_emit``: the protocol writer, log capture, output encoding;
- ``_loader``: importing the predictor and running setup(); ``_healthcheck``;
- ``_reload``: swapping the predictor's code in place, keeping setup()'s state.
"""

import argparse
import faulthandler
import os
import signal
import sys
import threading
import traceback
from typing import List, Optional, TextIO, Tuple

from . import _reaper
from . import server as _server
from ._async_runner import AsyncRunner
from ._cancel import CancelSignals
from ._dispatch import SHUTDOWN, Dispatcher
from ._emit import Emitter, error_text
from ._loader import SetupError, load_and_setup
from ._reload import Reloader
from ._sync_runner import SyncRunner
from ._version import __version__

# cog/__init__.py left bytecode writing on for the SDK's modules (see there): restore the
# interpreter's setting before any user code is imported.
sys.dont_write_bytecode = sys.modules["cog"]._dont_write_bytecode  # type: ignore[attr-defined]


def _take_over_fds() -> Tuple[int, int, TextIO]:
    """Move the protocol off fds 0/1/2: (ctl_in, ctl_out, diagnostics stream)."""
    ctl_in = os.dup(0)
    ctl_out = os.dup(1)
    diag = os.fdopen(os.dup(2), "w", buffering=1)
    faulthandler.enable(file=diag)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.close(null_fd)
    return ctl_in, ctl_out, diag


class Worker:
    """One worker process: its parts, and the start-up sequence."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.ctl_in, ctl_out, diag = _take_over_fds()
        lock = threading.RLock()
        self.signals = CancelSignals(lock)
        signals = self.signals
        self.emitter = Emitter(ctl_out, diag, lambda: signals.sync_id, _reaper.exit_worker)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _server.active = True
        # Before any user code: the model's orphans are reparented to the worker, which
        # kills them all when it exits (and the server, by token, if the worker is killed).
        if _reaper.become_subreaper():
            _reaper.start_zombie_reaper()
        self.dispatcher = Dispatcher(lock, self.signals, self.emitter,
                                     lambda: _reaper.exit_worker(0))

    def start(self) -> None:
        emitter = self.emitter
        emitter.send({
            "type": "hello",
            "protocol": 1,
            "python": sys.version.split()[0],  # = platform.python_version(), minus a 2 ms import
            "sdk": __version__,
            "pid": os.getpid(),
        })
        self.dispatcher.start_reader(self.ctl_in)
        args = self.args
        try:
            loaded = load_and_setup(args.ref, args.mode, args.concurrency, args.signature_only)
        except SetupError as err:
            emitter.drain(None)
            emitter.log(None, "stderr", err.tb)
            self.dispatcher.mark_setup_failed()
            emitter.send({"type": "setup_failed", "error": err.error, "traceback": err.tb})
            if args.signature_only:
                emitter.exit(0)
            self._idle_after_setup_failure()
            return
        emitter.drain(None)
        predictor = loaded.predictor
        if args.signature_only:
            self.dispatcher.mark_ready(None, None)
            emitter.send({"type": "ready", "predictor": predictor.info,
                          "signature": predictor.signature})
            emitter.exit(0)
        # What setup() saw (project files); the predictor's source is the one it imported.
        reloader = Reloader(predictor)
        sync_runner = async_runner = None
        if predictor.is_async:
            assert loaded.loop is not None
            async_runner = AsyncRunner(
                loaded.loop, predictor, loaded.concurrency, self.signals, emitter)
        else:
            sync_runner = SyncRunner(predictor, self.signals, emitter)
        with self.dispatcher.lock:
            # ready first: the server may send a request the moment it reads the message
            self.dispatcher.mark_ready(async_runner or sync_runner, async_runner)
            emitter.send({"type": "ready", "predictor": predictor.info,
                          "signature": predictor.signature})
        # a `reload` is handled by the runner's own loop, which starts below
        if async_runner is not None:
            async_runner.reloader = reloader
            async_runner.serve(self.dispatcher)
        elif sync_runner is not None:
            sync_runner.reloader = reloader
            sync_runner.serve(self.dispatcher)

    def _idle_after_setup_failure(self) -> None:
        while True:
            item = self.dispatcher.inbox.get()
            if item is SHUTDOWN:
                self.emitter.exit(0)
            if isinstance(item, dict) and item.get("type") == "predict":
                self.emitter.send({"type": "failed", "id": item["id"],
                                   "error": "setup failed; the predictor cannot run"})


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
            worker.emitter.send({"type": "fatal", "reason": error_text(err)})
            traceback.print_exc(file=worker.emitter.diag)
        finally:
            worker.emitter.exit(1)


if __name__ == "__main__":
    main()
