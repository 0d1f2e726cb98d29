"""Signature introspection: annotations -> protocol Type / Input objects."""

import sys
import textwrap
import types
import unittest
from typing import Any, AsyncIterator, Dict, Iterator, List, Literal, Optional, Union

from cog import (
    AsyncConcatenateIterator,
    BaseModel,
    ConcatenateIterator,
    File,
    Input,
    Path,
    Secret,
)
from cog._protocol import validate_input, validate_type
from cog._signature import SignatureError, describe_signature, describe_type
from cog.predictor import rewrite_field_info_defaults

try:
    from typing import Annotated
except ImportError:  # pragma: no cover
    Annotated = None  # type: ignore[assignment]


class Out(BaseModel):
    text: str
    file: Optional[Path]
    score: float = 0.0


def _inputs(fn, skip_first=False):
    sig = describe_signature(fn, skip_first)
    for i, item in enumerate(sig["inputs"]):
        validate_input(item, "inputs[{}]".format(i))
    validate_type(sig["output"])
    return {item["name"]: item for item in sig["inputs"]}, sig["output"]


class DescribeTypeTest(unittest.TestCase):
    def test_simple_types(self):
        self.assertEqual(describe_type(str), {"kind": "str"})
        self.assertEqual(describe_type(int), {"kind": "int"})
        self.assertEqual(describe_type(float), {"kind": "float"})
        self.assertEqual(describe_type(bool), {"kind": "bool"})
        self.assertEqual(describe_type(Path), {"kind": "path"})
        import pathlib

        self.assertEqual(describe_type(pathlib.Path), {"kind": "path"})
        self.assertEqual(describe_type(File), {"kind": "file"})
        self.assertEqual(describe_type(Secret), {"kind": "secret"})
        self.assertEqual(describe_type(Any), {"kind": "any"})
        self.assertEqual(describe_type(dict), {"kind": "any"})

    def test_containers(self):
        self.assertEqual(describe_type(List[Path]), {"kind": "list", "items": {"kind": "path"}})
        self.assertEqual(describe_type(list), {"kind": "list", "items": {"kind": "any"}})
        self.assertEqual(describe_type(Optional[int]),
                         {"kind": "optional", "inner": {"kind": "int"}})
        self.assertEqual(describe_type(Union[str, float, None]), {
            "kind": "optional", "inner": {"kind": "union", "members": [{"kind": "str"},
                                                                       {"kind": "float"}]}})
        self.assertEqual(describe_type(Dict[str, int], output=True),
                         {"kind": "dict", "values": {"kind": "int"}})
        self.assertEqual(describe_type(dict, output=True), {"kind": "dict", "values": None})

    def test_iterators(self):
        self.assertEqual(describe_type(Iterator[str], True),
                         {"kind": "iterator", "items": {"kind": "str"}, "concatenate": False,
                          "async": False})
        self.assertEqual(describe_type(AsyncIterator[int], True)["async"], True)
        concat = describe_type(ConcatenateIterator[str], True)
        self.assertEqual((concat["concatenate"], concat["async"]), (True, False))
        concat = describe_type(AsyncConcatenateIterator[str], True)
        self.assertEqual((concat["concatenate"], concat["async"]), (True, True))

    def test_objects(self):
        self.assertEqual(describe_type(Out, True), {
            "kind": "object", "name": "Out", "fields": [
                {"name": "text", "type": {"kind": "str"}, "required": True},
                {"name": "file", "type": {"kind": "optional", "inner": {"kind": "path"}},
                 "required": False},
                {"name": "score", "type": {"kind": "float"}, "required": False},
            ]})

    def test_opaque(self):
        from cog import Opaque

        self.assertEqual(describe_type(Annotated[object, Opaque]), {"kind": "any"})
        self.assertEqual(describe_type(Annotated[int, "doc"]), {"kind": "int"})

    def test_unsupported(self):
        with self.assertRaises(SignatureError):
            describe_type(complex)

    @unittest.skipIf(sys.version_info < (3, 10), "PEP 604 needs Python 3.10")
    def test_pep604(self):
        tp = eval("int | None")
        self.assertEqual(describe_type(tp), {"kind": "optional", "inner": {"kind": "int"}})
        tp = eval("str | float")
        self.assertEqual(describe_type(tp)["kind"], "union")
        tp = eval("list[Path] | None")
        self.assertEqual(describe_type(tp), {"kind": "optional", "inner": {
            "kind": "list", "items": {"kind": "path"}}})


