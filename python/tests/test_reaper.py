"""The worker ends every process the model started (Linux: subreaper + /proc)."""

import os
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from ._harness import PYTHON_DIR, REPO_ROOT, WorkerProcess

FIXTURE = os.path.join(REPO_ROOT, "tests", "fixtures", "predictors", "spawns_children")
LINUX = sys.platform.startswith("linux") and os.path.isdir("/proc/self/task")


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a killed orphan may stay one)."""
    try:
        with open("/proc/{}/stat".format(pid), "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def wait_gone(pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(running(p) for p in pids):
        time.sleep(0.02)
    return [p for p in pids if running(p)]


# The fixture's processes, plus a setsid daemon that started from an empty
# environment (no token for the server to find: only the worker knows it).
CLEARED_ENV_SOURCE = """
import os, subprocess, sys
from cog import BasePredictor

DAEMON = '''
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        sys.stdout.write(str(os.getpid()) + "\\\\n")
        sys.stdout.flush()
        os.close(1)
        time.sleep(1000)
    os._exit(0)
'''

class Predictor(BasePredictor):
    def setup(self):
        self.child = subprocess.Popen(["sleep", "1000"], env={})
        out = subprocess.run([sys.executable, "-c", DAEMON], env={}, stdout=subprocess.PIPE,
                             check=True)
        with open(os.environ["PIDS_FILE"], "a") as handle:
            handle.write("{} {} {}\\n".format(os.getpid(), self.child.pid, int(out.stdout)))

    def predict(self) -> str:
        return "ok"
"""


@unittest.skipUnless(LINUX, "needs Linux (/proc, prctl)")
class ReaperTest(unittest.TestCase):
    def spawn(self, **kwargs):
        handle, pids_file = tempfile.mkstemp(prefix="cog-pids-")
        os.close(handle)
        self.addCleanup(os.unlink, pids_file)
        worker = WorkerProcess(env={"PIDS_FILE": pids_file}, **kwargs)
        self.addCleanup(worker.close)
        self.assertEqual(worker.start_ready()["type"], "ready")
        with open(pids_file) as handle:
            worker_pid, child, daemon = [int(p) for p in handle.read().split()]
        self.assertEqual(worker_pid, worker.proc.pid)
        self.assertTrue(running(child) and running(daemon))
        # whatever happens, nothing is left behind by this test
        self.addCleanup(lambda: [_kill(p) for p in (child, daemon)])
        return worker, child, daemon

    def test_shutdown_kills_the_child_and_the_double_forked_daemon(self):
        worker, child, daemon = self.spawn(project_dir=FIXTURE)
        with open("/proc/{}/stat".format(daemon), "rb") as handle:
            ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
        self.assertEqual(ppid, worker.proc.pid, "the orphaned daemon was adopted by the worker")
        worker.send({"type": "shutdown"})
        self.assertEqual(worker.wait(), 0)
        self.assertEqual(wait_gone([child, daemon]), [])

    def test_processes_without_the_token_are_killed_on_shutdown_too(self):
        worker, child, daemon = self.spawn(source=CLEARED_ENV_SOURCE)
        worker.send({"type": "shutdown"})
        self.assertEqual(worker.wait(), 0)
        self.assertEqual(wait_gone([child, daemon]), [])

    def test_the_server_going_away_kills_them_as_well(self):
        worker, child, daemon = self.spawn(project_dir=FIXTURE)
        worker.proc.stdin.close()  # EOF: the server died
        self.assertEqual(worker.wait(), 0)
        self.assertEqual(wait_gone([child, daemon]), [])


ZOMBIES_SCRIPT = textwrap.dedent("""
    import os, subprocess, sys, textwrap, time
    from cog import _reaper

    assert _reaper.become_subreaper()
    me, session = os.getpid(), os.getsid(0)
    plain = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    leader = subprocess.Popen([sys.executable, "-c", "raise SystemExit(4)"],
                              start_new_session=True)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent('''
    import os, sys
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            print(os.getpid(), flush=True)
            os._exit(5)
        os._exit(0)
    os.wait()
    ''')], stdout=subprocess.PIPE, check=True)
    daemon = int(out.stdout)
    deadline = time.monotonic() + 10
    reaped = []
    while time.monotonic() < deadline and not reaped:
        time.sleep(0.05)
        reaped = _reaper.reap_adopted_zombies(me, session)
    # the model's own children keep their exit status for the code that waits for them
    print(reaped == [daemon], plain.wait(), leader.wait())
""")


@unittest.skipUnless(LINUX, "needs Linux (/proc, prctl)")
class AdoptedZombiesTest(unittest.TestCase):
    def test_only_adopted_zombies_are_reaped_and_own_children_keep_their_status(self):
        out = subprocess.run([sys.executable, "-c", ZOMBIES_SCRIPT],
                             env=dict(os.environ, PYTHONPATH=PYTHON_DIR), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertEqual(out.stdout.split(), [b"True", b"3", b"4"])


def _kill(pid: int) -> None:
    if running(pid):
        try:
            os.kill(pid, 9)
        except OSError:
            pass


if __name__ == "__main__":
    unittest.main()
