"""Runtime signature introspection: predictor function -> protocol ``signature`` object.

Must run on the function BEFORE ``Input()`` defaults are rewritten (see
rewrite_field_info_defaults) so FieldInfo metadata and the sentinel are visible.

It also refuses what Cog refuses, with Cog's wording: input types Cog does not take
(a BaseModel is an output type only) and ``Input()`` constraints that do not fit the
type or that the default breaks. The server then fails setup (SETUP_FAILED) and
``cog build`` fails before it tags an image, both with the same message.
"""

import collections.abc
import dataclasses
import enum
import inspect
import io
import json
import os
import pathlib
import re
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple

from .input import NO_DEFAULT, FieldInfo
from .types import AsyncConcatenateIterator, ConcatenateIterator, File, Path, Secret

try:  # Python 3.10+
    from types import UnionType as _UnionType  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.9
    _UnionType = None  # type: ignore[assignment,misc]

_NONE = type(None)
_SIMPLE = {str: "str", int: "int", float: "float", bool: "bool"}
_SYNC_ITERATORS = (
    collections.abc.Iterator,
    collections.abc.Generator,
    collections.abc.Iterable,
)
_ASYNC_ITERATORS = (
    collections.abc.AsyncIterator,
    collections.abc.AsyncGenerator,
    collections.abc.AsyncIterable,
)

TypeDict = Dict[str, Any]


class SignatureError(TypeError):
    """The predictor signature uses something the worker cannot describe."""


#: What an input may be annotated with (the message of every refused input type).
ALLOWED_INPUT_TYPES = (
    "input types are str, int, float, bool, cog.Path, cog.File, cog.Secret, dict, a TypedDict, "
    "Any, Literal[...] or an Enum of str/int values, list[T] of those, Optional[T], and unions "
    "of str, int, float, bool, dict and list[T]"
)


def _is_opaque(meta: Any) -> bool:
    return type(meta).__name__ == "_OpaqueMarker"


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def _is_model(tp: Any) -> bool:
    if not isinstance(tp, type):
        return False
    if dataclasses.is_dataclass(tp):
        return True
    return hasattr(tp, "model_fields") or hasattr(tp, "__fields__")


def _union_members(tp: Any) -> Optional[Tuple[Any, ...]]:
    origin = typing.get_origin(tp)
    if origin is typing.Union or (_UnionType is not None and isinstance(tp, _UnionType)):
        return typing.get_args(tp)
    return None


