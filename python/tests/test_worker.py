"""End-to-end: spawn ``python -m cog._worker`` on small predictors and speak the protocol."""

import json
import os
import time
import unittest

from ._harness import REPO_ROOT, TERMINAL, WorkerProcess, logs_for, outputs

FIXTURES = os.path.join(REPO_ROOT, "tests", "fixtures", "predictors")
CANCEL_BOUND = 10.0


class WorkerTestCase(unittest.TestCase):
    def spawn(self, source=None, **kwargs):
        worker = WorkerProcess(source, **kwargs)
        self.addCleanup(worker.close)
        self.addCleanup(lambda: self.assertEqual(worker.invalid, []))
        return worker

    def fixture(self, name, ref="predict.py:Predictor", **kwargs):
        return self.spawn(project_dir=os.path.join(FIXTURES, name), ref=ref, **kwargs)


class LifecycleTest(WorkerTestCase):
    def test_hello_then_ready_with_predictor_and_signature(self):
        worker = self.fixture("echo")
        hello = worker.recv()
        self.assertEqual(hello["type"], "hello")
        self.assertEqual(hello["protocol"], 1)
        self.assertEqual(hello["sdk"], "0.22.0")
        self.assertEqual(hello["pid"], worker.proc.pid)
        ready = worker.until_type("ready")[-1]
        self.assertEqual(ready["predictor"], {
            "ref": "predict.py:Predictor", "kind": "class", "method": "predict",
            "is_async": False, "is_generator": False, "streaming": False,
            "concurrent_max": None, "has_healthcheck": False})
        self.assertEqual(ready["signature"]["inputs"][0]["name"], "text")
        messages = worker.run("p1", {"text": "world"})
        # a single output without files is carried by the done message
        self.assertEqual(messages, [{"v": 1, "type": "done", "id": "p1", "is_stream": False,
                                     "output": {"value": "hello world", "files": []}}])
        self.assertEqual(outputs(messages, "p1"), ["hello world"])
        self.assertEqual(messages[-1]["is_stream"], False)

    def test_shutdown_exits_zero(self):
        worker = self.fixture("echo")
        worker.start_ready()
        worker.send({"type": "shutdown"})
        self.assertEqual(worker.wait(), 0)

    def test_eof_on_stdin_exits_at_once(self):
        worker = self.fixture("slow")
        worker.start_ready()
        worker.predict("p1", {"seconds": 30})
        worker.until_type("log")  # the predictor printed: it is running
        worker.proc.stdin.close()
        self.assertEqual(worker.wait(CANCEL_BOUND), 0)

    def test_invalid_messages_are_logged_and_ignored(self):
        worker = self.fixture("echo")
        worker.start_ready()
        worker.send_raw(b"not json\n")
        worker.send({"type": "predict", "id": 5})
        worker.send({"type": "bogus"})
        messages = worker.run("p1", {"text": "x"})
        errors = logs_for(messages, None, "stderr")
        self.assertEqual(errors.count("protocol error: "), 3, errors)
        self.assertEqual(messages[-1]["type"], "done")

    def test_signature_only_reports_ready_without_setup(self):
        worker = self.fixture("setup_fails", extra_args=["--signature-only"])
        ready = worker.start_ready()
        self.assertEqual(ready["type"], "ready")
        self.assertEqual(worker.wait(), 0)

    def test_function_predictor(self):
        worker = self.fixture("function_predictor", ref="predict.py:predict")
        ready = worker.start_ready()
        self.assertEqual((ready["predictor"]["kind"], ready["predictor"]["method"]),
                         ("function", "function"))
        self.assertEqual(outputs(worker.run("p1", {}), "p1"), ["hello world"])

    def test_train_mode_needs_only_train(self):
        worker = self.spawn("""
            from cog import BasePredictor, BaseModel, Path
            class Out(BaseModel):
                weights: Path
            class Trainer:
                def setup(self):
                    pass
                def train(self, steps: int = 2) -> Out:
                    p = Path("weights.bin")
                    p.write_bytes(b"w" * steps)
                    return Out(weights=p)
            """, ref="train.py:Trainer", mode="train")
        ready = worker.start_ready()
        self.assertEqual(ready["predictor"]["method"], "train")
        messages = worker.run("t1", {"steps": 3})
        output = [m for m in messages if m["type"] == "output"][0]
        self.assertEqual([(f["pointer"], f["path"]) for f in output["files"]],
                         [("/weights", os.path.join(worker.dir, "weights.bin"))])


