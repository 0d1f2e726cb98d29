"""Worker protocol v1 (docs/worker-protocol.md): encoding, decoding and validation.

``decode_from_server`` / ``decode_from_worker`` parse one line and raise
``ProtocolError`` when it is not a valid message for that direction.
"""

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

PROTOCOL_VERSION = 1
LOG_SOURCES = ("stdout", "stderr")
METRIC_MODES = ("replace", "increment", "append")
HEALTH_STATUSES = ("healthy", "unhealthy")
PREDICTOR_KINDS = ("class", "function")
PREDICTOR_METHODS = ("run", "predict", "train", "function")
SIMPLE_TYPE_KINDS = ("str", "int", "float", "bool", "path", "file", "secret", "any")


class ProtocolError(ValueError):
    """A line that is not a valid protocol message."""


# Built once: json.dumps with non-default options builds a new encoder per call (~2 us).
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_ENCODE_ASCII = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode


def encode(message: Dict[str, Any]) -> bytes:
    """One message as a UTF-8 JSON line (raises ValueError for NaN/Infinity)."""
    text = _ENCODE(message)
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (e.g. from a JSON "\\ud800" input) cannot be UTF-8: escape it.
        return (_ENCODE_ASCII(message) + "\n").encode("ascii")


# The two messages of every prediction, built from pieces: byte for byte what
# ``encode`` makes of the same dict (same key order), at a fraction of the cost.
_quote = json.encoder.encode_basestring  # what _ENCODE uses for str (ensure_ascii=False)
_OUTPUT_HEAD = '{"v":' + str(PROTOCOL_VERSION) + ',"type":"output","id":'
_DONE_HEAD = '{"v":' + str(PROTOCOL_VERSION) + ',"type":"done","id":'


def encode_output(pid: str, index: int, value: Any, files: List[Dict[str, Any]]) -> bytes:
    """The ``output`` line (raises ValueError for NaN/Infinity, like ``encode``)."""
    text = "".join((
        _OUTPUT_HEAD, _quote(pid), ',"index":', str(index), ',"value":', _ENCODE(value),
        ',"files":', _ENCODE(files) if files else "[]", "}\n",
    ))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return encode({"v": PROTOCOL_VERSION, "type": "output", "id": pid, "index": index,
                       "value": value, "files": files})


def encode_done(pid: str, is_stream: bool, output: Optional[Tuple[str, Any]] = None) -> bytes:
    """The ``done`` line; ``output`` = (the value's JSON text, the value) when it carries one.

    The JSON text is made beforehand with ``encode_value`` (inside the prediction's error
    handling, where a value that cannot be encoded fails the prediction).
    """
    if output is None:
        tail = ',"is_stream":true}\n' if is_stream else ',"is_stream":false}\n'
    else:
        tail = ',"is_stream":false,"output":{"value":' + output[0] + ',"files":[]}}\n'
    text = _DONE_HEAD + _quote(pid) + tail
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        message = {"v": PROTOCOL_VERSION, "type": "done", "id": pid, "is_stream": is_stream}
        if output is not None:
            message["output"] = {"value": output[1], "files": []}
        return encode(message)


def encode_value(value: Any) -> str:
    """A JSON value as text, as ``encode`` writes it (ValueError for NaN/Infinity)."""
    return _ENCODE(value)


def _fail(path: str, expected: str, value: Any) -> None:
    raise ProtocolError("{}: expected {}, got {}".format(path, expected, _describe(value)))


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str(msg: Dict[str, Any], key: str, path: str = "") -> str:
    if key not in msg:
        raise ProtocolError("{}{}: missing field".format(path, key))
    value = msg[key]
    if not isinstance(value, str):
        _fail(path + key, "a string", value)
    return value


def _nullable_str(msg: Dict[str, Any], key: str, path: str = "") -> Optional[str]:
    if key not in msg:
        raise ProtocolError("{}{}: missing field".format(path, key))
    value = msg[key]
    if value is not None and not isinstance(value, str):
        _fail(path + key, "a string or null", value)
    return value


