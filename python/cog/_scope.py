"""Per-prediction scope: request context and user metrics (python-sdk.md 1.7).

The worker installs a Scope for each prediction (a process-wide one for sync
predictions, a ContextVar for async tasks). Outside a prediction every operation
is a silent no-op.
"""

import contextvars
import re
from typing import Any, Callable, Dict, Optional

_MAX_NAME_LENGTH = 128
_MAX_SEGMENTS = 4
_SEGMENT_CHAR = re.compile(r"[A-Za-z0-9_]")
_VALUE_TYPES = (bool, int, float, str, list, dict)

MetricSender = Callable[[str, Any, str], None]


def _normalize_mode(mode: Optional[str]) -> str:
    if mode is None or mode == "replace":
        return "replace"
    if mode in ("incr", "increment"):
        return "increment"
    if mode == "append":
        return "append"
    raise TypeError(
        "Invalid metric mode: {!r}. Expected 'replace', 'incr', or 'append'.".format(mode)
    )


def _check_structure(name: str) -> None:
    if not name:
        raise ValueError("metric name must not be empty")
    if len(name) > _MAX_NAME_LENGTH:
        raise ValueError(
            "metric name must be {} characters or fewer (got {} characters)".format(
                _MAX_NAME_LENGTH, len(name)
            )
        )
    if name.startswith("."):
        raise ValueError("metric name must not start with a dot")
    if name.endswith("."):
        raise ValueError("metric name must not end with a dot")
    if ".." in name:
        raise ValueError("metric name must not contain empty segments (consecutive dots)")
    segments = name.split(".")
    if len(segments) > _MAX_SEGMENTS:
        raise ValueError(
            "metric name must have at most {} dot-separated segments (got {})".format(
                _MAX_SEGMENTS, len(segments)
            )
        )


def validate_metric_name(name: Any) -> None:
    """Raise ValueError with the exact upstream texts when ``name`` is not allowed."""
    if not isinstance(name, str):
        raise TypeError("metric name must be a str, got {}".format(type(name).__name__))
    if name == "predict_time":
        raise ValueError("'predict_time' is reserved by the runtime")
    if name.startswith("cog."):
        raise ValueError("the 'cog.' prefix is reserved for system metrics")
    _check_structure(name)
    for segment in name.split("."):
        if not ("a" <= segment[0].lower() <= "z"):
            raise ValueError("metric name segment '{}' must start with a letter".format(segment))
        if "__" in segment:
            raise ValueError(
                "metric name segment '{}' must not contain consecutive underscores".format(segment)
            )
        for char in segment:
            if not _SEGMENT_CHAR.match(char):
                raise ValueError(
                    "metric name segment '{}' contains invalid character '{}'".format(
                        segment, char
                    )
                )
        if not segment[-1].isascii() or not segment[-1].isalnum():
            raise ValueError(
                "metric name segment '{}' must end with a letter or digit".format(segment)
            )


class MetricRecorder:
    """Records user metrics for one prediction (``scope.metrics``)."""

    def __init__(self, sender: Optional[MetricSender] = None) -> None:
        self._sender = sender
        self._types: Dict[str, type] = {}

    def record(self, key: str, value: Any, mode: Optional[str] = None) -> None:
        """Record ``value`` under ``key``; ``None`` in replace mode deletes the key."""
        if self._sender is None:
            return
        wire_mode = _normalize_mode(mode)
        validate_metric_name(key)
        if value is None:
            if wire_mode != "replace":
                raise TypeError(
                    "Unsupported metric value type: NoneType. Expected bool, int, float, str, "
                    "list, or dict."
                )
            self.delete(key)
            return
        if not isinstance(value, _VALUE_TYPES):
            raise TypeError(
                "Unsupported metric value type: {}. Expected bool, int, float, str, list, or "
                "dict.".format(type(value).__name__)
            )
        if wire_mode == "increment" and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            raise TypeError(
                "Increment mode requires int or float, got {}".format(type(value).__name__)
            )
        previous = self._types.get(key)
        if previous is not None and previous is not type(value) and wire_mode != "append":
            raise TypeError(
                "Metric '{}' has type {}, cannot set to {} without deleting first".format(
                    key, previous.__name__, type(value).__name__
                )
            )
        if previous is None:
            self._types[key] = list if wire_mode == "append" else type(value)
        self._sender(key, value, wire_mode)

    def delete(self, key: str) -> None:
        """Delete ``key`` from the prediction's metrics."""
        if self._sender is None:
            return
        if not isinstance(key, str):
            raise TypeError("metric name must be a str, got {}".format(type(key).__name__))
        _check_structure(key)
        self._types.pop(key, None)
        self._sender(key, None, "replace")

    def __setitem__(self, key: str, value: Any) -> None:
        self.record(key, value)

    def __delitem__(self, key: str) -> None:
        self.delete(key)


class Scope:
    """The current prediction's scope: ``context`` and ``metrics``."""

    def __init__(
        self,
        context: Optional[Dict[str, str]] = None,
        sender: Optional[MetricSender] = None,
    ) -> None:
        self.context: Dict[str, str] = dict(context or {})
        self.metrics = MetricRecorder(sender)

    def record_metric(self, key: str, value: Any, mode: Optional[str] = None) -> None:
        """Shortcut for ``self.metrics.record``."""
        self.metrics.record(key, value, mode)


_NOOP_SCOPE = Scope()
_async_scope: "contextvars.ContextVar[Optional[Scope]]" = contextvars.ContextVar(
    "cog_scope", default=None
)
_sync_scope: Optional[Scope] = None


def current_scope() -> Scope:
    """The running prediction's Scope, or a no-op Scope outside a prediction."""
    scope = _async_scope.get()
    if scope is not None:
        return scope
    if _sync_scope is not None:
        return _sync_scope
    return _NOOP_SCOPE


def set_sync_scope(scope: Optional[Scope]) -> None:
    """Install (or clear) the process-wide scope of the running sync prediction."""
    global _sync_scope
    _sync_scope = scope


def set_async_scope(scope: Optional[Scope]) -> None:
    """Install the scope for the current asyncio task (a ContextVar)."""
    _async_scope.set(scope)