class LogsTest(WorkerTestCase):
    def test_print_subprocess_and_fd_writes_are_logs_before_done(self):
        worker = self.fixture("subprocess_print")
        worker.start_ready()
        for pid in ("p1", "p2"):
            messages = worker.run(pid)
            stdout = logs_for(messages, pid, "stdout")
            self.assertIn("from print\n", stdout)
            self.assertIn("from child\n", stdout)
            self.assertIn("raw fd\n", stdout)
            self.assertEqual(messages[-1]["type"], "done")

    def test_setup_output_has_null_id_and_precedes_ready(self):
        worker = self.spawn("""
            import os, sys
            from cog import BasePredictor
            print("module import")
            class Predictor(BasePredictor):
                def setup(self):
                    print("in setup")
                    sys.stderr.write("partial")
                    os.write(2, b"fd2 setup\\n")
                def predict(self) -> str:
                    return "x"
            """)
        messages = worker.until_type("ready")
        self.assertIn("module import\nin setup\n", logs_for(messages, None, "stdout"))
        stderr = logs_for(messages, None, "stderr")
        self.assertIn("partial", stderr)
        self.assertIn("fd2 setup\n", stderr)

    def test_partial_lines_and_carriage_returns(self):
        worker = self.spawn("""
            import sys
            from cog import BasePredictor
            class Predictor(BasePredictor):
                def predict(self) -> str:
                    sys.stdout.write("10%\\r")
                    sys.stdout.write("50%\\r")
                    sys.stdout.write("no newline")
                    return "x"
            """)
        worker.start_ready()
        messages = worker.run("p1")
        self.assertEqual(logs_for(messages, "p1", "stdout"), "10%\r50%\rno newline")


