"""Output encoding (python-sdk.md 3.2): values -> JSON plus the files they reference.

``encode_chunk`` returns ``(value, files)``: every os.PathLike / io.IOBase inside the
value is replaced by an absolute path string and listed in ``files`` with an RFC 6901
pointer. IOBase objects are first written into the prediction's output_dir.

A file path is resolved here, in the worker (``os.path.realpath``: symlinks, and
``/proc/self`` meaning the worker), and only a regular file outside /proc, /sys and
/dev is accepted: anything else (a directory, a device such as /dev/zero, a FIFO, a
socket) fails the prediction with ``OutputFileError`` naming the path and why. Only
``os.stat`` looks at it (a FIFO is never opened).
"""

import dataclasses
import datetime
import enum
import io
import json
import math
import mimetypes
import os
import stat
import types
from typing import Any, Dict, List, Tuple

from .types import Secret


class OutputEncodingError(ValueError):
    """The output cannot be turned into JSON."""


class OutputFileError(OutputEncodingError):
    """An output file that the server must not read (not a regular file, or a system one)."""


_SYSTEM_TREES = ("/proc", "/sys", "/dev")
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def resolve_output_file(given: str, pointer: str) -> str:
    """The resolved absolute path of an output file; OutputFileError unless it may be read."""
    path = os.path.realpath(given)
    where = "Output file {!r}{}{}".format(
        given, "" if path == given else " (resolves to {!r})".format(path),
        " at {!r}".format(pointer) if pointer else "")
    for tree in _SYSTEM_TREES:
        if path == tree or path.startswith(tree + "/"):
            raise OutputFileError(
                "{} refused: it is under {}, not a file the model wrote; "
                "return a regular file".format(where, tree))
    if os.path.islink(given):
        # The server applies the same rule: a link may point within its own directory
        # only (a hostile archive's ``out.png -> /etc/passwd`` is refused).
        home = os.path.realpath(os.path.dirname(os.path.abspath(given)))
        if not path.startswith(home.rstrip("/") + "/"):
            raise OutputFileError(
                "{} refused: it is a symbolic link to a file outside its own directory; "
                "return the file itself".format(where))
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise OutputFileError("{} refused: it does not exist".format(where)) from None
    except OSError as err:
        raise OutputFileError("{} refused: {}".format(where, err.strerror or err)) from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise OutputFileError(
            "{} refused: it is {}, not a regular file; return a regular file".format(
                where, kind))
    return path


def escape_pointer_token(token: str) -> str:
    """RFC 6901 escaping of one reference token."""
    return token.replace("~", "~0").replace("/", "~1")


class _Context:
    def __init__(self, output_dir: str, prefix: str) -> None:
        self.output_dir = output_dir
        self.prefix = prefix
        self.files: List[Dict[str, Any]] = []
        self.counter = 0


def _file_entry(ctx: _Context, pointer: str, given: str) -> str:
    path = resolve_output_file(given, pointer)
    # the type from the name the model gave (a symlink may point at a name without one)
    mime, _ = mimetypes.guess_type(given)
    if mime is None and path != given:
        mime, _ = mimetypes.guess_type(path)
    ctx.files.append({"pointer": pointer, "path": path, "mime": mime})
    return path


def _write_iobase(ctx: _Context, stream: io.IOBase) -> str:
    try:
        if stream.seekable():
            stream.seek(0)
    except (OSError, ValueError):
        pass
    data = stream.read()  # type: ignore[attr-defined]
    if isinstance(data, str):
        data = data.encode("utf-8")
    name = getattr(stream, "name", None)
    ext = os.path.splitext(name)[1] if isinstance(name, str) and name else ""
    ctx.counter += 1
    os.makedirs(ctx.output_dir, exist_ok=True)
    if not ext:
        ext = ".txt" if isinstance(stream, io.TextIOBase) else ".bin"
    path = os.path.join(ctx.output_dir, "{}{}{}".format(ctx.prefix, ctx.counter, ext))
    with open(path, "wb") as handle:
        handle.write(data or b"")
    return os.path.abspath(path)


def _numpy_value(value: Any) -> Tuple[bool, Any]:
    module = type(value).__module__ or ""
    if not module.startswith("numpy"):
        return False, None
    if hasattr(value, "tolist"):
        return True, value.tolist()
    if hasattr(value, "item"):
        return True, value.item()
    return False, None


def _encode(value: Any, pointer: str, ctx: _Context) -> Any:
    if isinstance(value, enum.Enum):
        return _encode(value.value, pointer, ctx)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise OutputEncodingError(
                "Failed to serialize output: {} at {!r} is not valid JSON "
                "(NaN and Infinity are not allowed)".format(value, pointer or "/")
            )
        return float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise OutputEncodingError(
            "Failed to serialize output: bytes at {!r} cannot be encoded as JSON; "
            "return a str, or write the bytes to a file and return a cog.Path".format(
                pointer or "/"
            )
        )
    if isinstance(value, os.PathLike):
        return _file_entry(ctx, pointer, os.path.abspath(os.fsdecode(os.fspath(value))))
    if isinstance(value, io.IOBase):
        return _file_entry(ctx, pointer, _write_iobase(ctx, value))
    if isinstance(value, Secret):
        return str(value) if value.secret_value is not None else None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            key = _encode_key(key, pointer)
            result[key] = _encode(item, pointer + "/" + escape_pointer_token(key), ctx)
        return result
    if isinstance(value, (list, tuple, set, frozenset, types.GeneratorType)):
        return [_encode(item, "{}/{}".format(pointer, i), ctx) for i, item in enumerate(value)]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _encode(dump(), pointer, ctx)
    as_dict = getattr(value, "dict", None)
    if callable(as_dict):
        return _encode(as_dict(), pointer, ctx)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode(
            {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, pointer, ctx
        )
    handled, converted = _numpy_value(value)
    if handled:
        return _encode(converted, pointer, ctx)
    raise OutputEncodingError(
        "Failed to serialize output: object of type {} at {!r} is not JSON serializable".format(
            type(value).__name__, pointer or "/"
        )
    )


def _encode_key(key: Any, pointer: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, enum.Enum):
        key = key.value
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise OutputEncodingError(
        "Failed to serialize output: dict key of type {} at {!r} is not a string".format(
            type(key).__name__, pointer or "/"
        )
    )


def encode_chunk(value: Any, output_dir: str, prefix: str = "") -> Tuple[Any, List[Dict[str, Any]]]:
    """Encode one output chunk; returns the JSON value and its file references."""
    ctx = _Context(output_dir, prefix)
    encoded = _encode(value, "", ctx)
    return encoded, ctx.files