def _bool(msg: Dict[str, Any], key: str, path: str = "") -> bool:
    if key not in msg:
        raise ProtocolError("{}{}: missing field".format(path, key))
    value = msg[key]
    if not isinstance(value, bool):
        _fail(path + key, "a boolean", value)
    return value


def _int(msg: Dict[str, Any], key: str, path: str = "", minimum: Optional[int] = None) -> int:
    if key not in msg:
        raise ProtocolError("{}{}: missing field".format(path, key))
    value = msg[key]
    if not _is_int(value) or (minimum is not None and value < minimum):
        _fail(path + key, "an integer" + ("" if minimum is None else " >= {}".format(minimum)), value)
    return value


def _enum(msg: Dict[str, Any], key: str, allowed: tuple, path: str = "") -> str:
    value = _str(msg, key, path)
    if value not in allowed:
        _fail(path + key, "one of " + "/".join(allowed), value)
    return value


def _present(msg: Dict[str, Any], key: str, path: str = "") -> Any:
    if key not in msg:
        raise ProtocolError("{}{}: missing field".format(path, key))
    return msg[key]


def _object(value: Any, path: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, "an object", value)
    return value


def _list(value: Any, path: str) -> List[Any]:
    if not isinstance(value, list):
        _fail(path, "an array", value)
    return value


def validate_type(value: Any, path: str = "type") -> None:
    """Validate a signature Type (tagged union on ``kind``)."""
    node = _object(value, path)
    kind = _str(node, "kind", path + ".")
    prefix = path + "."
    if kind in SIMPLE_TYPE_KINDS:
        return
    if kind == "list":
        validate_type(_present(node, "items", prefix), prefix + "items")
    elif kind == "optional":
        validate_type(_present(node, "inner", prefix), prefix + "inner")
    elif kind == "union":
        members = _list(_present(node, "members", prefix), prefix + "members")
        for i, member in enumerate(members):
            validate_type(member, "{}members[{}]".format(prefix, i))
    elif kind == "dict":
        values = _present(node, "values", prefix)
        if values is not None:
            validate_type(values, prefix + "values")
    elif kind == "iterator":
        validate_type(_present(node, "items", prefix), prefix + "items")
        _bool(node, "concatenate", prefix)
        _bool(node, "async", prefix)
    elif kind == "object":
        _str(node, "name", prefix)
        fields = _list(_present(node, "fields", prefix), prefix + "fields")
        for i, field in enumerate(fields):
            fpath = "{}fields[{}]".format(prefix, i)
            _object(field, fpath)
            _str(field, "name", fpath + ".")
            validate_type(_present(field, "type", fpath + "."), fpath + ".type")
            _bool(field, "required", fpath + ".")
    else:
        _fail(prefix + "kind", "a known type kind", kind)


def _number_or_null(node: Dict[str, Any], key: str, path: str) -> None:
    value = _present(node, key, path)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        _fail(path + key, "a number or null", value)


def _int_or_null(node: Dict[str, Any], key: str, path: str) -> None:
    value = _present(node, key, path)
    if value is not None and not _is_int(value):
        _fail(path + key, "an integer or null", value)


def validate_input(value: Any, path: str) -> None:
    """Validate one signature input description."""
    node = _object(value, path)
    prefix = path + "."
    _str(node, "name", prefix)
    validate_type(_present(node, "type", prefix), prefix + "type")
    given = _bool(node, "default_given", prefix)
    default = _present(node, "default", prefix)
    if not given and default is not None:
        _fail(prefix + "default", "null when default_given is false", default)
    _nullable_str(node, "description", prefix)
    _number_or_null(node, "ge", prefix)
    _number_or_null(node, "le", prefix)
    _int_or_null(node, "min_length", prefix)
    _int_or_null(node, "max_length", prefix)
    _nullable_str(node, "regex", prefix)
    choices = _present(node, "choices", prefix)
    if choices is not None:
        for i, choice in enumerate(_list(choices, prefix + "choices")):
            if not isinstance(choice, (str, int, float)) or isinstance(choice, bool):
                _fail("{}choices[{}]".format(prefix, i), "a string or number", choice)
    _bool(node, "deprecated", prefix)
    _nullable_str(node, "accept", prefix)


