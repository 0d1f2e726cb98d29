"""Exceptions user code may see (``cog.exceptions`` exists for older models)."""


class CancelationException(BaseException):
    """Raised inside a sync prediction when it is canceled.

    A BaseException so that ``except Exception`` in user code does not swallow it.
    """


__all__ = ["CancelationException"]