class DescribeSignatureTest(unittest.TestCase):
    def test_inputs_with_constraints_in_declaration_order(self):
        class P:
            def predict(
                self,
                text: str,
                width: int = Input(default=512, description="Output width", ge=256, le=1024),
                mode: str = Input(default="fast", choices=["fast", "slow"], deprecated=True),
                code: str = Input(regex="^a", min_length=1, max_length=9),
                image: Path = Input(accept="image/*"),
                scale: float = 1.5,
            ) -> str:
                return text

        inputs, output = _inputs(P.predict, skip_first=True)
        self.assertEqual(list(inputs), ["text", "width", "mode", "code", "image", "scale"])
        self.assertEqual(output, {"kind": "str"})
        self.assertEqual(inputs["text"]["default_given"], False)
        self.assertIsNone(inputs["text"]["default"])
        self.assertEqual(inputs["width"], {
            "name": "width", "type": {"kind": "int"}, "default_given": True, "default": 512,
            "description": "Output width", "ge": 256, "le": 1024, "min_length": None,
            "max_length": None, "regex": None, "choices": None, "deprecated": False,
            "accept": None})
        self.assertEqual(inputs["mode"]["choices"], ["fast", "slow"])
        self.assertTrue(inputs["mode"]["deprecated"])
        self.assertEqual((inputs["code"]["regex"], inputs["code"]["min_length"],
                          inputs["code"]["max_length"], inputs["code"]["default_given"]),
                         ("^a", 1, 9, False))
        self.assertEqual(inputs["image"]["accept"], "image/*")
        self.assertEqual(inputs["scale"]["default"], 1.5)

    def test_optional_secret_and_none_defaults(self):
        def predict(note: Optional[str], api_key: Secret = Input(default=None),
                    seed: int = Input(default=None), tags: Optional[List[str]] = None,
                    plain: int = None) -> str:  # type: ignore[assignment]
            return ""

        inputs, _ = _inputs(predict)
        self.assertEqual(inputs["note"]["type"], {"kind": "optional", "inner": {"kind": "str"}})
        self.assertFalse(inputs["note"]["default_given"])
        self.assertEqual(inputs["api_key"]["type"], {"kind": "secret"})
        self.assertTrue(inputs["api_key"]["default_given"])
        self.assertEqual(inputs["seed"]["type"], {"kind": "int"})
        # Python <= 3.10 would add an implicit Optional for "= None"; we do not.
        self.assertEqual(inputs["plain"]["type"], {"kind": "int"})
        self.assertEqual(inputs["tags"]["type"]["kind"], "optional")

    def test_literal_maps_to_choices(self):
        def predict(size: Literal["s", "m"] = "s") -> str:
            return size

        inputs, _ = _inputs(predict)
        self.assertEqual(inputs["size"]["type"], {"kind": "str"})
        self.assertEqual(inputs["size"]["choices"], ["s", "m"])

    def test_outputs(self):
        def gen() -> Iterator[str]:
            yield ""

        def model() -> Out:
            return Out(text="")

        def no_annotation():
            return 1

        self.assertEqual(_inputs(gen)[1]["kind"], "iterator")
        self.assertEqual(_inputs(model)[1]["kind"], "object")
        self.assertEqual(_inputs(no_annotation)[1], {"kind": "any"})

    def test_future_annotations(self):
        module = types.ModuleType("future_mod")
        source = textwrap.dedent("""
            from __future__ import annotations
            from typing import Optional
            from cog import Input, Path
            def predict(image: Path, n: Optional[int] = Input(default=None, ge=0),
                        words: list[str] = None) -> list[Path]:
                return []
        """)
        exec(compile(source, "future_mod.py", "exec"), module.__dict__)
        inputs, output = _inputs(module.predict)
        self.assertEqual(inputs["image"]["type"], {"kind": "path"})
        self.assertEqual(inputs["n"]["type"], {"kind": "optional", "inner": {"kind": "int"}})
        self.assertEqual(inputs["n"]["ge"], 0)
        self.assertEqual(output, {"kind": "list", "items": {"kind": "path"}})

    def test_errors_name_the_parameter(self):
        def bad(x: complex) -> str:
            return ""

        def missing(x) -> str:
            return ""

        def star(*args: str) -> str:
            return ""

        with self.assertRaisesRegex(SignatureError, "input 'x'"):
            describe_signature(bad)
        with self.assertRaisesRegex(SignatureError, "input 'x' has no type annotation"):
            describe_signature(missing)
        with self.assertRaisesRegex(SignatureError, "args"):
            describe_signature(star)

    def test_model_inputs_are_refused_naming_the_input_and_the_allowed_types(self):
        import dataclasses

        @dataclasses.dataclass
        class Box:
            size: int

        class Sub(dict):
            pass

        def model(config: Out) -> str:
            return ""

        def optional_model(config: Optional[Out] = None) -> str:
            return ""

        def model_list(configs: List[Out]) -> str:
            return ""

        def dataclass_input(box: Box) -> str:
            return ""

        def dict_subclass(d: Sub) -> str:
            return ""

        for fn, name in [(model, "config"), (optional_model, "config"), (model_list, "configs"),
                         (dataclass_input, "box"), (dict_subclass, "d")]:
            with self.assertRaises(SignatureError) as ctx:
                describe_signature(fn)
            message = str(ctx.exception)
            self.assertIn("input '{}'".format(name), message)
            self.assertIn("input types are str, int, float, bool, cog.Path", message)
        with self.assertRaisesRegex(SignatureError, "BaseModel .* only supported as an output"):
            describe_signature(model)

    def test_a_basemodel_output_is_still_accepted(self):
        def predict(text: str) -> Out:
            return Out(text=text)

        self.assertEqual(_inputs(predict)[1]["kind"], "object")

    def test_unions_with_files_or_secrets_are_refused_as_inputs(self):
        def path_or_str(x: Union[Path, str]) -> str:
            return ""

        def optional_path(x: Optional[Path] = None) -> str:
            return ""

        with self.assertRaisesRegex(SignatureError, "input 'x': unsupported union .*cog.Path"):
            describe_signature(path_or_str)
        self.assertEqual(_inputs(optional_path)[0]["x"]["type"]["kind"], "optional")

    def test_legacy_none_default_on_a_plain_type_is_described_as_given(self):
        def predict(image: Path = None, x: str = Input(default=None)) -> str:  # type: ignore
            return ""

        inputs, _ = _inputs(predict)
        for name, kind in (("image", "path"), ("x", "str")):
            self.assertEqual(inputs[name]["type"], {"kind": kind})
            self.assertTrue(inputs[name]["default_given"])
            self.assertIsNone(inputs[name]["default"])

    def test_constraints_that_do_not_fit_are_refused_with_cogs_wording(self):
        cases = [
            (str, Input(ge=0), "incompatible input type for ge/le: x: str"),
            (int, Input(default=0, ge=10), "invalid default for x: int: must be at minimum 10"),
            (float, Input(default=5.5, le=1), "invalid default for x: float: must be at maximum 1"),
            (List[int], Input(default=[1, 20], le=10),
             r"invalid default for x: List\[int\]: must be at maximum 10"),
            (int, Input(min_length=1), "incompatible input type for min_length/max_length: x: int"),
            (str, Input(default="foo", min_length=10),
             "default='foo' conflicts with min_length=10 for input: x: str"),
            (str, Input(default="foolish", max_length=3),
             "default='foolish' conflicts with max_length=3 for input: x: str"),
            (int, Input(default=0, regex="a"), "incompatible input type for regex: x: int"),
            (str, Input(default="foo", regex="bar.*"),
             "default='foo' not a regex match for input: x: str"),
            (str, Input(regex="("), r"invalid regex '\(' for input: x: str: .*"),
            (bool, Input(choices=[True, False]), "incompatible input type for choices: x: bool"),
            (str, Input(choices=["a"]), r"choices=\['a'\] must have >= 2 elements: x: str"),
            (int, Input(choices=[0, 1], ge=0), "choices and ge/le are mutually exclusive: x: int"),
            (str, Input(choices=["a", "b"], min_length=1),
             "choices and min_length/max_length are mutually exclusive: x: str"),
            (str, Input(choices=["a", 0]), "not all choices have the same type as input: x: str"),
            (str, Input(accept="image/*"), "accept is only valid on Path or File inputs: x: str"),
        ]
        for annotation, info, message in cases:
            namespace = {"T": annotation, "info": info}
            exec("def predict(x: T = info) -> str:\n    return ''", namespace)
            with self.subTest(message=message):
                with self.assertRaisesRegex(SignatureError, "^" + message + "$"):
                    describe_signature(namespace["predict"])

    def test_constraints_that_fit_are_accepted(self):
        def predict(
            n: int = Input(default=5, ge=1, le=10),
            xs: List[float] = Input(default=[0.5], ge=0),
            s: str = Input(default="ab12", regex="[0-9]+$", min_length=1, max_length=9),
            mode: str = Input(default="fast", choices=["fast", "slow"]),
            size: float = Input(default=0.5, choices=[0.5, 1]),
            image: Optional[Path] = Input(default=None, accept="image/*"),
            files: List[Path] = Input(accept=".txt"),
            seed: int = Input(default=None, ge=0),
        ) -> str:
            return ""

        inputs, _ = _inputs(predict)
        self.assertEqual(len(inputs), 8)

    def test_rewrite_field_info_defaults(self):
        def predict(a: int = Input(default=3), b: str = Input(), *, c: int = Input(default=1)):
            return a, b, c

        describe_signature(predict)
        rewrite_field_info_defaults(predict)
        self.assertEqual(predict(), (3, None, 1))


if __name__ == "__main__":
    unittest.main()