def describe_type(tp: Any, output: bool = False) -> TypeDict:
    """Map an annotation to a protocol Type (raises SignatureError when unsupported)."""
    if tp is typing.Any or tp is inspect.Parameter.empty:
        return {"kind": "any"}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        inner, *meta = args
        if any(_is_opaque(m) for m in meta):
            if typing.get_origin(inner) in (list, List):
                return {"kind": "list", "items": {"kind": "any"}}
            return {"kind": "any"}
        return describe_type(inner, output)
    members = _union_members(tp)
    if members is not None:
        rest = [m for m in members if m is not _NONE]
        described = [describe_type(m, output) for m in rest]
        if not output and len(rest) > 1 and any(
            d["kind"] in ("path", "file", "secret") for d in described
        ):
            raise SignatureError(
                "unsupported union {}: a union input may not contain cog.Path, cog.File or "
                "cog.Secret; {}".format(_annotation_repr(tp), ALLOWED_INPUT_TYPES)
            )
        inner = described[0] if len(described) == 1 else {"kind": "union", "members": described}
        if len(rest) != len(members):
            return {"kind": "optional", "inner": inner}
        return inner
    if origin is typing.Literal:
        values = list(args)
        kinds = {_SIMPLE.get(type(v)) for v in values}
        if len(kinds) == 1 and None not in kinds:
            return {"kind": kinds.pop()}
        raise SignatureError("Literal values must all be str, int, float or bool")
    if tp in _SIMPLE:
        return {"kind": _SIMPLE[tp]}
    if tp is File or tp is io.IOBase:
        return {"kind": "file"}
    if tp is Secret:
        return {"kind": "secret"}
    # On Python <= 3.10, ``list[X]`` passes isinstance(..., type): require no origin.
    is_class = isinstance(tp, type) and origin is None
    if is_class and (issubclass(tp, (pathlib.PurePath, os.PathLike)) or tp is Path):
        return {"kind": "path"}
    if tp is list or tp is List:
        return {"kind": "list", "items": {"kind": "any"}}
    if origin is list:
        return {"kind": "list", "items": describe_type(args[0], output) if args else {"kind": "any"}}
    if tp is dict or tp is Dict or origin is dict:
        if not output:
            return {"kind": "any"}
        values = describe_type(args[1], output) if len(args) == 2 else None
        return {"kind": "dict", "values": values}
    if origin is not None and isinstance(origin, type):
        if issubclass(origin, (ConcatenateIterator, AsyncConcatenateIterator)) or origin in (
            _SYNC_ITERATORS + _ASYNC_ITERATORS
        ):
            is_async = issubclass(origin, AsyncConcatenateIterator) or origin in _ASYNC_ITERATORS
            concatenate = issubclass(origin, (ConcatenateIterator, AsyncConcatenateIterator))
            items = describe_type(args[0], output) if args else {"kind": "any"}
            return {"kind": "iterator", "items": items, "concatenate": concatenate, "async": is_async}
    if tp in (ConcatenateIterator, AsyncConcatenateIterator) or tp in (
        _SYNC_ITERATORS + _ASYNC_ITERATORS
    ):
        is_async = tp is AsyncConcatenateIterator or tp in _ASYNC_ITERATORS
        concatenate = tp in (ConcatenateIterator, AsyncConcatenateIterator)
        return {"kind": "iterator", "items": {"kind": "any"}, "concatenate": concatenate,
                "async": is_async}
    if is_class and _is_typeddict(tp):
        if not output:
            return {"kind": "any"}
        hints = typing.get_type_hints(tp, include_extras=True)
        required = getattr(tp, "__required_keys__", set(hints))
        return {
            "kind": "object",
            "name": tp.__name__,
            "fields": [
                {"name": n, "type": describe_type(_strip_required(h), True),
                 "required": n in required}
                for n, h in hints.items()
            ],
        }
    if is_class and _is_model(tp):
        if not output:
            raise SignatureError(
                "unsupported Cog type {}: a BaseModel (or dataclass) is only supported as an "
                "output type; {}".format(tp.__name__, ALLOWED_INPUT_TYPES)
            )
        return _describe_model(tp)
    if is_class and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        kinds = {_SIMPLE.get(type(v)) for v in values}
        if len(kinds) == 1 and None not in kinds:
            return {"kind": kinds.pop()}
    if output:
        raise SignatureError("unsupported type {}".format(_type_name(tp)))
    raise SignatureError(
        "unsupported Cog type {}; {}".format(_type_name(tp), ALLOWED_INPUT_TYPES)
    )


