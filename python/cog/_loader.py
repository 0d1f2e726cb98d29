"""Loading the predictor and running its setup().

``Predictor`` is the loaded predictor: the callable plus what ``ready`` reports about
it. ``load_and_setup`` imports the user's module, instantiates the class and runs
``setup()`` (on a new event loop when the predictor or its setup is async); any
failure is a ``SetupError`` carrying the text for ``setup_failed``.
"""

import inspect
import traceback
import types
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional

from ._emit import error_text
from ._signature import describe_signature
from .predictor import (
    extract_setup_weights,
    get_predictor,
    load_module_from_file,
    rewrite_field_info_defaults,
    select_method,
)

if TYPE_CHECKING:
    import asyncio  # imported lazily: only async predictors (or async setup) need it

SYNC_CONCURRENCY_ERROR = "COG_MAX_CONCURRENCY > 1 requires an async run() or predict() method"


class SetupError(Exception):
    """Loading or setup failed; ``error`` is the text for setup_failed."""

    def __init__(self, error: str, tb: str) -> None:
        super().__init__(error)
        self.error = error
        self.tb = tb


class Predictor:
    """The loaded predictor: the callable plus what ``ready`` reports about it.

    ``module`` is the user's module (None when ``target`` was given), ``target`` the
    class or function; ``instance`` (a class predictor's, with its setup() state) is
    made here unless given (a reload in place keeps the old one).
    """

    def __init__(self, ref: str, mode: str, instantiate: bool, target: Any = None,
                 instance: Any = None) -> None:
        self.ref = ref
        self.mode = mode
        self.module: Optional[types.ModuleType] = None
        self.source: Optional[bytes] = None  # what was imported (a reload compares with it)
        if target is None:
            path, _, name = ref.partition(":")
            try:
                with open(path, "rb") as handle:
                    self.source = handle.read()
            except OSError:
                pass  # the import says why
            self.module = load_module_from_file(path)
            target = get_predictor(self.module, name or None)
        self.target = target
        self.instance: Any = None
        if inspect.isclass(target):
            self.kind = "class"
            self.method = select_method(target, mode)
            static = inspect.getattr_static(target, self.method)
            unbound = getattr(target, self.method)
            skip_self = not isinstance(static, (staticmethod, classmethod))
            self.signature = describe_signature(unbound, skip_first=skip_self)
            raw = getattr(unbound, "__func__", unbound)
            self.has_healthcheck = callable(getattr(target, "healthcheck", None))
            if instantiate:
                self.instance = target() if instance is None else instance
                self.fn: Callable[..., Any] = getattr(self.instance, self.method)
            else:
                self.fn = unbound
        else:
            if not callable(target):
                raise TypeError("{} is not a class or a function".format(ref))
            self.kind = "function"
            self.method = "function"
            self.signature = describe_signature(target)
            raw = target
            self.has_healthcheck = False
            self.fn = target
        self.raw = raw
        self.is_async = inspect.iscoroutinefunction(raw) or inspect.isasyncgenfunction(raw)
        self.is_generator = inspect.isgeneratorfunction(raw) or inspect.isasyncgenfunction(raw)
        self.info = {
            "ref": ref,
            "kind": self.kind,
            "method": self.method,
            "is_async": self.is_async,
            "is_generator": self.is_generator,
            "streaming": bool(getattr(raw, "__cog_streaming__", False)),
            "concurrent_max": getattr(raw, "__cog_concurrent_max__", None),
            "has_healthcheck": self.has_healthcheck,
        }
        rewrite_field_info_defaults(self.fn)

    def healthcheck(self) -> Optional[Callable[[], Any]]:
        if self.instance is None or not self.has_healthcheck:
            return None
        return getattr(self.instance, "healthcheck")


class Loaded(NamedTuple):
    """What load_and_setup made: the predictor, its loop (if any) and its concurrency."""

    predictor: Predictor
    loop: "Optional[asyncio.AbstractEventLoop]"
    concurrency: int


def load_and_setup(ref: str, mode: str, concurrency: int, signature_only: bool) -> Loaded:
    """Import and instantiate the predictor, then run setup() (not with signature_only).

    ``concurrency`` < 1 means the ``@concurrent(max=N)`` value, else 1.
    """
    try:
        predictor = Predictor(ref, mode, instantiate=not signature_only)
    except BaseException as err:  # noqa: BLE001 - includes SystemExit during import
        raise SetupError(error_text(err), traceback.format_exc()) from None
    if signature_only:
        return Loaded(predictor, None, concurrency)
    if concurrency < 1:
        concurrency = predictor.info.get("concurrent_max") or 1
    if concurrency > 1 and not predictor.is_async:
        raise SetupError(SYNC_CONCURRENCY_ERROR, SYNC_CONCURRENCY_ERROR + "\n")
    loop = None
    setup = getattr(predictor.instance, "setup", None) if predictor.instance else None
    if predictor.is_async or (setup is not None and inspect.iscoroutinefunction(setup)):
        import asyncio  # only for async predictors (~20 ms to import)

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    if setup is not None:
        try:
            kwargs = {}
            try:
                if "weights" in inspect.signature(setup).parameters:
                    kwargs["weights"] = extract_setup_weights()
            except (TypeError, ValueError):
                pass
            result = setup(**kwargs)
            if inspect.isawaitable(result):
                assert loop is not None
                loop.run_until_complete(result)
        except BaseException as err:  # noqa: BLE001
            raise SetupError(error_text(err), traceback.format_exc()) from None
    return Loaded(predictor, loop, concurrency)
