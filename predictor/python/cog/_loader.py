"""cog._loader - finding a predictor: its schema from the fast path, its callable from a full import.

Two ways to get at a predictor reference (`predict.py:Predictor`, `predict.py:predict`):

* schema_of(): the schema only. The module is stripped (cog._fastload) and the stripped copy
  is run; the class is not instantiated (its __init__ does not run). Only if that fails is the
  module imported for real, still without instantiating or calling setup().
* import_target(): the real module, imported once per file, for serving.

Every failure is a LoadError whose message names the file, a line and the reason, as
"predict.py, line 12: No input type provided for parameter `x`".
"""
import importlib
import importlib.util
import inspect
import os
import sys
import traceback
import uuid
from typing import Any, Callable, Dict, Optional, Tuple

from . import _fastload, _schema
from .predictor import BasePredictor, BaseRunner


class LoadError(Exception):
    """The predictor cannot be loaded or typed.

    For what cog itself refuses (a signature, a missing class) str() is "file, line N:
    reason". For an exception the model's own code raised while being imported, str() is
    the exception's str(), as Cog reports it, and `where` holds "file, line N": the
    traceback in the logs names the frame too (the front prints it with the error)."""

    def __init__(self, message: str, where: Optional[str] = None):
        super().__init__(message)
        self.where = where


def split_ref(ref: str) -> Tuple[str, str]:
    path, sep, name = ref.rpartition(":")
    if not sep or not path or not name:
        raise LoadError(f"cog.yaml, line 1: invalid predictor reference {ref!r}: "
                        "expected file.py:Name")
    return path, name


def method_name(cls: type, mode: str) -> str:
    """train, or run for BaseRunner-style classes that define run() and not predict()."""
    if mode == "train":
        return "train"
    run = getattr(cls, "run", None)
    predict = getattr(cls, "predict", None)
    if run is not None and run is not BaseRunner.run and \
            (predict is None or predict is BasePredictor.predict):
        return "run"
    return "predict"


def _where(project: str, filename: Optional[str], line: Optional[int]) -> str:
    name = filename or "?"
    try:
        rel = os.path.relpath(name, project)
        if not rel.startswith(".."):
            name = rel
    except ValueError:
        pass
    return f"{name}, line {line or 1}"


def located(project: str, path: str, exc: BaseException) -> LoadError:
    """A LoadError for an exception raised while importing (or running) the project's file:
    the line is that of the deepest frame in the project, the reason the exception."""
    if isinstance(exc, LoadError):
        return exc
    if isinstance(exc, SyntaxError) and exc.filename:
        return LoadError(str(exc), _where(project, exc.filename, exc.lineno))
    filename, line = os.path.join(project, path), 1
    root = os.path.abspath(project) + os.sep
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        f = os.path.abspath(frame.f_code.co_filename)
        if f.startswith(root) and "/site-packages/" not in f:
            filename, line = f, lineno
    if isinstance(exc, SystemExit):
        reason = f"the module exited while being imported (sys.exit({exc.code!r}))"
    else:
        reason = str(exc) or type(exc).__name__
    return LoadError(reason, _where(project, filename, line))


def _definition_line(obj: Any) -> Tuple[Optional[str], Optional[int]]:
    fn = getattr(obj, "__func__", obj)
    code = getattr(fn, "__code__", None)
    if code is not None:
        return code.co_filename, code.co_firstlineno
    try:
        return inspect.getsourcefile(obj), inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        return None, None


def _callable_of(project: str, path: str, module: Any, name: str, mode: str,
                 make_instance: Callable[[type], Any]) -> Tuple[Any, Callable]:
    """(instance or None, the callable) of name in module; LoadError if there is none."""
    full = os.path.join(project, path)
    if not hasattr(module, name):
        raise LoadError(f"{_where(project, full, 1)}: Can't find {name} in {path}")
    target = getattr(module, name)
    if inspect.isclass(target):
        method = method_name(target, mode)
        fn = getattr(target, method, None)
        if fn is None or not callable(fn):
            filename, line = _definition_line(target)
            raise LoadError(f"{_where(project, filename or full, line)}: {name} has no "
                            f"{method}() method")
        instance = make_instance(target)
        return instance, getattr(instance, method)
    if callable(target):
        return None, target
    raise LoadError(f"{_where(project, full, 1)}: {name} in {path} is neither a class "
                    "nor a function")


