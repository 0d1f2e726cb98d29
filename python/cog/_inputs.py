"""Input coercion before calling the predictor (docs/worker-protocol.md, ``predict``).

Paths become cog.Path (URLs are downloaded), File inputs become open binary files,
Secrets are wrapped, ints become floats for ``float`` parameters. ``cleanup()``
closes opened files and deletes downloads when the prediction ends.
"""

import os
from typing import Any, Callable, Dict, List, Tuple

from .types import File, Path, Secret, URLPath

_URL_PREFIXES = ("http://", "https://", "data:")


class PreparedInputs:
    """Coerced keyword arguments plus the resources to release afterwards."""

    def __init__(self) -> None:
        self.kwargs: Dict[str, Any] = {}
        self._cleanups: List[Callable[[], None]] = []

    def cleanup(self) -> None:
        """Close files and delete downloaded temp files."""
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception:  # noqa: BLE001 - cleanup is best effort
                pass
        self._cleanups = []

    def path(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.startswith(_URL_PREFIXES):
            converted = Path.validate(value)
            if isinstance(converted, URLPath):
                local = converted.convert()
                self._cleanups.append(lambda: os.unlink(local))
                return local
            return converted
        return Path(value)

    def file(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        handle = File.validate(value)
        self._cleanups.append(handle.close)
        return handle


def _coerce(value: Any, tp: Dict[str, Any], prepared: PreparedInputs, top: bool) -> Any:
    kind = tp["kind"]
    if value is None:
        return None
    if kind == "optional":
        return _coerce(value, tp["inner"], prepared, top)
    if kind == "path":
        return prepared.path(value)
    if kind == "file":
        return prepared.file(value)
    if kind == "secret":
        return Secret(value) if top and isinstance(value, str) else value
    if kind == "float":
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if kind == "list" and isinstance(value, list):
        return [_coerce(item, tp["items"], prepared, False) for item in value]
    return value


_PLAIN_KINDS = frozenset(("str", "int", "bool", "any"))
_types_cache: List[Any] = [None, {}, False]  # the last signature's inputs -> (types, plain)


def _input_types(signature_inputs: List[Dict[str, Any]]) -> Tuple[Dict[str, Any], bool]:
    """Types by name, and whether no input needs coercion (cached for the last signature)."""
    if _types_cache[0] is not signature_inputs:
        types = {item["name"]: item["type"] for item in signature_inputs}
        plain = all(tp.get("kind") in _PLAIN_KINDS for tp in types.values())
        _types_cache[:] = [signature_inputs, types, plain]
    return _types_cache[1], _types_cache[2]


def prepare_inputs(
    raw: Dict[str, Any], signature_inputs: List[Dict[str, Any]]
) -> PreparedInputs:
    """Coerce the server's already-validated input object into Python arguments."""
    types_by_name, plain = _input_types(signature_inputs)
    prepared = PreparedInputs()
    if plain:  # nothing to coerce (str, int, bool, Any...): the common case, kept cheap
        prepared.kwargs = dict(raw)
        return prepared
    try:
        for name, value in raw.items():
            tp = types_by_name.get(name)
            prepared.kwargs[name] = value if tp is None else _coerce(value, tp, prepared, True)
    except BaseException:
        prepared.cleanup()
        raise
    return prepared
