"""The cog SDK: the names predictors import (``from cog import BasePredictor, Input, Path``)."""

import sys
from typing import Any


def _loading_worker() -> bool:
    """True while ``python -m cog._worker`` imports this package (runpy, before _worker)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_get_module_details" and \
                frame.f_locals.get("mod_name") == "cog._worker":
            return True
        frame = frame.f_back
    return False


# The worker runs with PYTHONDONTWRITEBYTECODE=1 (no __pycache__ in the user's project),
# but recompiling the SDK on every start costs ~35 ms: cache the bytecode of cog's own
# modules. Under `-m cog._worker` the flag stays off until cog._worker (compiled by runpy
# after this package) has imported its modules; it restores the flag itself.
_dont_write_bytecode = sys.dont_write_bytecode
sys.dont_write_bytecode = False
try:
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
finally:
    if not _loading_worker():
        sys.dont_write_bytecode = _dont_write_bytecode


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