def signature_of(project: str, fn: Callable) -> _schema.Signature:
    """read_signature, its TypeError turned into a LoadError at the function's line."""
    try:
        return _schema.read_signature(fn)
    except TypeError as exc:
        filename, line = _definition_line(fn)
        raise LoadError(f"{_where(project, filename, line)}: {exc}") from exc


# ---- the fast path -----------------------------------------------------------------

def _fast_schema(project: str, ref: str, mode: str) -> Dict[str, Any]:
    path, name = split_ref(ref)
    full = os.path.abspath(os.path.join(project, path))
    with open(full, encoding="utf-8") as f:
        source = f.read()
    module = _fastload.load(source, full, name, "_cog_fast_" + uuid.uuid4().hex)
    _, fn = _callable_of(project, path, module, name, mode, lambda cls: cls.__new__(cls))
    return _schema.schema_for(signature_of(project, fn), mode)


def schema_of(project: str, ref: str, mode: str) -> Tuple[Dict[str, Any], bool]:
    """(the SCHEMA of ipc.h, True if it came from the fast path). Never runs setup() or
    __init__; imports the module for real only when the stripped copy cannot be run.
    Raises LoadError."""
    try:
        return _fast_schema(project, ref, mode), True
    except Exception:  # anything: the full import decides
        pass
    path, name = split_ref(ref)
    module = import_file(project, path)
    _, fn = _callable_of(project, path, module, name, mode, lambda cls: cls.__new__(cls))
    return _schema.schema_for(signature_of(project, fn), mode), False


# ---- the full import ---------------------------------------------------------------

_modules: Dict[str, Any] = {}


def import_file(project: str, path: str) -> Any:
    """Imports a project file once (predict and train may share one); LoadError on failure.

    The module is named after the file, as Cog names it; it is registered in sys.modules
    (pydantic resolves a model's annotations through it) unless that would hide a module
    of the same name already imported (a predictor file called logging.py)."""
    full = os.path.abspath(os.path.join(project, path))
    if full in _modules:
        return _modules[full]
    name = os.path.splitext(os.path.basename(path))[0]
    saved_argv = sys.argv
    sys.argv = sys.argv[:1]  # as Cog: a model's argparse at import sees no arguments
    try:
        if not path.endswith(".py"):
            module = importlib.import_module(path.replace("/", "."))
        else:
            spec = importlib.util.spec_from_file_location(name, full)
            if spec is None or spec.loader is None:
                raise LoadError(f"{path}, line 1: cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            registered = name not in sys.modules
            if registered:
                sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                if registered:
                    sys.modules.pop(name, None)
                raise
    except FileNotFoundError as exc:
        if exc.filename and os.path.abspath(exc.filename) == full:
            raise LoadError(f"{path}, line 1: the file does not exist") from exc
        raise located(project, path, exc) from exc
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise located(project, path, exc) from exc
    finally:
        sys.argv = saved_argv
    _modules[full] = module
    return module


def import_target(project: str, ref: str, mode: str,
                  instances: Dict[str, Any]) -> Tuple[Any, Callable]:
    """(instance or None, callable) from the real module; a class is instantiated once per
    file and name (predict and train may share it). Raises LoadError."""
    path, name = split_ref(ref)
    module = import_file(project, path)
    key = f"{os.path.abspath(os.path.join(project, path))}:{name}"

    def make(cls: type) -> Any:
        if key not in instances:
            try:
                instances[key] = cls()
            except Exception as exc:
                raise located(project, path, exc) from exc
        return instances[key]
    return _callable_of(project, path, module, name, mode, make)