class OutputsTest(WorkerTestCase):
    def test_generator_streams_each_item(self):
        worker = self.fixture("generator")
        ready = worker.start_ready()
        self.assertTrue(ready["predictor"]["is_generator"])
        messages = worker.run("p1", {"prefix": "t"})
        self.assertEqual(outputs(messages, "p1"), ["t0", "t1", "t2"])
        self.assertEqual([m["index"] for m in messages if m["type"] == "output"], [0, 1, 2])
        self.assertEqual(logs_for(messages, "p1"), "yielding 0\nyielding 1\nyielding 2\n")
        self.assertTrue(messages[-1]["is_stream"])

    def test_streaming_flag_and_concatenate_iterator(self):
        worker = self.fixture("streaming")
        ready = worker.start_ready()
        self.assertTrue(ready["predictor"]["streaming"])
        self.assertTrue(ready["signature"]["output"]["concatenate"])
        self.assertEqual(outputs(worker.run("p1", {"text": "a b"}), "p1"), ["a ", "b "])

    def test_typed_inputs_and_model_output(self):
        worker = self.fixture("typed")
        ready = worker.start_ready()
        by_name = {i["name"]: i for i in ready["signature"]["inputs"]}
        self.assertEqual(by_name["count"]["ge"], 1)
        self.assertEqual(by_name["mode"]["choices"], ["fast", "slow"])
        messages = worker.run("p1", {"scale": 2, "count": 3})
        self.assertEqual(outputs(messages, "p1"), [{"text": "hi", "count": 3, "scale": 2.0,
                                                    "flag": False, "mode": "fast",
                                                    "code": "ab12"}])

    def test_file_output(self):
        worker = self.fixture("files_out")
        worker.start_ready()
        messages = worker.run("p1", {})
        output = [m for m in messages if m["type"] == "output"][0]
        path = os.path.join(worker.tmp, "files_out.png")
        self.assertEqual(output["files"], [{"pointer": "", "path": path, "mime": "image/png"}])
        with open(path, "rb") as handle:
            self.assertTrue(handle.read().startswith(b"\x89PNG"))

    def test_list_none_path_input_secret_and_bad_outputs(self):
        worker = self.spawn("""
            from typing import List, Optional
            from cog import BasePredictor, Path, Secret, File, current_scope
            class Predictor(BasePredictor):
                def predict(self, kind: str, paths: List[Path] = None,
                            f: File = None, s: Optional[Secret] = None, x: float = 0.0):
                    if kind == "list":
                        return [1, "two"]
                    if kind == "none":
                        return None
                    if kind == "nan":
                        return float("nan")
                    if kind == "inputs":
                        current_scope().record_metric("tokens", 2, mode="incr")
                        current_scope().record_metric("ctx", current_scope().context["user"])
                        return {"types": [type(p).__name__ for p in paths],
                                "text": paths[0].read_text(), "file": f.read().decode(),
                                "secret": [str(s), s.get_secret_value()],
                                "x": type(x).__name__}
            """)
        worker.start_ready()
        messages = worker.run("p1", {"kind": "list"})
        self.assertEqual(outputs(messages, "p1"), [1, "two"])
        self.assertTrue(messages[-1]["is_stream"])
        messages = worker.run("p2", {"kind": "none"})
        self.assertEqual([m["type"] for m in messages], ["done"])
        messages = worker.run("p3", {"kind": "nan"})
        self.assertEqual(messages[-1]["type"], "failed")
        self.assertIn("Failed to serialize output", messages[-1]["error"])
        path = os.path.join(worker.dir, "in.txt")
        with open(path, "w") as handle:
            handle.write("file text")
        messages = worker.run("p4", {"kind": "inputs", "paths": [path], "f": path, "s": "pw",
                                     "x": 3}, context={"user": "u1"})
        self.assertEqual(outputs(messages, "p4"), [{
            "types": ["Path"], "text": "file text", "file": "file text",
            "secret": ["**********", "pw"], "x": "float"}])
        metrics = [(m["name"], m["value"], m["mode"]) for m in messages if m["type"] == "metric"]
        self.assertEqual(metrics, [("tokens", 2, "increment"), ("ctx", "u1", "replace")])

    def test_secret_fixture(self):
        worker = self.fixture("secret")
        worker.start_ready()
        messages = worker.run("p1", {"token": "hunter2"})
        self.assertEqual(outputs(messages, "p1"), [True])
        self.assertNotIn("hunter2", logs_for(messages, "p1"))


class FailureTest(WorkerTestCase):
    def test_setup_failure(self):
        worker = self.fixture("setup_fails")
        messages = worker.until_type("setup_failed")
        failure = messages[-1]
        self.assertEqual(failure["error"], "RuntimeError: boom")
        self.assertIn("Traceback", failure["traceback"])
        self.assertIn("loading\n", logs_for(messages, None, "stdout"))
        self.assertIn("RuntimeError: boom", logs_for(messages, None, "stderr"))
        worker.send({"type": "shutdown"})
        self.assertEqual(worker.wait(), 0)

    def test_unsupported_annotation_fails_setup_naming_the_parameter(self):
        worker = self.spawn("""
            from cog import BasePredictor
            class Predictor(BasePredictor):
                def predict(self, z: complex) -> str:
                    return ""
            """)
        failure = worker.start_ready()
        self.assertEqual(failure["type"], "setup_failed")
        self.assertIn("input 'z'", failure["error"])

    def test_concurrency_above_one_needs_async(self):
        worker = self.fixture("echo", concurrency=2)
        failure = worker.start_ready()
        self.assertEqual(failure["type"], "setup_failed")
        self.assertEqual(failure["error"],
                         "COG_MAX_CONCURRENCY > 1 requires an async run() or predict() method")

    def test_predict_raises(self):
        worker = self.fixture("raises")
        worker.start_ready()
        messages = worker.run("p1")
        self.assertEqual(messages[-1], {"v": 1, "type": "failed", "id": "p1",
                                        "error": "ValueError: this is a value error"})
        self.assertIn("about to fail\n", logs_for(messages, "p1", "stdout"))
        self.assertIn("Traceback", logs_for(messages, "p1", "stderr"))

    def test_sys_exit_fails_the_prediction_and_the_worker_survives(self):
        worker = self.spawn("""
            import sys
            from cog import BasePredictor
            class Predictor(BasePredictor):
                def predict(self, code: int = 1) -> str:
                    if code:
                        sys.exit(code)
                    return "alive"
            """)
        worker.start_ready()
        messages = worker.run("p1", {"code": 3})
        self.assertEqual(messages[-1]["error"], "SystemExit: 3")
        self.assertEqual(outputs(worker.run("p2", {"code": 0}), "p2"), ["alive"])


