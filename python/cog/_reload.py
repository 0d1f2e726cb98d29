"""Reload in place (``--watch``): new predictor code, the same setup() state.

On ``reload`` the worker reads the predictor's file again and compares it with the
source it loaded, statement by statement (``ast.dump``: positions, comments and
docstrings do not count). What may change is the code that setup() does not
depend on: the predictor class's methods other than ``setup``, ``__init__``,
``__new__`` and the methods those call (``self.x``), and the module's functions
that none of those, nor any other module-level statement, refers to. When nothing
else changed, only those definitions are executed again, in the module's own
namespace (module-level code and the class's own non-method statements do not run
again: their values come from the old class), the running instance is moved to the
new class (``__class__``: it keeps every attribute setup() made), and the
worker answers ``reloaded`` with the new predictor and signature. Otherwise it
answers ``reload_refused`` with the reason, and the server restarts it (setup()
runs again): setup() or what it depends on changed, cog.yaml changed, another
project module the predictor imported changed, the new code does not parse or
fails to load, or it changed what the server sized the worker for (sync/async,
``@concurrent``).
"""

import ast
import copy
import os
import sys
import time
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from ._emit import error_text
from ._loader import Predictor

Def = Union[ast.FunctionDef, ast.AsyncFunctionDef]
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Methods that make the instance's state: they and what they call must not change.
_STATE_METHODS = ("setup", "__init__", "__new__")
_CONFIG_FILES = ("cog.yaml", "cog.yml")
_MISSING = object()
# Made by the class statement itself: never copied from the old class.
_CLASS_OWN = frozenset(("__dict__", "__weakref__", "__module__", "__qualname__", "__doc__"))
KEPT = "setup() and the module-level code it depends on are unchanged; setup() did not run again"
UNCHANGED = "nothing the predictor uses changed; setup() did not run again"


class ReloadRefused(Exception):
    """The new code cannot be swapped in place; ``reason`` says why (for the logs)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)


def _names(node: ast.AST) -> Set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _self_attributes(node: ast.AST) -> Set[str]:
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id in ("self", "cls")}


class _Split:
    """A module's statements split into the fixed part (a comparable key) and the rest."""

    def __init__(self, tree: ast.Module, target: str) -> None:
        body = [node for i, node in enumerate(tree.body) if not (i == 0 and _is_docstring(node))]
        self.target: Optional[ast.stmt] = None
        for node in body:
            if isinstance(node, (ast.ClassDef,) + _DEFS) and node.name == target:
                self.target = node
        if self.target is None:
            raise ReloadRefused("{} is no longer defined at the top of the file".format(target))
        functions: Dict[str, Def] = {node.name: node for node in body if isinstance(node, _DEFS)
                                     and node is not self.target}
        methods: Dict[str, Def] = {}
        roots: List[ast.AST] = [node for node in body
                                if not isinstance(node, _DEFS) and node is not self.target]
        if isinstance(self.target, ast.ClassDef):
            cls = self.target
            methods = {node.name: node for node in cls.body if isinstance(node, _DEFS)}
            roots += cls.bases + cls.keywords + cls.decorator_list
            roots += [node for i, node in enumerate(cls.body)
                      if not isinstance(node, _DEFS) and not (i == 0 and _is_docstring(node))]
            roots += [methods[name] for name in _STATE_METHODS if name in methods]
        # What the roots use, transitively: module functions by name, methods by self.x.
        fixed_functions: Set[str] = set()
        fixed_methods: Set[str] = {name for name in _STATE_METHODS if name in methods}
        todo = list(roots)
        while todo:
            node = todo.pop()
            for name in _names(node) & functions.keys() - fixed_functions:
                fixed_functions.add(name)
                todo.append(functions[name])
            for name in _self_attributes(node) & methods.keys() - fixed_methods:
                fixed_methods.add(name)
                todo.append(methods[name])
        self.swappable: List[ast.stmt] = []
        # The fixed part: ("class", the predictor class minus what may change) or
        # ("statement", one module-level statement), positions left out.
        key: List[Tuple[str, str]] = []
        for node in body:
            if node is self.target:
                self.swappable.append(node)
                key.append(("class", self._header(node, fixed_methods)))
            elif isinstance(node, _DEFS) and node.name not in fixed_functions:
                self.swappable.append(node)
            else:
                key.append(("statement", ast.dump(node)))
        self.key = key

    @staticmethod
    def _header(node: ast.stmt, fixed_methods: Set[str]) -> str:
        if not isinstance(node, ast.ClassDef):  # a function predictor: all of it may change
            return "def " + node.name  # type: ignore[attr-defined]
        kept = [item for i, item in enumerate(node.body)
                if not (i == 0 and _is_docstring(item))
                and (not isinstance(item, _DEFS) or item.name in fixed_methods)]
        parts = (node.bases, node.keywords, node.decorator_list, getattr(node, "type_params", []),
                 kept)
        return repr((node.name,) + tuple([ast.dump(item) for item in part] for part in parts))


def _first_difference(old: List[Tuple[str, str]], new: List[Tuple[str, str]]) -> str:
    for index, (a, b) in enumerate(zip(old, new)):
        if a != b:
            if a[0] == b[0] == "class":
                return "setup() or what it depends on in the predictor class changed"
            return "module-level code changed (the {} fixed statement)".format(_nth(index + 1))
    return "module-level code changed (statements added or removed)"


def _nth(n: int) -> str:
    return "{}{}".format(n, "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
        n % 10, "th"))


