"""A minimal registry of custom type encoders/decoders (API-compatible with cog.coder)."""

from typing import Any, List, Optional, Set, Type


class Coder:
    """Base class for custom coders; subclasses register themselves with ``Coder.register``."""

    _coders: Set[Type["Coder"]] = set()

    @staticmethod
    def register(coder: Type["Coder"]) -> None:
        """Register a coder class."""
        Coder._coders.add(coder)

    @staticmethod
    def lookup(tpe: Any) -> Optional["Coder"]:
        """Return an instance of the first registered coder that accepts ``tpe``."""
        for cls in list(Coder._coders):
            coder = cls.factory(tpe)
            if coder is not None:
                return coder
        return None

    @staticmethod
    def factory(tpe: Any) -> Optional["Coder"]:
        """Return a coder for ``tpe`` or None (override in subclasses)."""
        return None

    def encode(self, x: Any) -> Any:
        """Turn a value into JSON-compatible data."""
        raise NotImplementedError

    def decode(self, x: Any) -> Any:
        """Turn JSON-compatible data into a value."""
        raise NotImplementedError


__all__: List[str] = ["Coder"]