def _validate_predictor(value: Any) -> None:
    node = _object(value, "predictor")
    p = "predictor."
    _str(node, "ref", p)
    _enum(node, "kind", PREDICTOR_KINDS, p)
    _enum(node, "method", PREDICTOR_METHODS, p)
    _bool(node, "is_async", p)
    _bool(node, "is_generator", p)
    _bool(node, "streaming", p)
    concurrent_max = _present(node, "concurrent_max", p)
    if concurrent_max is not None and (not _is_int(concurrent_max) or concurrent_max < 1):
        _fail(p + "concurrent_max", "an integer >= 1 or null", concurrent_max)
    _bool(node, "has_healthcheck", p)


def _validate_signature(value: Any) -> None:
    node = _object(value, "signature")
    inputs = _list(_present(node, "inputs", "signature."), "signature.inputs")
    for i, item in enumerate(inputs):
        validate_input(item, "signature.inputs[{}]".format(i))
    validate_type(_present(node, "output", "signature."), "signature.output")


def _v_hello(msg: Dict[str, Any]) -> None:
    if _int(msg, "protocol") != PROTOCOL_VERSION:
        _fail("protocol", str(PROTOCOL_VERSION), msg["protocol"])
    _str(msg, "python")
    _str(msg, "sdk")
    _int(msg, "pid")


def _v_log(msg: Dict[str, Any]) -> None:
    _nullable_str(msg, "id")
    _enum(msg, "source", LOG_SOURCES)
    _str(msg, "data")


def _v_ready(msg: Dict[str, Any]) -> None:
    _validate_predictor(_present(msg, "predictor"))
    _validate_signature(_present(msg, "signature"))


def _v_setup_failed(msg: Dict[str, Any]) -> None:
    _str(msg, "error")
    _str(msg, "traceback")


def _v_id(msg: Dict[str, Any]) -> None:
    _str(msg, "id")


def _v_output(msg: Dict[str, Any]) -> None:
    _str(msg, "id")
    _int(msg, "index", minimum=0)
    _v_value_and_files(msg, "")


def _v_value_and_files(msg: Dict[str, Any], prefix: str) -> None:
    _present(msg, "value", prefix)
    files = _list(_present(msg, "files", prefix), prefix + "files")
    for i, entry in enumerate(files):
        path = "{}files[{}].".format(prefix, i)
        _object(entry, path[:-1])
        pointer = _str(entry, "pointer", path)
        if pointer and not pointer.startswith("/"):
            _fail(path + "pointer", "an RFC 6901 JSON pointer", pointer)
        _str(entry, "path", path)
        _nullable_str(entry, "mime", path)


def _v_metric(msg: Dict[str, Any]) -> None:
    _str(msg, "id")
    _str(msg, "name")
    _present(msg, "value")
    _enum(msg, "mode", METRIC_MODES)


def _v_done(msg: Dict[str, Any]) -> None:
    _str(msg, "id")
    if _bool(msg, "is_stream") is False and "output" in msg:
        # the single output of a non-stream prediction, carried by its done
        _v_value_and_files(_object(msg["output"], "output"), "output.")
    elif "output" in msg:
        _fail("output", "absent when is_stream is true", msg["output"])


def _v_failed(msg: Dict[str, Any]) -> None:
    _str(msg, "id")
    _str(msg, "error")


def _v_healthcheck_result(msg: Dict[str, Any]) -> None:
    _str(msg, "id")
    status = _enum(msg, "status", HEALTH_STATUSES)
    if status == "unhealthy":
        _str(msg, "error")
    elif "error" in msg and msg["error"] is not None and not isinstance(msg["error"], str):
        _fail("error", "a string", msg["error"])