def _stat(path: str) -> Optional[Tuple[int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class Reloader:
    """What a worker needs to decide on a reload; made when setup() is done."""

    def __init__(self, predictor: Predictor) -> None:
        path = predictor.ref.partition(":")[0]
        self._path = os.path.abspath(path)
        self._root = os.path.realpath(os.getcwd())
        self._source = (predictor.source or b"").decode("utf-8", errors="surrogateescape")
        self._ready_ns = time.time_ns()
        self._files: Dict[str, Optional[Tuple[int, int]]] = {}
        for name in _CONFIG_FILES:
            self._files[os.path.join(self._root, name)] = _stat(os.path.join(self._root, name))
        for module_path in self._project_modules():
            self._files[module_path] = _stat(module_path)

    def _project_modules(self) -> List[str]:
        """Files of the project's modules imported so far, other than the predictor's."""
        own = os.path.realpath(self._path)
        prefixes = (self._root + os.sep, os.getcwd() + os.sep)
        found = []
        for module in list(sys.modules.values()):
            file = getattr(module, "__file__", None)
            # a cheap test first: thousands of modules may be loaded (torch...)
            if not isinstance(file, str) or not file.startswith(prefixes) \
                    or not file.endswith(".py") or "-packages" + os.sep in file:
                continue
            real = os.path.realpath(file)
            if real != own and real.startswith(self._root + os.sep):
                found.append(real)
        return found

    def _changed_file(self) -> Optional[str]:
        for path, before in self._files.items():
            if _stat(path) != before:
                return path
        for path in self._project_modules():
            if path not in self._files:  # imported after setup: changed since then?
                now = _stat(path)
                if now is None or now[0] >= self._ready_ns:
                    return path
                self._files[path] = now
        return None

    def swap(self, current: Predictor, rid: str) -> Tuple[Optional[Predictor], Dict[str, Any]]:
        """(the new predictor or None, the answer to reload ``rid``)."""
        try:
            predictor, reason = self._swap(current)
        except ReloadRefused as refused:
            return None, {"type": "reload_refused", "id": rid, "reason": refused.reason}
        return predictor, {"type": "reloaded", "id": rid, "predictor": predictor.info,
                           "signature": predictor.signature, "reason": reason}

    def _swap(self, current: Predictor) -> Tuple[Predictor, str]:
        module = current.module
        if module is None or current.instance is None and current.kind == "class":
            raise ReloadRefused("the predictor was not loaded from a file")
        changed = self._changed_file()
        if changed is not None:
            raise ReloadRefused("{} changed".format(os.path.relpath(changed, self._root)))
        try:
            source = _read(self._path)
        except OSError as err:
            raise ReloadRefused("cannot read {}: {}".format(self._path, err.strerror)) from None
        if source == self._source:
            return current, UNCHANGED
        name = current.target.__name__
        try:
            old = _Split(ast.parse(self._source, self._path), name)
            new = _Split(ast.parse(source, self._path), name)
        except SyntaxError as err:
            raise ReloadRefused("the new code does not parse ({})".format(error_text(err))) \
                from None
        if old.key != new.key:
            raise ReloadRefused(_first_difference(old.key, new.key))
        predictor = self._load(current, new, source)
        self._source = source
        return predictor, KEPT

    def _load(self, current: Predictor, new: _Split, source: str) -> Predictor:
        module = current.module
        assert module is not None
        namespace = module.__dict__
        bound = [node.name for node in new.swappable]  # type: ignore[attr-defined]
        saved = {name: namespace.get(name, _MISSING) for name in bound}
        instance = current.instance
        old_class = current.target if isinstance(current.target, type) else None
        try:
            body = [_methods_only(node) for node in new.swappable]
            code = compile(ast.Module(body=body, type_ignores=[]), self._path, "exec")
            exec(code, namespace)  # noqa: S102 - the user's own code, as at import
            target = namespace[current.target.__name__]
            if old_class is not None:
                # Class-level statements did not change and do not run again: their
                # values (and whatever setup() put on the class) come from the old class.
                for name, value in vars(old_class).items():
                    if name not in vars(target) and name not in _CLASS_OWN:
                        setattr(target, name, value)
            if instance is not None:
                instance.__class__ = target
            predictor = Predictor(current.ref, current.mode, instantiate=True, target=target,
                                  instance=instance)
            _check_compatible(current, predictor)
        except BaseException as err:  # noqa: BLE001 - the old code keeps running
            for name, value in saved.items():
                if value is _MISSING:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value
            if instance is not None and old_class is not None and type(instance) is not old_class:
                try:
                    instance.__class__ = old_class
                except TypeError:
                    pass
            if isinstance(err, ReloadRefused):
                raise
            raise ReloadRefused("the new code failed to load ({})".format(error_text(err))) \
                from None
        predictor.module = module
        return predictor


def _methods_only(node: ast.stmt) -> ast.stmt:
    """A class definition with only its methods (and docstring); anything else as is."""
    if not isinstance(node, ast.ClassDef):
        return node
    kept = copy.copy(node)
    kept.body = [item for i, item in enumerate(node.body)
                 if isinstance(item, _DEFS) or (i == 0 and _is_docstring(item))] \
        or [ast.copy_location(ast.Pass(), node)]
    return kept


def _check_compatible(old: Predictor, new: Predictor) -> None:
    for key, what in (("kind", "class or function"), ("method", "method"),
                      ("is_async", "sync or async"), ("concurrent_max", "@concurrent(max)")):
        if old.info[key] != new.info[key]:
            raise ReloadRefused("the predictor's {} changed ({!r} -> {!r})".format(
                what, old.info[key], new.info[key]))


def _read(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", errors="surrogateescape")
