"""The worker as the reaper of the processes the model starts (Linux; a no-op elsewhere).

``become_subreaper`` makes the worker a child subreaper (``prctl``): an orphan of
the model's processes, such as a double-forked daemon, is reparented to the worker
instead of init, so it stays among the worker's descendants. ``kill_descendants``
SIGKILLs them all; the worker calls it whenever it exits on its own terms (shutdown,
the server gone). When the worker itself is killed, the server finds what is left by
the token in their environment (src/process/reap.ts).

An adopted process that exits becomes a zombie child of the worker. A thread reaps
those it can prove are adopted: a zombie in another session that does not lead it
(a child of the worker starts in the worker's session and can only leave it with
setsid(), which makes it the leader of the new one). The model's own children are
never waited for here: that would take their exit status from the code waiting
for it. Adopted zombies in the worker's own session (a shell's ``cmd &``) stay until
the worker exits.
"""

import os
import signal
import threading
import time
from typing import Dict, List, Optional, Tuple

PR_SET_CHILD_SUBREAPER = 36
REAP_INTERVAL = 5.0
KILL_ROUNDS = 20


def become_subreaper() -> bool:
    """prctl(PR_SET_CHILD_SUBREAPER, 1); False when not possible (not Linux, no libc)."""
    if not os.path.isdir("/proc/self/task"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid: int) -> Optional[Tuple[str, int, int, int]]:
    """(state, ppid, pgrp, session) of ``pid`` from /proc, or None when it is gone."""
    try:
        with open("/proc/{}/stat".format(pid), "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()  # after "pid (comm) "
    try:
        return fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3])
    except (IndexError, ValueError):
        return None


def descendants(root: int) -> List[int]:
    """Live (non-zombie) descendants of ``root``, from one scan of /proc."""
    children: Dict[int, List[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        stat = _stat(int(name))
        if stat is not None and stat[0] not in ("Z", "X"):
            children.setdefault(stat[1], []).append(int(name))
    found: List[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def kill_descendants() -> None:
    """SIGKILL every descendant of the worker, again until none is left (they may fork)."""
    me = os.getpid()
    for _ in range(KILL_ROUNDS):
        pids = descendants(me)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.005)  # let them die (a dead process is a zombie: not listed again)


def exit_worker(code: int = 0) -> None:
    """End the worker now, and everything it started."""
    try:
        kill_descendants()
    finally:
        os._exit(code)


def reap_adopted_zombies(me: int, session: int) -> List[int]:
    """One pass: wait for the zombie children of ``me`` that are provably adopted.

    ``session`` is the session ``me`` was in when its children were born. Returns the
    pids reaped.
    """
    try:
        with open("/proc/{0}/task/{0}/children".format(me)) as handle:
            pids = [int(p) for p in handle.read().split()]
    except (OSError, ValueError):
        return []
    reaped = []
    for pid in pids:
        stat = _stat(pid)
        if stat is None or stat[0] != "Z" or stat[1] != me or stat[3] in (session, pid):
            continue
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                reaped.append(pid)
        except ChildProcessError:
            pass
    return reaped


def start_zombie_reaper() -> None:
    """Reap the provably adopted zombies every few seconds (a daemon thread)."""
    me = os.getpid()
    session = os.getsid(0)

    def run() -> None:
        while True:
            time.sleep(REAP_INTERVAL)
            reap_adopted_zombies(me, session)

    threading.Thread(target=run, name="cog-reaper", daemon=True).start()