class CancelTest(WorkerTestCase):
    def _cancel(self, worker, pid, inputs=None):
        worker.predict(pid, inputs or {})
        worker.until(lambda m: m["type"] == "log" and m["id"] == pid)
        started = time.monotonic()
        worker.send({"type": "cancel", "id": pid})
        messages = worker.until(lambda m: m["type"] in TERMINAL and m["id"] == pid,
                                CANCEL_BOUND)
        self.assertLess(time.monotonic() - started, CANCEL_BOUND)
        self.assertEqual(messages[-1]["type"], "canceled")

    def test_cancel_interrupts_time_sleep(self):
        worker = self.fixture("slow")
        worker.start_ready()
        self._cancel(worker, "p1", {"seconds": 30})
        worker.send({"type": "cancel", "id": "p1"})  # harmless when finished
        messages = worker.run("p2", {"seconds": 0})
        self.assertEqual(outputs(messages, "p2"), ["woke up"])

    def test_cancel_interrupts_a_busy_loop(self):
        worker = self.fixture("busy")
        worker.start_ready()
        self._cancel(worker, "p1")

    def test_cancel_before_predict_is_remembered(self):
        worker = self.fixture("echo")
        worker.start_ready()
        worker.send({"type": "cancel", "id": "p1"})
        messages = worker.run("p1", {"text": "x"})
        self.assertEqual(messages[-1]["type"], "canceled")

    def test_swallowed_cancelation_with_normal_return_succeeds(self):
        worker = self.spawn("""
            import time
            from cog import BasePredictor, CancelationException
            class Predictor(BasePredictor):
                def predict(self) -> str:
                    print("go")
                    try:
                        time.sleep(30)
                    except CancelationException:
                        return "cleaned up"
                    return "slept"
            """)
        worker.start_ready()
        worker.predict("p1")
        worker.until_type("log")
        worker.send({"type": "cancel", "id": "p1"})
        messages = worker.until(lambda m: m["type"] in TERMINAL, CANCEL_BOUND)
        self.assertEqual(messages[-1]["type"], "done")
        self.assertEqual(outputs(messages, "p1"), ["cleaned up"])

    def test_shutdown_cancels_the_running_prediction(self):
        worker = self.fixture("slow")
        worker.start_ready()
        worker.predict("p1", {"seconds": 30})
        worker.until(lambda m: m["type"] == "log")
        worker.send({"type": "shutdown"})
        messages = worker.until(lambda m: m["type"] in TERMINAL, CANCEL_BOUND)
        self.assertEqual(messages[-1]["type"], "canceled")
        self.assertEqual(worker.wait(CANCEL_BOUND), 0)


def _lines(*messages):
    """Several protocol lines in one write."""
    return b"".join(json.dumps(m, separators=(",", ":")).encode() + b"\n" for m in messages)