def _v_fatal(msg: Dict[str, Any]) -> None:
    _str(msg, "reason")


def _v_reloaded(msg: Dict[str, Any]) -> None:
    _str(msg, "id")
    _v_ready(msg)
    _str(msg, "reason")


def _v_reload_refused(msg: Dict[str, Any]) -> None:
    _str(msg, "id")
    _str(msg, "reason")


def _v_predict(msg: Dict[str, Any]) -> None:
    _str(msg, "id")
    _object(_present(msg, "input"), "input")
    context = _object(_present(msg, "context"), "context")
    for key, value in context.items():
        if not isinstance(value, str):
            _fail("context." + key, "a string", value)
    _str(msg, "output_dir")


def _v_shutdown(msg: Dict[str, Any]) -> None:
    return None


WORKER_TO_SERVER: Dict[str, Callable[[Dict[str, Any]], None]] = {
    "hello": _v_hello,
    "log": _v_log,
    "ready": _v_ready,
    "setup_failed": _v_setup_failed,
    "started": _v_id,
    "output": _v_output,
    "metric": _v_metric,
    "done": _v_done,
    "failed": _v_failed,
    "canceled": _v_id,
    "healthcheck_result": _v_healthcheck_result,
    "fatal": _v_fatal,
    "reloaded": _v_reloaded,
    "reload_refused": _v_reload_refused,
}

SERVER_TO_WORKER: Dict[str, Callable[[Dict[str, Any]], None]] = {
    "predict": _v_predict,
    "cancel": _v_id,
    "healthcheck": _v_id,
    "shutdown": _v_shutdown,
    "reload": _v_id,
}


def validate(message: Any, validators: Dict[str, Callable[[Dict[str, Any]], None]]) -> None:
    """Raise ProtocolError unless ``message`` is valid for the given direction."""
    if not isinstance(message, dict):
        _fail("message", "a JSON object", message)
    version = message.get("v")
    if not _is_int(version) or version != PROTOCOL_VERSION:
        _fail("v", str(PROTOCOL_VERSION), version)
    kind = message.get("type")
    if not isinstance(kind, str):
        _fail("type", "a string", kind)
    validator = validators.get(kind)
    if validator is None:
        raise ProtocolError("unknown message type {!r}".format(kind))
    validator(message)


def _decode(line: Any, validators: Dict[str, Callable[[Dict[str, Any]], None]]) -> Dict[str, Any]:
    if isinstance(line, (bytes, bytearray)):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ProtocolError("invalid UTF-8: {}".format(err)) from None
    try:
        message = json.loads(line)
    except ValueError as err:
        raise ProtocolError("invalid JSON: {}".format(err)) from None
    except RecursionError:
        raise ProtocolError("invalid JSON: nested too deeply") from None
    validate(message, validators)
    return message


def decode_from_server(line: Any) -> Dict[str, Any]:
    """Parse and validate a server -> worker line."""
    if type(line) is bytes:
        # The common case, a well-formed predict, checked inline (the same rules as
        # validate + _v_predict); anything else takes the general path.
        try:
            message = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):
            message = None
        if (
            type(message) is dict
            and message.get("type") == "predict"
            and type(message.get("v")) is int
            and message["v"] == PROTOCOL_VERSION
            and type(message.get("id")) is str
            and type(message.get("input")) is dict
            and type(message.get("output_dir")) is str
            and type(message.get("context")) is dict
            and all(type(value) is str for value in message["context"].values())
        ):
            return message
    return _decode(line, SERVER_TO_WORKER)


def decode_from_worker(line: Any) -> Dict[str, Any]:
    """Parse and validate a worker -> server line."""
    return _decode(line, WORKER_TO_SERVER)


def validate_from_worker(message: Dict[str, Any]) -> None:
    """Validate a worker -> server message object."""
    validate(message, WORKER_TO_SERVER)
