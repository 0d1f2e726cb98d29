"""``@streaming`` and ``@concurrent``: markers the worker reports in ``ready``."""

import inspect
from typing import Any, Callable, Optional


def streaming(fn: Optional[Callable[..., Any]] = None) -> Any:
    """Mark a predictor method as allowed to stream over SSE (``@streaming`` or ``@streaming()``)."""

    def mark(target: Callable[..., Any]) -> Callable[..., Any]:
        target.__cog_streaming__ = True  # type: ignore[attr-defined]
        return target

    if fn is None:
        return mark
    return mark(fn)


def concurrent(fn: Optional[Callable[..., Any]] = None, *, max: Any = None) -> Any:  # noqa: A002
    """Declare how many predictions may run at once (``@concurrent(max=N)`` or ``@concurrent``).

    A bare ``@concurrent`` records ``None`` (the server's COG_MAX_CONCURRENCY decides).
    """
    if max is not None:
        if isinstance(max, bool) or not isinstance(max, int):
            raise TypeError("concurrent max must be an int, got {}".format(type(max).__name__))
        if max < 1:
            raise ValueError("concurrent max must be at least 1, got {}".format(max))

    def mark(target: Callable[..., Any]) -> Callable[..., Any]:
        is_async = inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)
        if max is not None and max > 1 and not is_async:
            raise TypeError("concurrent max greater than 1 requires an async function")
        target.__cog_concurrent_max__ = max  # type: ignore[attr-defined]
        return target

    if fn is None:
        return mark
    return mark(fn)
