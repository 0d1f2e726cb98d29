"""The cog SDK: the names predictors import (``from cog import BasePredictor, Input, Path``)."""

import sys
from typing import Any

from ._decorators import concurrent, streaming
from ._scope import Scope, current_scope
from ._version import __version__
from .exceptions import CancelationException
from .input import FieldInfo, Input
from .model import BaseModel
from .predictor import BasePredictor, BaseRunner
from .types import (
    AsyncConcatenateIterator,
    ConcatenateIterator,
    File,
    Path,
    Secret,
    URLFile,
    URLPath,
)


class _OpaqueMarker:
    """Marker for ``Annotated[T, Opaque]``: treat T as an opaque JSON value."""

    def __repr__(self) -> str:
        return "cog.Opaque"


Opaque = _OpaqueMarker()

_warned = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        print(message, file=sys.stderr)


def _emit_metric(name: str, value: Any) -> None:
    _warn_once("emit_metric", "cog.emit_metric() is deprecated; use current_scope().record_metric()")
    current_scope().record_metric(name, value)


def __getattr__(name: str) -> Any:
    if name == "ExperimentalFeatureWarning":
        from .types import ExperimentalFeatureWarning

        _warn_once(
            "ExperimentalFeatureWarning",
            "cog.ExperimentalFeatureWarning is deprecated and will be removed",
        )
        return ExperimentalFeatureWarning
    if name == "emit_metric":
        return _emit_metric
    raise AttributeError("module 'cog' has no attribute '{}'".format(name))


__all__ = [
    "AsyncConcatenateIterator",
    "BaseModel",
    "BasePredictor",
    "BaseRunner",
    "CancelationException",
    "ConcatenateIterator",
    "FieldInfo",
    "File",
    "Input",
    "Opaque",
    "Path",
    "Scope",
    "Secret",
    "URLFile",
    "URLPath",
    "__version__",
    "concurrent",
    "current_scope",
    "emit_metric",
    "streaming",
]