class ControlPipeTest(WorkerTestCase):
    """The pipe moves between the main thread and the reader (cog/_control.py)."""

    def test_cancel_right_behind_predict_in_the_same_write(self):
        worker = self.fixture("slow")
        worker.start_ready()
        out = os.path.join(worker.dir, "out", "p1")
        os.makedirs(out, exist_ok=True)
        predict = {"v": 1, "type": "predict", "id": "p1", "input": {"seconds": 30},
                   "context": {}, "output_dir": out}
        worker.send_raw(_lines(predict, {"v": 1, "type": "cancel", "id": "p1"}))
        messages = worker.until(lambda m: m["type"] in TERMINAL, CANCEL_BOUND)
        self.assertEqual(messages[-1]["type"], "canceled")

    def test_cancel_sent_before_the_reader_takes_the_pipe(self):
        # Sent at once (no wait for the prediction's first log): the main thread is
        # busy and the reader thread has not taken the pipe over yet.
        worker = self.fixture("slow")
        worker.start_ready()
        for pid in ("p1", "p2", "p3"):
            worker.predict(pid, {"seconds": 30})
            worker.send({"type": "cancel", "id": pid})
            messages = worker.until(
                lambda m, pid=pid: m["type"] in TERMINAL and m["id"] == pid, CANCEL_BOUND)
            self.assertEqual(messages[-1]["type"], "canceled")
        self.assertEqual(outputs(worker.run("p4", {"seconds": 0}), "p4"), ["woke up"])

    def test_healthcheck_is_answered_while_a_sync_prediction_runs(self):
        worker = self.fixture("slow")
        worker.start_ready()
        worker.predict("p1", {"seconds": 30})
        worker.until(lambda m: m["type"] == "log")
        started = time.monotonic()
        worker.send({"type": "healthcheck", "id": "h1"})
        result = worker.until_type("healthcheck_result", CANCEL_BOUND)[-1]
        self.assertEqual(result["status"], "healthy")
        self.assertLess(time.monotonic() - started, CANCEL_BOUND)
        worker.send({"type": "cancel", "id": "p1"})
        messages = worker.until(lambda m: m["type"] in TERMINAL, CANCEL_BOUND)
        self.assertEqual(messages[-1]["type"], "canceled")

    def test_many_short_predictions_with_interleaved_messages_lose_nothing(self):
        worker = self.fixture("echo")
        worker.start_ready()
        for i in range(200):
            worker.predict("p{}".format(i), {"text": str(i)})
            if i % 7 == 0:
                worker.send({"type": "healthcheck", "id": "h{}".format(i)})
        terminals = {}
        healthchecks = set()
        while len(terminals) < 200 or len(healthchecks) < 29:
            message = worker.recv(CANCEL_BOUND)
            if message["type"] in TERMINAL:
                terminals[message["id"]] = message["type"]
            elif message["type"] == "healthcheck_result":
                healthchecks.add(message["id"])
        self.assertEqual(set(terminals.values()), {"done"})
        self.assertEqual(outputs(worker.seen, "p199"), ["hello 199"])

    def test_a_late_cancel_of_a_short_prediction_does_not_cancel_a_reused_id(self):
        # The cancel is read after the 10 ms prediction ended (the reader thread takes
        # the pipe only from 20-40 ms on): it must not stay around for the id's next use.
        worker = self.fixture("slow")
        worker.start_ready()
        for _ in range(3):
            worker.predict("x", {"seconds": 0.01})
            time.sleep(0.002)
            worker.send({"type": "cancel", "id": "x"})
            first = worker.until(lambda m: m["type"] in TERMINAL, CANCEL_BOUND)[-1]
            self.assertIn(first["type"], ("done", "canceled"))
            time.sleep(0.05)  # the late cancel has been read by now
            again = worker.run("x", {"seconds": 0})
            self.assertEqual(again[-1]["type"], "done", again)
        # ...while a cancel sent before its predict still cancels it.
        worker.send({"type": "cancel", "id": "y"})
        self.assertEqual(worker.run("y", {"seconds": 0})[-1]["type"], "canceled")

    def test_async_cancel_before_the_first_step(self):
        worker = self.fixture("async_echo", concurrency=4)
        worker.start_ready()
        out = os.path.join(worker.dir, "out", "a1")
        os.makedirs(out, exist_ok=True)
        predict = {"v": 1, "type": "predict", "id": "a1", "input": {"text": "x"},
                   "context": {}, "output_dir": out}
        worker.send_raw(_lines(predict, {"v": 1, "type": "cancel", "id": "a1"}))
        messages = worker.until(lambda m: m["type"] in TERMINAL, CANCEL_BOUND)
        self.assertEqual(messages[-1], {"v": 1, "type": "canceled", "id": "a1"})
        # the slot was freed: four more run at once
        for i in range(4):
            worker.predict("b{}".format(i), {"text": str(i)})
        ends = [worker.until(lambda m: m["type"] in TERMINAL, CANCEL_BOUND)[-1]
                for _ in range(4)]
        self.assertEqual(sorted(m["type"] for m in ends), ["done"] * 4)


