"""Reload in place: new predictor code keeps setup()'s state, or a reason to run it again."""

import os
import tempfile
import textwrap
import unittest

from ._harness import outputs
from .test_worker import WorkerTestCase

BASE = """
import os
from cog import BasePredictor
{imports}
with open("loads.txt", "a") as handle:  # module-level code: runs once per import
    handle.write("load\\n")
{top}

class Predictor(BasePredictor):
    def setup(self):
        with open("setups.txt", "a") as handle:
            handle.write("setup\\n")
        self.weights = {weights!r}
        {setup_extra}

    def _load(self):
        return {load!r}

    {predict}
"""


def source(predict="def predict(self) -> str:\n        return 'v1 ' + self.weights",
           weights="w", load="l", setup_extra="", top="", imports=""):
    return textwrap.dedent(BASE).format(
        predict=predict, weights=weights, load=load, setup_extra=setup_extra, top=top,
        imports=imports)


class ReloadTest(WorkerTestCase):
    def start(self, text, **kwargs):
        worker = self.spawn(text, **kwargs)
        self.assertEqual(worker.start_ready()["type"], "ready")
        return worker

    def write(self, worker, text, name="predict.py"):
        with open(os.path.join(worker.dir, name), "w") as handle:
            handle.write(text)

    def reload(self, worker):
        self.reloads = getattr(self, "reloads", 0) + 1
        rid = "r{}".format(self.reloads)
        worker.send({"type": "reload", "id": rid})
        answer = worker.until(lambda m: m["type"] in ("reloaded", "reload_refused"))[-1]
        self.assertEqual(answer["id"], rid)
        return answer

    def count(self, worker, name):
        with open(os.path.join(worker.dir, name)) as handle:
            return len(handle.read().split())

    def answer(self, worker, pid, inputs=None):
        messages = worker.run(pid, inputs)
        self.assertEqual(messages[-1]["type"], "done", messages)
        return outputs(messages, pid)[0]

    def test_an_edit_to_predict_keeps_setup_state_and_runs_the_new_code(self):
        worker = self.start(source())
        self.assertEqual(self.answer(worker, "a"), "v1 w")
        self.write(worker, source(
            predict="def predict(self, n: int = 2) -> str:\n"
                    "        return 'v2 ' + self.weights * n + self.helper()\n\n"
                    "    def helper(self):\n        return '!'",
            top="def unused():\n    return 1"))
        answer = self.reload(worker)
        self.assertEqual(answer["type"], "reloaded", answer)
        self.assertIn("setup() did not run again", answer["reason"])
        self.assertEqual([i["name"] for i in answer["signature"]["inputs"]], ["n"])
        self.assertEqual(answer["predictor"]["method"], "predict")
        self.assertEqual(self.answer(worker, "b", {"n": 3}), "v2 www!")
        self.assertEqual(self.count(worker, "setups.txt"), 1, "setup() did not run again")
        self.assertEqual(self.count(worker, "loads.txt"), 1, "module-level code did not run again")
        # and again, from the swapped code
        self.write(worker, source(predict="def predict(self) -> str:\n"
                                          "        return 'v3 ' + self.weights"))
        self.assertEqual(self.reload(worker)["type"], "reloaded")
        self.assertEqual(self.answer(worker, "c"), "v3 w")
        self.assertEqual(self.count(worker, "setups.txt"), 1)

    def test_a_reload_with_nothing_changed_keeps_everything(self):
        worker = self.start(source())
        self.write(worker, "print('not imported by the predictor')\n", "unrelated.py")
        answer = self.reload(worker)
        self.assertEqual(answer["type"], "reloaded", answer)
        self.assertIn("nothing the predictor uses changed", answer["reason"])
        self.assertEqual(self.answer(worker, "a"), "v1 w")
        self.assertEqual(self.count(worker, "setups.txt"), 1)

    def refused(self, worker, text, reason, name="predict.py"):
        self.write(worker, text, name)
        answer = self.reload(worker)
        self.assertEqual(answer["type"], "reload_refused", answer)
        self.assertIn(reason, answer["reason"])
        self.assertEqual(self.answer(worker, "still"), "v1 w", "the old code still answers")

    def test_an_edit_to_setup_is_refused(self):
        worker = self.start(source())
        self.refused(worker, source(weights="other"), "setup() or what it depends on")

    def test_an_edit_to_a_method_setup_calls_is_refused(self):
        worker = self.start(source(setup_extra="self.extra = self._load()"))
        self.refused(worker, source(setup_extra="self.extra = self._load()", load="changed"),
                     "setup() or what it depends on")

    def test_an_edit_to_module_level_code_is_refused(self):
        worker = self.start(source(top="LIMIT = 1"))
        self.refused(worker, source(top="LIMIT = 2"), "module-level code changed")

    def project(self, files):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        for name, text in files.items():
            with open(os.path.join(directory.name, name), "w") as handle:
                handle.write(text)
        return self.start(None, project_dir=directory.name)

    def test_an_edit_to_an_imported_project_module_is_refused(self):
        worker = self.project({"helper.py": "VALUE = 1\n",
                               "predict.py": source(imports="import helper")})
        self.write(worker, "VALUE = 22\n", "helper.py")
        self.refused(worker, source(imports="import helper",
                                    predict="def predict(self) -> str:\n"
                                            "        return 'v2'"), "helper.py changed")

    def test_an_edit_to_cog_yaml_is_refused(self):
        worker = self.project({"cog.yaml": "run: predict.py:Predictor\n",
                               "predict.py": source()})
        self.write(worker, "run: predict.py:Predictor\nbuild:\n  gpu: false\n", "cog.yaml")
        self.refused(worker, source(predict="def predict(self) -> str:\n        return 'v2'"),
                     "cog.yaml changed")

    def test_code_that_does_not_parse_or_fails_to_load_is_refused(self):
        worker = self.start(source())
        self.refused(worker, source(predict="def predict(self) -> str:\n        return ("),
                     "the new code does not parse (SyntaxError")
        self.refused(worker, source(predict="@undefined_decorator\n"
                                            "    def predict(self) -> str:\n        return ''"),
                     "the new code failed to load (NameError")
        self.refused(worker, source(predict="async def predict(self) -> str:\n        return ''"),
                     "the predictor's sync or async changed (False -> True)")

    def test_an_async_predictor_reloads_in_place_too(self):
        worker = self.start("""
            from cog import BasePredictor
            class Predictor(BasePredictor):
                async def setup(self):
                    self.calls = 0
                async def predict(self) -> str:
                    self.calls += 1
                    return "a{}".format(self.calls)
            """)
        self.assertEqual(self.answer(worker, "a"), "a1")
        self.write(worker, textwrap.dedent("""
            from cog import BasePredictor
            class Predictor(BasePredictor):
                async def setup(self):
                    self.calls = 0
                async def predict(self, x: str = "b") -> str:
                    self.calls += 1
                    return x + str(self.calls)
            """))
        self.assertEqual(self.reload(worker)["type"], "reloaded")
        self.assertEqual(self.answer(worker, "b"), "b2", "the instance kept its state")

    def test_class_level_code_does_not_run_again_and_class_state_is_kept(self):
        text = textwrap.dedent("""
            from cog import BasePredictor
            def load():
                with open("class_loads.txt", "a") as handle:
                    handle.write("load\\n")
                return "tok"
            class Predictor(BasePredictor):
                tokenizer = load()
                def setup(self):
                    type(self).cache = ["warm"]
                def predict(self) -> str:
                    return "{}" + self.tokenizer + self.cache[0]
            """)
        worker = self.start(text.format("a"))
        self.assertEqual(self.answer(worker, "a"), "atokwarm")
        self.write(worker, text.format("b"))
        self.assertEqual(self.reload(worker)["type"], "reloaded")
        self.assertEqual(self.answer(worker, "b"), "btokwarm")
        self.assertEqual(self.count(worker, "class_loads.txt"), 1)

    def test_a_function_predictor_is_swapped_without_running_module_code_again(self):
        text = textwrap.dedent("""
            with open("loads.txt", "a") as handle:
                handle.write("load\\n")
            def helper():
                return "{}"
            def predict(x: int = 1) -> str:
                return helper() + str(x)
            """)
        worker = self.start(text.format("a"), ref="predict.py:predict")
        self.assertEqual(self.answer(worker, "a"), "a1")
        self.write(worker, text.format("b"))
        answer = self.reload(worker)
        self.assertEqual(answer["type"], "reloaded", answer)
        self.assertEqual(answer["predictor"]["kind"], "function")
        self.assertEqual(self.answer(worker, "b", {"x": 2}), "b2")
        self.assertEqual(self.count(worker, "loads.txt"), 1)

    def test_a_reload_before_setup_finished_is_refused(self):
        worker = self.spawn("""
            import time
            from cog import BasePredictor
            class Predictor(BasePredictor):
                def setup(self):
                    time.sleep(1)
                def predict(self) -> str:
                    return ""
            """)
        worker.until_type("hello")
        worker.send({"type": "reload", "id": "r1"})
        answer = worker.until_type("reload_refused")[-1]
        self.assertEqual(answer["reason"], "setup() has not finished")


if __name__ == "__main__":
    unittest.main()
