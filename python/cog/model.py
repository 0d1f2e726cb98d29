"""``BaseModel``: structured outputs as automatic dataclasses (not pydantic)."""

import dataclasses
import typing
from typing import Any, Dict, List

_NONE_TYPE = type(None)


def _is_optional(annotation: Any) -> bool:
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        return text.startswith("Optional[") or text.endswith("|None") or text.startswith("None|")
    args = getattr(annotation, "__args__", None) or ()
    origin = typing.get_origin(annotation) if hasattr(typing, "get_origin") else None
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return _NONE_TYPE in args
    return False


def _generic_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """An ``__init__`` accepting fields positionally or by keyword, in declaration order."""
    cls = type(self)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = [f.name for f in fields]
    if len(args) > len(fields):
        raise TypeError(
            "{}.__init__() takes {} positional arguments but {} were given".format(
                cls.__name__, len(fields) + 1, len(args) + 1
            )
        )
    values: Dict[str, Any] = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError(
                "{}.__init__() got an unexpected keyword argument '{}'".format(cls.__name__, key)
            )
        if key in values:
            raise TypeError(
                "{}.__init__() got multiple values for argument '{}'".format(cls.__name__, key)
            )
        values[key] = value
    missing: List[str] = []
    for field in fields:
        if field.name in values:
            continue
        if field.default is not dataclasses.MISSING:
            values[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            values[field.name] = field.default_factory()  # type: ignore[misc]
        else:
            missing.append(field.name)
    if missing:
        raise TypeError(
            "{}.__init__() missing {} required argument{}: {}".format(
                cls.__name__,
                len(missing),
                "" if len(missing) == 1 else "s",
                ", ".join("'{}'".format(name) for name in missing),
            )
        )
    for name, value in values.items():
        object.__setattr__(self, name, value)
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


class BaseModel:
    """Base class for structured outputs; every subclass becomes a dataclass.

    Deliberate departure from upstream cog HEAD: fields annotated ``Optional[...]`` (or
    ``X | None``) without a default get an implicit ``None`` default, as pydantic-era
    cog and the docs' ``Output(score=1.5)`` example expect. Because Python 3.9 has no
    dataclass ``kw_only``, the generated ``__init__`` is our own (``_generic_init``),
    which allows a required field after a defaulted one.
    """

    def __init_subclass__(cls, auto_dataclass: bool = True, init: bool = True, **kwargs: Any):
        super().__init_subclass__()
        if not auto_dataclass:
            return
        own_annotations = cls.__dict__.get("__annotations__", {})
        for name, annotation in own_annotations.items():
            if name not in cls.__dict__ and _is_optional(annotation):
                setattr(cls, name, None)
        user_init = "__init__" in cls.__dict__
        dataclasses.dataclass(cls, init=False, **kwargs)  # type: ignore[call-overload]
        if init and not user_init:
            cls.__init__ = _generic_init  # type: ignore[method-assign]


__all__ = ["BaseModel"]