class AsyncTest(WorkerTestCase):
    def test_concurrent_predictions_keep_their_logs(self):
        worker = self.fixture("async_echo", concurrency=4)
        ready = worker.start_ready()
        self.assertTrue(ready["predictor"]["is_async"])
        self.assertEqual(ready["predictor"]["concurrent_max"], 4)
        worker.predict("a", {"text": "A", "sleep": 0.5})
        worker.predict("b", {"text": "B", "sleep": 0.1})
        messages = worker.until(lambda m: m["type"] == "done" and m["id"] == "a")
        done_order = [m["id"] for m in messages if m["type"] == "done"]
        self.assertEqual(done_order, ["b", "a"])
        self.assertEqual(logs_for(messages, "a"), "start A\nend A\n")
        self.assertEqual(logs_for(messages, "b"), "start B\nend B\n")
        self.assertEqual(outputs(messages, "a"), ["echo A"])

    def test_async_cancel_and_async_generator(self):
        worker = self.spawn("""
            import asyncio
            from typing import AsyncIterator
            from cog import BasePredictor
            class Predictor(BasePredictor):
                async def predict(self, n: int = 2, wait: float = 0) -> AsyncIterator[int]:
                    print("begin")
                    await asyncio.sleep(wait)
                    for i in range(n):
                        yield i
            """, concurrency=2)
        worker.start_ready()
        messages = worker.run("g", {"n": 3})
        self.assertEqual(outputs(messages, "g"), [0, 1, 2])
        self.assertTrue(messages[-1]["is_stream"])
        worker.predict("c", {"wait": 30})
        worker.until(lambda m: m["type"] == "log" and m["id"] == "c")
        worker.send({"type": "cancel", "id": "c"})
        messages = worker.until(lambda m: m["type"] in TERMINAL, CANCEL_BOUND)
        self.assertEqual(messages[-1], {"v": 1, "type": "canceled", "id": "c"})


class SetupFailureShutdownTest(WorkerTestCase):
    def test_shutdown_after_a_failed_async_setup_exits(self):
        worker = self.spawn("""
            from cog import BasePredictor
            class Predictor(BasePredictor):
                async def setup(self) -> None:
                    raise RuntimeError("no weights")
                async def predict(self) -> str:
                    return "x"
            """)
        self.assertEqual(worker.start_ready()["type"], "setup_failed")
        worker.send({"type": "shutdown"})
        self.assertEqual(worker.wait(CANCEL_BOUND), 0)


class HealthcheckTest(WorkerTestCase):
    def _check(self, mode, timeout=15.0):
        worker = self.fixture("healthcheck", env={"HEALTHCHECK_MODE": mode})
        ready = worker.start_ready()
        self.assertTrue(ready["predictor"]["has_healthcheck"])
        worker.send({"type": "healthcheck", "id": "h1"})
        return worker.until_type("healthcheck_result", timeout)[-1]

    def test_healthy(self):
        self.assertEqual(self._check("true"), {"v": 1, "type": "healthcheck_result", "id": "h1",
                                               "status": "healthy"})
        self.assertEqual(self._check("none")["status"], "healthy")

    def test_false(self):
        result = self._check("false")
        self.assertEqual(result["error"],
                         "Healthcheck failed: user-defined healthcheck returned False")

    def test_raises(self):
        self.assertEqual(self._check("raise")["error"],
                         "Healthcheck failed: RuntimeError: Critical system error")

    def test_timeout(self):
        self.assertEqual(self._check("slow", timeout=20)["error"],
                         "Healthcheck failed: user-defined healthcheck timed out after 5.0 seconds")

    def test_no_healthcheck_is_healthy(self):
        worker = self.fixture("echo")
        worker.start_ready()
        worker.send({"type": "healthcheck", "id": "h"})
        self.assertEqual(worker.until_type("healthcheck_result")[-1]["status"], "healthy")

    def test_async_healthcheck(self):
        worker = self.spawn("""
            from cog import BasePredictor
            class Predictor(BasePredictor):
                async def predict(self) -> str:
                    return "x"
                async def healthcheck(self):
                    return False
            """)
        worker.start_ready()
        worker.send({"type": "healthcheck", "id": "h"})
        self.assertEqual(worker.until_type("healthcheck_result")[-1]["error"],
                         "Healthcheck failed: user-defined healthcheck returned False")


if __name__ == "__main__":
    unittest.main()
