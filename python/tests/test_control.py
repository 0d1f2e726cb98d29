"""cog._control.ControlPipe on its own: lines split anywhere, and the pipe moving
between its owner and the reader thread, lose, duplicate or reorder nothing."""

import os
import random
import threading
import time
import unittest

from cog import _control
from cog._control import CHECK_INTERVAL_MS, SPIN_MISSES, ControlPipe, spin_window


class Collector:
    """Records every line with the thread that got it, in arrival order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lines = []
        self.by_reader = 0

    def add(self, lines, reader: bool) -> None:
        with self.lock:
            self.lines.extend(line for line in lines if line)
            if reader:
                self.by_reader += len(lines)


class ControlPipeTest(unittest.TestCase):
    def make(self):
        read_end, write_end = os.pipe()
        self.addCleanup(os.close, write_end)
        collector = Collector()
        pipe = ControlPipe(read_end, lambda lines: collector.add(lines, True))
        # Runs before the close (cleanups are LIFO): a reader that owned the pipe would
        # see EOF and end the process, as a worker does when the server goes away.
        self.addCleanup(pipe.idle)
        return pipe, write_end, collector

    def read(self, pipe):
        """pipe.read_lines(), failing the test instead of hanging when nothing comes."""
        lines = pipe.read_lines(5000)
        self.assertNotEqual(lines, [], "the owner read nothing for 5 s")
        return lines

    def test_feed_splits_lines_across_chunks(self):
        pipe, _, _ = self.make()
        self.assertEqual(pipe.feed(b"ab"), [])
        self.assertEqual(pipe.feed(b"c\nde"), [b"abc"])
        self.assertEqual(pipe.feed(b"f\n\ng\nh"), [b"def", b"", b"g"])
        self.assertEqual(pipe.feed(b"\n"), [b"h"])

    def test_owner_reads_until_lent_then_the_reader_does(self):
        pipe, w, collector = self.make()
        pipe.idle()
        os.write(w, b"one\ntw")
        os.write(w, b"o\n")
        collector.add(self.read(pipe), False)
        if collector.lines != [b"one", b"two"]:
            collector.add(self.read(pipe), False)
        self.assertEqual(collector.lines, [b"one", b"two"])
        pipe.lend()
        os.write(w, b"three\n")
        deadline = time.monotonic() + 5
        while len(collector.lines) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        self.assertEqual(collector.lines, [b"one", b"two", b"three"])
        self.assertEqual(collector.by_reader, 1)
        pipe.idle()
        os.write(w, b"four\n")
        collector.add(self.read(pipe), False)
        self.assertEqual(collector.lines[-1], b"four")

    def test_a_long_busy_period_hands_the_pipe_to_the_reader(self):
        pipe, w, collector = self.make()
        pipe.idle()
        pipe.busy()
        os.write(w, b"cancel\n")
        deadline = time.monotonic() + 5
        while not collector.lines and time.monotonic() < deadline:
            time.sleep(0.005)
        self.assertEqual(collector.lines, [b"cancel"])
        self.assertEqual(collector.by_reader, 1)
        pipe.idle()
        os.write(w, b"next\n")
        self.assertEqual(self.read(pipe), [b"next"])

    def test_random_traffic_and_hand_offs_keep_every_line_once_in_order(self):
        pipe, w, collector = self.make()
        pipe.idle()
        total = 3000
        rng = random.Random(7)
        payload = b"".join(b"%d:%s\n" % (i, b"x" * rng.randrange(0, 300)) for i in range(total))
        write_rng = random.Random(8)

        def writer() -> None:
            rng = write_rng
            view = memoryview(payload)
            while view:
                size = rng.randrange(1, 700)
                os.write(w, view[:size])
                view = view[size:]
                if rng.random() < 0.05:
                    time.sleep(rng.random() * 0.003)

        thread = threading.Thread(target=writer)
        thread.start()
        deadline = time.monotonic() + 20

        def count() -> int:
            with collector.lock:
                return len(collector.lines)

        while count() < total and time.monotonic() < deadline:
            # The main thread: read some, then a busy period (some long enough for the
            # reader to take over), then take the pipe back.
            pipe.idle()
            if count() < total:
                lines = pipe.read_lines(5000)
                self.assertNotEqual(lines, [], "the owner read nothing for 5 s")
                collector.add(lines, False)
            if rng.random() < 0.3:
                pipe.busy()
                time.sleep(rng.choice((0, 0.001, CHECK_INTERVAL_MS * 5 / 1000)))
                pipe.idle()
        thread.join()
        numbers = [int(line.split(b":")[0]) for line in collector.lines ]
        self.assertEqual(numbers, list(range(total)))
        self.assertGreater(collector.by_reader, 0, "the reader never took the pipe")



class SpinTest(unittest.TestCase):
    """The polling window between sync predictions (read_next)."""

    def make(self, micros: str):
        if float(micros) > 0 and _control.usable_cpus() < 2:
            self.skipTest("polling is off with fewer than 2 CPUs")
        read_end, write_end = os.pipe()
        pipe = ControlPipe(read_end, lambda lines: None)
        pipe._spin = spin_window({"COG_WORKER_SPIN_US": micros})  # noqa: SLF001
        self.addCleanup(os.close, write_end)
        self.addCleanup(pipe.idle)
        pipe.idle()
        pipe._own_threads += 8  # noqa: SLF001 - the Timer threads below are not the user's
        return pipe, write_end

    def test_window_from_the_environment_and_the_cpus(self):
        cpus = _control.usable_cpus()
        self.assertGreater(cpus, 0)
        if cpus >= 2:
            self.assertEqual(spin_window({}), _control.DEFAULT_SPIN_US / 1e6)
            self.assertEqual(spin_window({"COG_WORKER_SPIN_US": "50"}), 50e-6)
            self.assertEqual(spin_window({"COG_WORKER_SPIN_US": "junk"}),
                             _control.DEFAULT_SPIN_US / 1e6)
            self.assertEqual(spin_window({"COG_WORKER_SPIN_US": "1e12"}), 0.1)  # capped
        for off in ("0", "-5", "nan"):
            self.assertEqual(spin_window({"COG_WORKER_SPIN_US": off}), 0.0, off)
        real = _control.usable_cpus
        _control.usable_cpus = lambda: 1.5  # e.g. a container limited to 1.5 CPUs
        try:
            self.assertEqual(spin_window({"COG_WORKER_SPIN_US": "400"}), 0.0)
        finally:
            _control.usable_cpus = real

    def test_a_line_already_there_is_a_hit(self):
        pipe, w = self.make("400")
        pipe._spin_misses = 1  # noqa: SLF001 - one window was missed before
        os.write(w, b"predict\n")
        self.assertEqual(pipe.read_next(), [b"predict"])
        self.assertEqual(pipe._spin_misses, 0)  # noqa: SLF001

    def test_polling_stops_after_missed_windows_and_resumes_when_back_to_back(self):
        pipe, w = self.make("1")  # a 1 us window: a line written 0.2 s later misses it
        for missed in range(1, SPIN_MISSES + 2):
            pipe.idle()
            threading.Timer(0.2, lambda: os.write(w, b"late\n")).start()
            self.assertEqual(pipe.read_next(), [b"late"])
            # after SPIN_MISSES misses polling is off, and a late line changes nothing
            self.assertEqual(pipe._spin_misses, min(missed, SPIN_MISSES))  # noqa: SLF001
        # A request right behind the prediction (within one window) turns it back on.
        pipe._spin = 10.0  # noqa: SLF001 - a window the line below surely falls in
        pipe.idle()
        os.write(w, b"soon\n")
        self.assertEqual(pipe.read_next(), [b"soon"])
        self.assertEqual(pipe._spin_misses, 0)  # noqa: SLF001

    def test_no_polling_while_another_python_thread_exists(self):
        pipe, w = self.make("1")
        pipe._own_threads = threading.active_count()  # noqa: SLF001 - the real baseline
        stop = threading.Event()
        extra = threading.Thread(target=stop.wait)
        extra.start()
        self.addCleanup(extra.join)
        self.addCleanup(stop.set)
        for _ in range(SPIN_MISSES + 1):
            pipe.idle()
            threading.Timer(0.05, lambda: os.write(w, b"late\n")).start()
            self.assertEqual(pipe.read_next(), [b"late"])
        self.assertEqual(pipe._spin_misses, 0)  # noqa: SLF001 - no window was ever opened

    def test_off_means_no_polling(self):
        pipe, w = self.make("0")
        os.write(w, b"x\n")
        self.assertEqual(pipe.read_next(), [b"x"])
        self.assertEqual(pipe._spin, 0.0)  # noqa: SLF001


if __name__ == "__main__":
    unittest.main()
