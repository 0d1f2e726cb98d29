"""The control pipe (server -> worker), read by one owner at a time.

A sync predictor's main thread reads the pipe itself while it is idle, so a
``predict`` line goes from the pipe to the predictor with no thread hand-off
(that hand-off was the largest piece of the worker's latency). While setup or a
prediction keeps the main thread busy, the reader thread reads the pipe, so
``cancel``, ``healthcheck`` and ``shutdown`` are seen without waiting for it. An
async predictor's event loop reads the pipe with ``loop.add_reader`` instead.

A prediction does not hand the pipe over when it starts: ``busy()`` only sets a
flag, and the reader thread, which looks every ``CHECK_INTERVAL``, takes the pipe
once it has seen the same prediction running twice (so from 20-40 ms on). A short
prediction thus costs no system call and no thread wake-up at all; a message sent
during its first few milliseconds is read when it ends (or by the reader).
``lend()`` hands the pipe over at once (setup). ``idle()`` takes it back without
waiting: ownership is a flag under a lock, the reader reads only while it holds
the lock and owns the pipe, a wake-up pipe gets it out of ``poll``, and the fd is
non-blocking, so a reader woken for data the owner has read already never blocks.
Only the current owner touches the line buffer.

Between sync predictions the main thread first polls the pipe for a short window
(``read_next``) while requests have been arriving back to back: waking a sleeping
process costs tens of microseconds on a virtual machine, and the code right after a
wake-up runs several times slower than warm. The window is spent only after a
prediction, never while idle; two windows in a row that end without a request
turn polling off until a request again arrives within one window of the previous
prediction's end. ``COG_WORKER_SPIN_US`` sets it (0: off); it is off with fewer than 2
CPUs, and while the process has Python threads of its own (the user's): polling
retakes the GIL so often that such a thread would hardly get to run.
"""

import os
import select
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

CHUNK = 1 << 16
CHECK_INTERVAL_MS = 20
DEFAULT_SPIN_US = 400.0
SPIN_MISSES = 2  # windows in a row without a request before polling stops


def _cgroup_quota_files() -> List[Tuple[str, Optional[str]]]:
    """CPU quota files that may limit this process: its own cgroup's and its ancestors'."""
    files: List[Tuple[str, Optional[str]]] = [
        ("/sys/fs/cgroup/cpu.max", None),  # cgroup v2 (the root of a cgroup namespace)
        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"),  # v1
    ]
    try:
        with open("/proc/self/cgroup") as handle:
            entries = handle.read().splitlines()
    except OSError:
        return files
    for entry in entries:
        if entry.startswith("0::"):  # cgroup v2 without a namespace of its own: the full path
            path = entry[3:].strip().rstrip("/")
            while path:
                files.append(("/sys/fs/cgroup{}/cpu.max".format(path), None))
                path = path.rsplit("/", 1)[0]
    return files


def usable_cpus() -> float:
    """CPUs this process may use: its affinity mask, capped by cgroup CPU quotas."""
    try:
        count: float = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    for quota_file, period_file in _cgroup_quota_files():
        try:
            with open(quota_file) as handle:
                fields = handle.read().split()
            if period_file is not None:
                with open(period_file) as handle:
                    fields.append(handle.read().strip())
            quota, period = fields[0], fields[1]
            if quota not in ("max", "-1") and int(period) > 0:
                count = min(count, int(quota) / int(period))
        except (OSError, ValueError, IndexError):
            continue
    return count


def spin_window(environ: "Optional[Dict[str, str]]" = None) -> float:
    """The polling window in seconds (0: off), from COG_WORKER_SPIN_US and the CPUs."""
    raw = (os.environ if environ is None else environ).get("COG_WORKER_SPIN_US")
    try:
        micros = DEFAULT_SPIN_US if raw is None or raw.strip() == "" else float(raw)
    except ValueError:
        micros = DEFAULT_SPIN_US
    if not micros > 0 or usable_cpus() < 2:
        return 0.0
    return min(micros, 100_000.0) / 1e6


