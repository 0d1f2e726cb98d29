"""``BaseRunner``/``BasePredictor`` and the loader helpers the worker uses."""

import importlib.util
import inspect
import os
import sys
import types
import warnings
from typing import Any, Callable, Optional, Tuple

from ._scope import Scope, current_scope
from .input import NO_DEFAULT, FieldInfo


class BaseRunner:
    """Preferred base class for predictors: override ``setup()`` and ``run()``."""

    def setup(self, weights: Any = None) -> None:
        """Load the model (called once before any prediction)."""
        return None

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run one prediction (forwards to ``predict`` when only that is overridden)."""
        if type(self).predict is not BaseRunner.predict:
            return self.predict(*args, **kwargs)
        raise NotImplementedError("run has not been implemented by parent class.")

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """Deprecated bridge to ``run()``."""
        warnings.warn("predict() is deprecated; define run() instead", DeprecationWarning, 2)
        if type(self).run is not BaseRunner.run:
            return self.run(*args, **kwargs)
        raise NotImplementedError("predict has not been implemented by parent class.")

    @property
    def scope(self) -> Scope:
        """The current prediction's scope."""
        return current_scope()

    def record_metric(self, key: str, value: Any, mode: str = "replace") -> None:
        """Record a metric on the current prediction."""
        current_scope().record_metric(key, value, mode)


class BasePredictor(BaseRunner):
    """Deprecated alias of BaseRunner."""


_STOP_CLASSES = (BaseRunner, BasePredictor, object)


def load_module_from_file(path: str) -> types.ModuleType:
    """Import ``path`` as a module named after its basename and register it in sys.modules."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load predictor module from {}".format(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _valid_target(obj: Any) -> bool:
    return inspect.isclass(obj) or callable(obj)


def get_predictor(module: types.ModuleType, name: Optional[str]) -> Any:
    """Pick the predictor object out of ``module`` (``Runner`` then ``Predictor`` by default)."""
    if name:
        if not hasattr(module, name):
            raise AttributeError("module '{}' has no attribute '{}'".format(module.__name__, name))
        return getattr(module, name)
    runner = getattr(module, "Runner", None)
    if runner is not None and _valid_target(runner):
        if hasattr(module, "Predictor"):
            warnings.warn("both Runner and Predictor are defined; using Runner", UserWarning, 2)
        return runner
    predictor = getattr(module, "Predictor", None)
    if predictor is not None and _valid_target(predictor):
        warnings.warn("'Predictor' is deprecated; name the class Runner", DeprecationWarning, 2)
        return predictor
    raise AttributeError("module '{}' has no Runner or Predictor".format(module.__name__))


def load_predictor_from_ref(ref: str) -> Any:
    """Load ``file.py:Name`` (``Name`` optional) relative to the working directory."""
    path, _, name = ref.partition(":")
    module = load_module_from_file(path)
    return get_predictor(module, name or None)


def _defined_below_base(cls: type, method: str) -> bool:
    for klass in cls.__mro__:
        if klass in _STOP_CLASSES:
            return False
        if method in klass.__dict__:
            return True
    return False


def select_method(cls: type, mode: str = "predict") -> str:
    """The name of the method to call on a predictor class (run/predict/train)."""
    if mode == "train":
        if not _defined_below_base(cls, "train"):
            raise ValueError("train method not found: {}".format(cls.__name__))
        return "train"
    has_run = _defined_below_base(cls, "run")
    has_predict = _defined_below_base(cls, "predict")
    if has_run and has_predict:
        raise ValueError("{} must define either run() or predict(), not both".format(cls.__name__))
    if has_run:
        return "run"
    if has_predict:
        return "predict"
    raise ValueError("run or predict method not found: {}".format(cls.__name__))


def has_setup_weights(predictor: Any) -> bool:
    """True when ``setup`` takes a ``weights`` parameter."""
    setup = getattr(predictor, "setup", None)
    if setup is None:
        return False
    try:
        return "weights" in inspect.signature(setup).parameters
    except (TypeError, ValueError):
        return False


def extract_setup_weights() -> Optional[str]:
    """The value passed as ``setup(weights)``: env COG_WEIGHTS or None."""
    return os.environ.get("COG_WEIGHTS") or None


def rewrite_field_info_defaults(fn: Callable[..., Any]) -> None:
    """Replace ``Input(...)`` defaults by their ``.default`` so omitted inputs get Python defaults."""
    target = getattr(fn, "__func__", fn)
    defaults: Optional[Tuple[Any, ...]] = getattr(target, "__defaults__", None)
    if defaults:
        target.__defaults__ = tuple(_unwrap(value) for value in defaults)
    kwdefaults = getattr(target, "__kwdefaults__", None)
    if kwdefaults:
        target.__kwdefaults__ = {key: _unwrap(value) for key, value in kwdefaults.items()}


def _unwrap(value: Any) -> Any:
    if isinstance(value, FieldInfo):
        return None if value.default is NO_DEFAULT else value.default
    return value


__all__ = [
    "BasePredictor",
    "BaseRunner",
    "extract_setup_weights",
    "get_predictor",
    "has_setup_weights",
    "load_module_from_file",
    "load_predictor_from_ref",
    "rewrite_field_info_defaults",
    "select_method",
]
