"""The public cog API: Input/FieldInfo, Secret, BaseModel, Path, decorators, metrics."""

import io
import pathlib
import pickle
import sys
import unittest
from typing import List, Optional

import cog
from cog import BaseModel, FieldInfo, Input, Path, Secret, concurrent, current_scope, streaming
from cog._scope import Scope, set_sync_scope, validate_metric_name
from cog.input import NO_DEFAULT
from cog.types import URLPath, get_filename


class InputTest(unittest.TestCase):
    def test_input_without_default_uses_the_sentinel(self):
        info = Input(description="d")
        self.assertIsInstance(info, FieldInfo)
        self.assertIs(info.default, NO_DEFAULT)
        self.assertFalse(info.has_default)
        self.assertNotEqual(Input(), Input(default=None))
        self.assertTrue(Input(default=None).has_default)

    def test_default_factory_raises_type_error(self):
        with self.assertRaises(TypeError):
            Input(default_factory=list)

    def test_field_info_is_frozen(self):
        with self.assertRaises(Exception):
            Input(default=1).default = 2  # type: ignore[misc]


class SecretTest(unittest.TestCase):
    def test_str_and_repr_mask_the_value(self):
        secret = Secret("hunter2")
        self.assertEqual(str(secret), "**********")
        self.assertEqual(repr(secret), "Secret(**********)")
        self.assertEqual(secret.get_secret_value(), "hunter2")
        self.assertEqual(str(Secret(None)), "")


class BaseModelTest(unittest.TestCase):
    def test_subclasses_are_dataclasses_with_optional_defaulting_to_none(self):
        class Output(BaseModel):
            file: Optional[Path]
            score: float
            tags: List[str]

        out = Output(score=1.5, tags=["a"])
        self.assertIsNone(out.file)
        self.assertEqual(out.score, 1.5)
        self.assertEqual(Output(Path("x"), 2.0, []).file, Path("x"))
        with self.assertRaises(TypeError):
            Output(file=None)  # missing score and tags
        with self.assertRaises(TypeError):
            Output(score=1, tags=[], nope=1)

    def test_auto_dataclass_false_leaves_the_class_alone(self):
        class Plain(BaseModel, auto_dataclass=False):
            x: int

        import dataclasses

        self.assertFalse(dataclasses.is_dataclass(Plain))

    @unittest.skipIf(sys.version_info < (3, 10), "PEP 604 needs Python 3.10")
    def test_pep604_optional_defaults_to_none(self):
        namespace = {"BaseModel": BaseModel}
        exec("class O(BaseModel):\n    a: int | None\n    b: str\n", namespace)
        self.assertIsNone(namespace["O"](b="x").a)


class PathTest(unittest.TestCase):
    def test_path_is_a_posix_path_whose_derivations_keep_the_type(self):
        path = Path("a/b.txt")
        self.assertIsInstance(path, pathlib.PosixPath)
        self.assertEqual(path.name, "b.txt")
        self.assertIsInstance(path.parent, Path)
        self.assertEqual(str(path.with_suffix(".png")), "a/b.png")
        self.assertEqual(pickle.loads(pickle.dumps(path)), path)

    def test_validate(self):
        self.assertIsInstance(Path.validate("/tmp/x"), Path)
        url_path = Path.validate("https://example.com/a/cat.jpg")
        self.assertIsInstance(url_path, URLPath)
        self.assertEqual(str(url_path), "https://example.com/a/cat.jpg")
        self.assertEqual(url_path.name, "cat.jpg")

    def test_urlpath_converts_data_urls_to_a_file_ending_in_the_filename(self):
        url_path = Path.validate("data:text/plain;base64,aGVsbG8=")
        local = url_path.convert()
        try:
            self.assertTrue(str(local).endswith(".txt"))
            self.assertEqual(local.read_text(), "hello")
        finally:
            local.unlink()

    def test_get_filename(self):
        self.assertEqual(get_filename("https://x.com/a/b%20c.png?x=1"), "b c.png")
        self.assertEqual(get_filename("data:image/png;base64,AAAA"), "file.png")
        long_name = get_filename("https://x.com/" + "a" * 300 + ".png")
        self.assertTrue(long_name.endswith("~.png"))
        self.assertLessEqual(len(long_name.encode()), 200)

    def test_file_validate(self):
        handle = cog.File.validate("data:text/plain;base64,aGVsbG8=")
        self.assertEqual(handle.read(), b"hello")
        with self.assertRaises(ValueError):
            cog.File.validate("ftp://x/y")
        self.assertIsInstance(cog.File.validate(io.BytesIO(b"x")), io.BytesIO)


class DecoratorTest(unittest.TestCase):
    def test_streaming_both_forms(self):
        @streaming
        def a():
            pass

        @streaming()
        def b():
            pass

        self.assertTrue(a.__cog_streaming__)
        self.assertTrue(b.__cog_streaming__)

    def test_concurrent(self):
        @concurrent(max=4)
        async def a():
            pass

        @concurrent
        async def b():
            pass

        self.assertEqual(a.__cog_concurrent_max__, 4)
        self.assertIsNone(b.__cog_concurrent_max__)
        with self.assertRaises(TypeError):
            concurrent(max=True)
        with self.assertRaises(ValueError):
            concurrent(max=0)
        with self.assertRaisesRegex(TypeError, "requires an async function"):
            concurrent(max=2)(lambda: None)
        self.assertEqual(concurrent(max=1)(lambda: None).__cog_concurrent_max__, 1)