class ControlPipe:
    """Line reader over the control fd with an owner hand-off."""

    def __init__(self, fd: int, on_lines: Callable[[List[bytes]], None],
                 on_eof: Callable[[], None] = lambda: os._exit(0)) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._on_lines = on_lines  # the reader thread's dispatch
        self._on_eof = on_eof  # the server closed the pipe (it died): must not return
        self._parts: List[bytes] = []  # the partial line read so far
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._lock = threading.Lock()
        self._reader_owns = False
        self._busy = False
        self._busy_seq = 0
        self._spin: Optional[float] = None  # decided at the first read_next (after setup)
        self._spin_misses = 0
        self._idle_since = 0.0
        self._poller = select.poll()  # the owner's (poll objects are not shared by threads)
        self._poller.register(fd, select.POLLIN)
        thread = threading.Thread(target=self._run, name="cog-control", daemon=True)
        thread.start()
        # The worker's own threads (main, fd capture, this reader) are all up by now; any
        # thread beyond them is the user's (or a healthcheck's), and polling would starve
        # it of the GIL (read_next).
        self._own_threads = threading.active_count()

    # ---- owner side ----------------------------------------------------------------------

    def feed(self, data: bytes) -> List[bytes]:
        """Add bytes read from the pipe; returns the complete lines (maybe none).

        Empty data means the server closed the pipe: the worker exits at once.
        """
        if not data:
            self._on_eof()  # the server died
            os._exit(0)
        cut = data.rfind(b"\n")
        if cut < 0:
            self._parts.append(data)
            return []
        if self._parts:
            self._parts.append(data[:cut])
            whole = b"".join(self._parts)
        else:
            whole = data[:cut]
        self._parts = [data[cut + 1 :]] if cut + 1 < len(data) else []
        return whole.split(b"\n")

    def read_available(self) -> List[bytes]:
        """Read what the pipe holds now (non-blocking); the complete lines, maybe none."""
        try:
            data = os.read(self.fd, CHUNK)
        except BlockingIOError:
            return []
        except OSError:
            data = b""
        return self.feed(data)

    def read_lines(self, timeout_ms: Optional[int] = None) -> List[bytes]:
        """Block until at least one complete line is read (the caller owns the pipe).

        With a timeout (tests), returns [] once it passes without a complete line.
        """
        while True:
            if not self._poller.poll(timeout_ms) and timeout_ms is not None:
                return []
            lines = self.read_available()
            if lines:
                return lines

    def read_next(self) -> List[bytes]:
        """``read_lines`` for the sync main thread between predictions (see the module doc)."""
        if self._spin is None:
            self._spin = spin_window()
        # Polling keeps retaking the GIL: another Python thread would hardly get it.
        if self._spin and self._spin_misses < SPIN_MISSES \
                and threading.active_count() <= self._own_threads:
            now = time.perf_counter
            end = now() + self._spin
            while True:
                lines = self.read_available()
                if lines:
                    self._spin_misses = 0
                    return lines
                if now() >= end:
                    break
            self._spin_misses += 1  # nothing came in time: sleep
        lines = self.read_lines()
        if self._spin and time.perf_counter() - self._idle_since < self._spin:
            self._spin_misses = 0  # back to back again
        return lines

    def lend(self) -> None:
        """Give the pipe to the reader thread now (the caller stops reading it)."""
        with self._lock:
            self._reader_owns = True
        os.write(self._wake_w, b"\0")

    def busy(self) -> None:
        """The main thread starts a prediction: the reader takes the pipe if it runs long."""
        self._busy_seq += 1
        self._busy = True

    def idle(self) -> None:
        """The main thread is back: it owns the pipe again (takes it back if lent)."""
        self._idle_since = time.perf_counter()
        with self._lock:
            self._busy = False
            if not self._reader_owns:
                return
            self._reader_owns = False
        os.write(self._wake_w, b"\0")  # out of poll; it reads no more

    # ---- reader thread -------------------------------------------------------------------

    def _drain_wake(self) -> None:
        try:
            os.read(self._wake_r, 64)
        except BlockingIOError:
            pass

    def _run(self) -> None:
        waiting = select.poll()  # not the owner: wake-ups only, and a look every interval
        waiting.register(self._wake_r, select.POLLIN)
        owning = select.poll()  # the owner: the control pipe too
        owning.register(self.fd, select.POLLIN)
        owning.register(self._wake_r, select.POLLIN)
        seen = -1  # the busy period seen at the last look
        while True:
            if not self._reader_owns:
                waiting.poll(CHECK_INTERVAL_MS)
                self._drain_wake()
                with self._lock:
                    if self._busy and self._busy_seq == seen:
                        self._reader_owns = True  # the same prediction for a whole interval
                    seen = self._busy_seq if self._busy else -1
                continue
            owning.poll()
            self._drain_wake()
            with self._lock:
                if self._reader_owns:
                    lines = self.read_available()
                    if lines:
                        self._on_lines(lines)
