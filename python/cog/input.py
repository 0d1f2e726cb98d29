"""``Input()`` and ``FieldInfo``: per-parameter metadata of a predictor signature."""

import dataclasses
from typing import Any, List, Optional, Union


class _NoDefault:
    """Sentinel type for "Input() was called without default=" (distinct from None)."""

    _instance = None

    def __new__(cls) -> "_NoDefault":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no default>"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """Metadata attached to a parameter through ``Input(...)``.

    Unlike upstream cog, ``default`` is the ``NO_DEFAULT`` sentinel when no default was
    given, so ``Input()`` (required) and ``Input(default=None)`` (optional) differ.
    """

    default: Any = NO_DEFAULT
    description: Optional[str] = None
    ge: Optional[Union[int, float]] = None
    le: Optional[Union[int, float]] = None
    min_length: Optional[int] = None
    max_length: Optional[int] = None
    regex: Optional[str] = None
    choices: Optional[List[Union[str, int]]] = None
    deprecated: Optional[bool] = None
    accept: Optional[str] = None

    @property
    def has_default(self) -> bool:
        """True when ``default=`` was passed."""
        return self.default is not NO_DEFAULT


def Input(  # noqa: N802 - public API name
    default: Any = NO_DEFAULT,
    *,
    description: Optional[str] = None,
    ge: Optional[Union[int, float]] = None,
    le: Optional[Union[int, float]] = None,
    min_length: Optional[int] = None,
    max_length: Optional[int] = None,
    regex: Optional[str] = None,
    choices: Optional[List[Union[str, int]]] = None,
    deprecated: Optional[bool] = None,
    accept: Optional[str] = None,
    default_factory: Any = NO_DEFAULT,
) -> Any:
    """Describe a predictor input (default, description and constraints)."""
    if default_factory is not NO_DEFAULT:
        raise TypeError(
            "default_factory is not supported in cog.Input(); use default= with an "
            "immutable value instead"
        )
    return FieldInfo(
        default=default,
        description=description,
        ge=ge,
        le=le,
        min_length=min_length,
        max_length=max_length,
        regex=regex,
        choices=list(choices) if choices is not None else None,
        deprecated=deprecated,
        accept=accept,
    )


__all__ = ["FieldInfo", "Input", "NO_DEFAULT"]