class PublicSurfaceTest(unittest.TestCase):
    def test_names(self):
        for name in ("BaseRunner", "BasePredictor", "BaseModel", "Input", "FieldInfo", "Path",
                     "File", "URLFile", "URLPath", "Secret", "ConcatenateIterator",
                     "AsyncConcatenateIterator", "Opaque", "CancelationException",
                     "current_scope", "streaming", "concurrent"):
            self.assertTrue(hasattr(cog, name), name)
        self.assertEqual(cog.__version__, "0.22.0")
        self.assertTrue(issubclass(cog.CancelationException, BaseException))
        self.assertFalse(issubclass(cog.CancelationException, Exception))
        from cog.exceptions import CancelationException

        self.assertIs(CancelationException, cog.CancelationException)
        from cog import emit_metric

        emit_metric("x", 1)  # no-op outside a prediction
        self.assertTrue(issubclass(cog.ExperimentalFeatureWarning, FutureWarning))
        from cog import server

        self.assertFalse(server.active)

    def test_suppress_output(self):
        from cog.suppress_output import suppress_output

        with suppress_output():
            print("hidden")

    def test_base_runner_forwards_predict_to_run(self):
        class P(cog.BasePredictor):
            def predict(self, x: int) -> int:
                return x + 1

        self.assertEqual(P().run(x=1), 2)


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.sent = []
        self.scope = Scope({"user": "u"}, lambda n, v, m: self.sent.append((n, v, m)))
        set_sync_scope(self.scope)

    def tearDown(self):
        set_sync_scope(None)

    def test_modes_are_spelled_for_the_wire(self):
        scope = current_scope()
        self.assertIs(scope, self.scope)
        self.assertEqual(scope.context, {"user": "u"})
        scope.record_metric("timing.preprocess", 0.25)
        scope.metrics.record("tokens", 1, mode="incr")
        scope.metrics.record("tokens", 2, mode="increment")
        scope.metrics.record("items", "a", mode="append")
        scope.metrics["flag"] = True
        del scope.metrics["flag"]
        scope.metrics["tokens"] = None
        self.assertEqual(self.sent, [
            ("timing.preprocess", 0.25, "replace"),
            ("tokens", 1, "increment"),
            ("tokens", 2, "increment"),
            ("items", "a", "append"),
            ("flag", True, "replace"),
            ("flag", None, "replace"),
            ("tokens", None, "replace"),
        ])

    def test_type_errors(self):
        metrics = current_scope().metrics
        with self.assertRaisesRegex(TypeError, r"^Invalid metric mode: 'x'\. Expected 'replace', "
                                    r"'incr', or 'append'\.$"):
            metrics.record("a", 1, mode="x")
        with self.assertRaisesRegex(TypeError, r"^Unsupported metric value type: bytes\. Expected "
                                    r"bool, int, float, str, list, or dict\.$"):
            metrics.record("a", b"x")
        with self.assertRaisesRegex(TypeError, r"^Increment mode requires int or float, got str$"):
            metrics.record("a", "x", mode="incr")
        metrics.record("k", 1)
        with self.assertRaisesRegex(TypeError, r"^Metric 'k' has type int, cannot set to str "
                                    r"without deleting first$"):
            metrics.record("k", "s")
        metrics.delete("k")
        metrics.record("k", "s")

    def test_name_validation_texts(self):
        cases = {
            "predict_time": "'predict_time' is reserved by the runtime",
            "cog.x": "the 'cog.' prefix is reserved for system metrics",
            "": "metric name must not be empty",
            "a" * 129: "metric name must be 128 characters or fewer (got 129 characters)",
            "a.b.c.d.e": "metric name must have at most 4 dot-separated segments (got 5)",
            ".a": "metric name must not start with a dot",
            "a.": "metric name must not end with a dot",
            "a..b": "metric name must not contain empty segments (consecutive dots)",
            "1a": "metric name segment '1a' must start with a letter",
            "a__b": "metric name segment 'a__b' must not contain consecutive underscores",
            "a-b": "metric name segment 'a-b' contains invalid character '-'",
            "ab_": "metric name segment 'ab_' must end with a letter or digit",
        }
        for name, text in cases.items():
            with self.subTest(name=name):
                with self.assertRaises(ValueError) as ctx:
                    validate_metric_name(name)
                self.assertEqual(str(ctx.exception), text)
                with self.assertRaises(ValueError):
                    current_scope().record_metric(name, 1)
        validate_metric_name("timing.pre_process2")

    def test_everything_is_a_no_op_outside_a_prediction(self):
        set_sync_scope(None)
        scope = current_scope()
        scope.record_metric("predict_time", b"bad", mode="nope")
        scope.metrics.delete("")
        self.assertEqual(scope.context, {})
        self.assertEqual(self.sent, [])


if __name__ == "__main__":
    unittest.main()