def _strip_required(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    name = getattr(origin, "_name", None) or getattr(origin, "__name__", "")
    if name in ("Required", "NotRequired"):
        return typing.get_args(tp)[0]
    return tp


def _describe_model(tp: type) -> TypeDict:
    hints = typing.get_type_hints(tp, include_extras=True)
    fields: List[Dict[str, Any]] = []
    if dataclasses.is_dataclass(tp):
        for field in dataclasses.fields(tp):
            annotation = hints.get(field.name, typing.Any)
            required = (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING  # type: ignore[misc]
                and _union_members(annotation) is None
            )
            fields.append({"name": field.name, "type": describe_type(annotation, True),
                           "required": bool(required)})
    else:
        model_fields = getattr(tp, "model_fields", None) or getattr(tp, "__fields__", {})
        for name, annotation in hints.items():
            if name.startswith("_") or (model_fields and name not in model_fields):
                continue
            info = model_fields.get(name) if model_fields else None
            is_required = getattr(info, "is_required", None)
            required = is_required() if callable(is_required) else bool(
                getattr(info, "required", True)
            )
            fields.append({"name": name, "type": describe_type(annotation, True),
                           "required": bool(required)})
    return {"kind": "object", "name": tp.__name__, "fields": fields}


def _annotation_repr(tp: Any) -> str:
    """``int``, ``List[str]``, ``Optional[Path]``: an annotation as Cog's messages show it."""
    if isinstance(tp, type) and typing.get_origin(tp) is None:
        return tp.__name__
    return repr(tp).replace("typing.", "")


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return "{}.{}".format(tp.__module__, tp.__qualname__) if tp.__module__ != "builtins" \
            else tp.__qualname__
    return repr(tp)


def _json_default(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) \
            else str(value)
    if isinstance(value, enum.Enum):
        return _json_default(value.value)
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return str(value)


def get_hints(fn: Callable[..., Any]) -> Dict[str, Any]:
    """``typing.get_type_hints`` without Python <=3.10's implicit Optional for ``= None``."""
    target = getattr(fn, "__func__", fn)
    saved_defaults = getattr(target, "__defaults__", None)
    saved_kwdefaults = getattr(target, "__kwdefaults__", None)
    try:
        try:
            target.__defaults__ = None
            target.__kwdefaults__ = None
        except (AttributeError, TypeError):
            pass
        return typing.get_type_hints(target, include_extras=True)
    finally:
        try:
            target.__defaults__ = saved_defaults
            target.__kwdefaults__ = saved_kwdefaults
        except (AttributeError, TypeError):
            pass


def describe_signature(fn: Callable[..., Any], skip_first: bool = False) -> Dict[str, Any]:
    """The protocol ``signature`` object for a predictor function."""
    try:
        hints = get_hints(fn)
    except Exception as err:  # noqa: BLE001 - report any resolution error clearly
        raise SignatureError(
            "could not resolve the type annotations of {}(): {}: {}".format(
                getattr(fn, "__name__", "predictor"), type(err).__name__, err
            )
        ) from err
    params = list(inspect.signature(fn).parameters.values())
    if skip_first and params:
        params = params[1:]
    inputs = []
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise SignatureError(
                "input '{}': *args and **kwargs are not supported in a predictor signature".format(
                    param.name
                )
            )
        inputs.append(_describe_input(param, hints))
    if "return" in hints:
        try:
            output = describe_type(hints["return"], output=True)
        except SignatureError as err:
            raise SignatureError("unsupported output type: {}".format(err)) from None
    else:
        output = {"kind": "any"}
    return {"inputs": inputs, "output": output}


def _describe_input(param: inspect.Parameter, hints: Dict[str, Any]) -> Dict[str, Any]:
    if param.name not in hints:
        raise SignatureError("input '{}' has no type annotation".format(param.name))
    annotation = hints[param.name]
    info = param.default if isinstance(param.default, FieldInfo) else None
    if info is not None:
        default_given = info.default is not NO_DEFAULT
        default = info.default if default_given else None
    elif param.default is inspect.Parameter.empty:
        default_given, default = False, None
    else:
        default_given, default = True, param.default
    try:
        described = describe_type(annotation)
    except SignatureError as err:
        raise SignatureError("input '{}': {}".format(param.name, err)) from None
    if info is not None:
        _check_constraints(param.name, annotation, described, info)
    choices = list(info.choices) if info is not None and info.choices is not None else None
    if choices is None:
        choices = _literal_choices(annotation)
    return {
        "name": param.name,
        "type": described,
        "default_given": default_given,
        "default": _json_default(default) if default_given else None,
        "description": info.description if info else None,
        "ge": info.ge if info else None,
        "le": info.le if info else None,
        "min_length": info.min_length if info else None,
        "max_length": info.max_length if info else None,
        "regex": info.regex if info else None,
        "choices": choices,
        "deprecated": bool(info.deprecated) if info else False,
        "accept": info.accept if info else None,
    }


def _literal_choices(annotation: Any) -> Optional[List[Any]]:
    members = _union_members(annotation)
    if members is not None:
        rest = [m for m in members if m is not _NONE]
        if len(rest) == 1:
            annotation = rest[0]
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [_json_default(m.value) for m in annotation]
    return None


def _check_constraints(name: str, annotation: Any, described: TypeDict, info: FieldInfo) -> None:
    """Cog's checks of ``Input()`` constraints against the type and the default."""
    base = described["inner"] if described["kind"] == "optional" else described
    repeated = base["kind"] == "list"
    kind = base["items"]["kind"] if repeated else base["kind"]
    where = "{}: {}".format(name, _annotation_repr(annotation))
    defaults: List[Any] = []
    if info.default is not NO_DEFAULT and info.default is not None:
        value = info.default
        if isinstance(value, enum.Enum):
            value = value.value
        if repeated and isinstance(value, (list, tuple)):
            defaults = list(value)
        elif not repeated:
            defaults = [value]

    if info.ge is not None or info.le is not None:
        if kind not in ("int", "float"):
            raise SignatureError("incompatible input type for ge/le: {}".format(where))
        numbers = [d for d in defaults if isinstance(d, (int, float)) and not isinstance(d, bool)]
        if info.ge is not None and any(d < info.ge for d in numbers):
            raise SignatureError(
                "invalid default for {}: must be at minimum {}".format(where, info.ge)
            )
        if info.le is not None and any(d > info.le for d in numbers):
            raise SignatureError(
                "invalid default for {}: must be at maximum {}".format(where, info.le)
            )

    if info.min_length is not None or info.max_length is not None:
        if kind != "str":
            raise SignatureError(
                "incompatible input type for min_length/max_length: {}".format(where)
            )
        for d in defaults:
            if not isinstance(d, str):
                continue
            if info.min_length is not None and len(d) < info.min_length:
                raise SignatureError("default={!r} conflicts with min_length={} for input: {}"
                                     .format(d, info.min_length, where))
            if info.max_length is not None and len(d) > info.max_length:
                raise SignatureError("default={!r} conflicts with max_length={} for input: {}"
                                     .format(d, info.max_length, where))

    if info.regex is not None:
        if kind != "str":
            raise SignatureError("incompatible input type for regex: {}".format(where))
        try:
            pattern = re.compile(info.regex)
        except re.error as err:
            raise SignatureError(
                "invalid regex {!r} for input: {}: {}".format(info.regex, where, err)
            ) from None
        for d in defaults:
            # The server checks with JSON-schema semantics: a search, not anchored.
            if isinstance(d, str) and pattern.search(d) is None:
                raise SignatureError("default={!r} not a regex match for input: {}"
                                     .format(d, where))

    if info.choices is not None:
        if repeated or kind not in ("str", "int", "float"):
            raise SignatureError("incompatible input type for choices: {}".format(where))
        choices = list(info.choices)
        if len(choices) < 2:
            raise SignatureError(
                "choices={!r} must have >= 2 elements: {}".format(choices, where)
            )
        if info.ge is not None or info.le is not None:
            raise SignatureError("choices and ge/le are mutually exclusive: {}".format(where))
        if info.min_length is not None or info.max_length is not None:
            raise SignatureError(
                "choices and min_length/max_length are mutually exclusive: {}".format(where)
            )
        values = [c.value if isinstance(c, enum.Enum) else c for c in choices]
        accepted: Tuple[type, ...] = {"str": (str,), "int": (int,), "float": (int, float)}[kind]
        if not all(isinstance(v, accepted) and not isinstance(v, bool) for v in values):
            raise SignatureError(
                "not all choices have the same type as input: {}".format(where)
            )

    if info.accept is not None and kind not in ("path", "file"):
        raise SignatureError("accept is only valid on Path or File inputs: {}".format(where))
