"""Value types used in predictor signatures: Path, File, Secret, iterators, URL helpers.

Stdlib only: downloads use urllib.request (which handles http, https and data: URLs).
"""

import dataclasses
import io
import mimetypes
import os
import pathlib
import shutil
import sys
import tempfile
import urllib.parse
from abc import abstractmethod
from typing import Any, AsyncIterator, Iterator, Optional, TypeVar

from .input import FieldInfo, Input

_FILENAME_MAX_BYTES = 200
_DOWNLOAD_TIMEOUT = 30


class ExperimentalFeatureWarning(FutureWarning):
    """Kept for older models that import it from cog.types."""


def _user_agent_headers() -> dict:
    agent = os.environ.get("COG_USER_AGENT")
    return {"User-Agent": agent} if agent else {}


def _open_url(url: str) -> Any:
    # lazy: urllib.request pulls in http.client, email and ssl (~30 ms at startup)
    from urllib.request import Request, urlopen

    request = Request(url, headers=_user_agent_headers())
    return urlopen(request, timeout=_DOWNLOAD_TIMEOUT)  # noqa: S310


def get_filename(url: str) -> str:
    """The file name a URL should be saved under (see python-sdk.md 1.9)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "data":
        header = parsed.path.split(",", 1)[0]
        mime = header.split(";", 1)[0]
        ext = mimetypes.guess_extension(mime) if mime else None
        return "file" + ext if ext else "file"
    name = os.path.basename(urllib.parse.unquote_plus(parsed.path))
    name = name.replace("\0", "_").replace("/", "_")
    encoded = name.encode("utf-8")
    if len(encoded) > _FILENAME_MAX_BYTES:
        stem, ext = os.path.splitext(name)
        budget = _FILENAME_MAX_BYTES - len(ext.encode("utf-8")) - 1
        stem = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
        name = stem + "~" + ext
    return name or "file"


class Path(pathlib.PosixPath):
    """A ``pathlib.PosixPath`` subclass used to annotate file inputs and outputs."""

    @classmethod
    def validate(cls, value: Any) -> Any:
        """Turn an input value into a Path (URLs become a lazy URLPath)."""
        if isinstance(value, pathlib.Path):
            return value
        if isinstance(value, str) and value.split(":", 1)[0] in ("data", "http", "https"):
            return URLPath(source=value, filename=get_filename(value), fileobj=None)
        return cls(value)


class URLPath(pathlib.PosixPath):
    """A path standing for a URL; ``convert()`` downloads it and returns a cog.Path."""

    def __new__(cls, *, source: str, filename: str, fileobj: Any = None) -> "URLPath":
        return super().__new__(cls, filename)

    def __init__(self, *, source: str, filename: str, fileobj: Any = None) -> None:
        if sys.version_info >= (3, 12):
            super().__init__(filename)
        self.source = source
        self.filename = filename
        self.fileobj = fileobj
        self._downloaded: Optional[str] = None

    def with_segments(self, *segments: Any) -> pathlib.PosixPath:  # Python 3.12+
        return Path(*segments)

    def __reduce__(self) -> Any:
        return (_make_urlpath, (self.source, self.filename))

    def convert(self) -> Path:
        """Download the URL into a temp file ending in the original filename."""
        if self._downloaded is None:
            with tempfile.NamedTemporaryFile(suffix=self.filename, delete=False) as dest:
                source = self.fileobj if self.fileobj is not None else _open_url(self.source)
                try:
                    shutil.copyfileobj(source, dest)
                finally:
                    close = getattr(source, "close", None)
                    if close is not None:
                        close()
                self._downloaded = dest.name
        return Path(self._downloaded)

    def unlink(self, missing_ok: bool = False) -> None:
        """Delete the downloaded file, if any."""
        if self._downloaded is not None:
            try:
                os.unlink(self._downloaded)
            except FileNotFoundError:
                if not missing_ok:
                    raise

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return "URLPath({!r})".format(self.source)


def _make_urlpath(source: str, filename: str) -> URLPath:
    return URLPath(source=source, filename=filename)


class URLFile(io.IOBase):
    """A lazy, picklable file-like proxy over an HTTP(S) response (opened on first use)."""

    __slots__ = ("__target__", "__url__", "name")

    def __init__(self, url: str, filename: Optional[str] = None) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https"):
            raise ValueError("URLFile requires URL to conform to HTTP or HTTPS protocol")
        object.__setattr__(self, "name", filename or os.path.basename(parsed.path) or "file")
        object.__setattr__(self, "__url__", url)
        object.__setattr__(self, "__target__", None)

    def __wrapped__(self) -> Any:
        target = object.__getattribute__(self, "__target__")
        if target is None:
            target = _open_url(object.__getattribute__(self, "__url__"))
            object.__setattr__(self, "__target__", target)
        return target

    def __getattr__(self, name: str) -> Any:
        if name in ("__target__", "__url__", "name"):
            return object.__getattribute__(self, name)
        return getattr(self.__wrapped__(), name)

    def read(self, *args: Any) -> bytes:
        return self.__wrapped__().read(*args)

    def readline(self, *args: Any) -> bytes:
        return self.__wrapped__().readline(*args)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        target = object.__getattribute__(self, "__target__")
        if target is not None:
            target.close()

    def __getstate__(self) -> dict:
        return {"url": object.__getattribute__(self, "__url__"), "name": self.name}

    def __setstate__(self, state: dict) -> None:
        object.__setattr__(self, "name", state["name"])
        object.__setattr__(self, "__url__", state["url"])
        object.__setattr__(self, "__target__", None)

    def __repr__(self) -> str:
        return "URLFile({!r})".format(object.__getattribute__(self, "__url__"))


class File(io.IOBase):
    """Deprecated: annotate inputs with cog.Path instead. Inputs arrive as binary files."""

    @classmethod
    def validate(cls, value: Any) -> io.IOBase:
        """Turn an input value into a readable binary file object."""
        if isinstance(value, io.IOBase):
            return value
        parsed = urllib.parse.urlparse(value)
        if parsed.scheme == "data":
            from urllib.request import urlopen  # lazy (see _open_url)

            with urlopen(value) as response:  # noqa: S310 - data: URL
                return io.BytesIO(response.read())
        if parsed.scheme in ("http", "https"):
            return URLFile(value)
        if parsed.scheme == "" or parsed.scheme == "file":
            return open(parsed.path if parsed.scheme == "file" else value, "rb")
        raise ValueError(
            "'{}' is not a valid URL scheme. 'data', 'http', or 'https' is supported.".format(
                parsed.scheme
            )
        )


@dataclasses.dataclass(frozen=True)
class Secret:
    """A string input that is masked when printed."""

    secret_value: Optional[str] = None

    def get_secret_value(self) -> Optional[str]:
        """Return the raw secret."""
        return self.secret_value

    def __str__(self) -> str:
        return "**********" if self.secret_value is not None else ""

    def __repr__(self) -> str:
        return "Secret({})".format(str(self))


T_co = TypeVar("T_co", covariant=True)


class ConcatenateIterator(Iterator[T_co]):
    """Return annotation for token streams whose items should be concatenated for display."""

    @abstractmethod
    def __next__(self) -> T_co: ...


class AsyncConcatenateIterator(AsyncIterator[T_co]):
    """Async variant of ConcatenateIterator."""

    @abstractmethod
    async def __anext__(self) -> T_co: ...


__all__ = [
    "AsyncConcatenateIterator",
    "ConcatenateIterator",
    "ExperimentalFeatureWarning",
    "FieldInfo",
    "File",
    "Input",
    "Path",
    "Secret",
    "URLFile",
    "URLPath",
    "get_filename",
]
