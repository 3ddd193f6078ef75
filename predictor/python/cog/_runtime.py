"""cog._runtime - the Python half of cog-fcgi's worker: load, setup, predict, cancel.

The C worker (predictor/worker/py_runtime.c) calls start() once and handle() per
"predict" frame; both return the frame to send (a dict of JSON values). Items
of iterator outputs and metrics are sent as they happen through the emit
callable (the C module _cogfcgi's send() in the worker).
"""
import asyncio
import base64
import inspect
import io
import numbers
import os
import pathlib
import signal
import sys
import tempfile
import traceback
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, List, Optional

from . import _loader, _logs, _schema
from . import _types as t
from .predictor import BasePredictor, BaseRunner
from .scope import Scope, _set_scope, current_scope
from .server.exceptions import CancelationException
from .types import Path, Secret

Emit = Callable[[Dict[str, Any]], None]

HEALTHCHECK_TIMEOUT = 5.0  # seconds, as Cog's
_CONCURRENCY_ERROR = ("max_concurrency > 1 requires an async predict function, "
                      "e.g. `async def predict()`")


class OutputTypeError(Exception):
    """A returned value does not match the return annotation."""


def flush_stdio() -> None:
    """Pushes Python's buffered stdout/stderr to the fds the front reads, and, in the worker,
    what they hold on to the front as log frames (before an os._exit)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
    try:
        import _cogfcgi  # the C module of the worker binary; absent in plain Python
    except ImportError:
        return
    _cogfcgi.flush_logs()


# ---- loading ---------------------------------------------------------------

class Entry:
    """One loaded entry point (predict or train): the callable and what it declares.

    schema is what the front was told (from the fast path when it worked); sig is read from
    the real callable and drives input conversion and output checks."""

    def __init__(self, project: str, ref: str, mode: str, instances: Dict[str, Any],
                 schema: Optional[Dict[str, Any]] = None):
        self.mode = mode
        self.instance, self.fn = _loader.import_target(project, ref, mode, instances)
        self.sig = _loader.signature_of(project, self.fn)
        self.schema = schema if schema is not None else _schema.schema_for(self.sig, mode)
        if mode == "predict" and getattr(self.fn, "_cog_streaming", False):
            self.schema["streaming"] = True  # @cog.streaming: x-cog-streaming in the OpenAPI
        self.is_async = inspect.iscoroutinefunction(self.fn) or inspect.isasyncgenfunction(self.fn)
        self.out_item = t.iterator_item(t.split_optional(self.sig.output)[0])
        if self.out_item is None and (inspect.isgeneratorfunction(self.fn)
                                      or inspect.isasyncgenfunction(self.fn)):
            item = t.list_item(t.split_optional(self.sig.output)[0])
            self.out_item = Any if item is None else item
        self.concurrency = getattr(self.fn, "_cog_concurrency", None)


def _where_of(project: str, fn: Any) -> str:
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is None:
        return "?, line 1"
    return _loader._where(project, code.co_filename, code.co_firstlineno)


# ---- input conversion --------------------------------------------------------

def _convert_input(value: Any, tp: Any, opened: List[Any]) -> Any:
    """A validated JSON input value as the Python object the annotation asks for."""
    if value is None:
        return None
    tp, _ = t.split_optional(tp)
    members = t.union_args(tp)
    if members is not None:
        for m in members:
            if (m is str and isinstance(value, str)) or (m is int and isinstance(value, int)
                                                         and not isinstance(value, bool)):
                return value
        return _convert_input(value, members[0], opened)
    item = t.list_item(tp)
    if item is not None:
        return [_convert_input(v, item, opened) for v in value]
    if t.is_file(tp):
        f = open(value, "rb")
        opened.append(f)
        return f
    if t.is_path(tp):
        return Path(value)
    if t.is_secret(tp):
        return Secret(value)
    # A float input arrives as an int only when it is the default as written
    # (`Input(default=1)`): the front sends validated values as floats, and pydantic 1
    # does not validate defaults, so Cog passes the int as it is.
    return value


def _weights_value(annotation: Any) -> Any:
    """setup(weights=...): COG_WEIGHTS (URL or data URI), else ./weights, else None."""
    tp, _ = t.split_optional(annotation)
    source = os.environ.get("COG_WEIGHTS")
    if source:
        if tp is str or tp is inspect.Parameter.empty or tp is Any:
            return source
        local = _fetch(source)
    elif os.path.exists("weights"):
        if tp is str:
            return "weights"
        local = "weights"
    else:
        return None
    if t.is_file(tp) and os.path.isfile(local):
        return open(local, "rb")
    return Path(local)


def _fetch(url: str) -> str:
    """A local path for a weights URL: data URIs decoded, http(s) downloaded."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        raw = base64.b64decode(data) if header.endswith(";base64") \
            else urllib.parse.unquote_to_bytes(data)
        fd, path = tempfile.mkstemp(prefix="cog-weights-")
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        return path
    if url.startswith(("http://", "https://")):
        name = os.path.basename(urllib.parse.urlparse(url).path) or "weights"
        path = os.path.join(tempfile.mkdtemp(prefix="cog-weights-"), name)
        urllib.request.urlretrieve(url, path)
        return path
    return url


# ---- output conversion -------------------------------------------------------

def _file_ref(value: Any) -> Dict[str, str]:
    """{"$cogfile": abs path} for a path or a file object (nameless ones go to a temp file)."""
    if isinstance(value, (str, os.PathLike)):
        return {"$cogfile": os.path.abspath(os.fspath(value))}
    name = getattr(value, "name", None)
    if isinstance(name, str) and os.path.isfile(name):
        return {"$cogfile": os.path.abspath(name)}
    if hasattr(value, "seek"):
        try:
            value.seek(0)
        except Exception:
            pass
    data = value.read()
    if isinstance(data, str):
        data = data.encode()
    suffix = os.path.basename(name) if isinstance(name, str) and name else ""
    folder = tempfile.mkdtemp(prefix="cog-output-")
    path = os.path.join(folder, suffix or "output")
    with open(path, "wb") as f:
        f.write(data)
    return {"$cogfile": path}


def _wrong(tp: Any, value: Any) -> OutputTypeError:
    return OutputTypeError(f"output has the wrong type: expected {t.type_name(tp)}, "
                           f"got {type(value).__name__}")


def encode_output(value: Any, tp: Any) -> Any:
    """Checks value against annotation tp and turns it into JSON values (files as $cogfile).

    Raises OutputTypeError naming the expected and actual type."""
    if tp is Any or tp is object or tp is inspect.Parameter.empty:
        return encode_any(value)
    if tp is t.NoneType or tp is None:
        if value is None:
            return None
        raise _wrong(tp, value)
    inner, optional = t.split_optional(tp)
    if value is None:
        if optional:
            return None
        raise _wrong(tp, value)
    members = t.union_args(inner)
    if members is not None:
        for m in members:
            try:
                return encode_output(value, m)
            except OutputTypeError:
                continue
        raise _wrong(tp, value)
    if inner is bool:
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            return bool(value)
        raise _wrong(inner, value)
    if inner is int:
        if isinstance(value, numbers.Integral):
            return int(value)
        raise _wrong(inner, value)
    if inner is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        raise _wrong(inner, value)
    if inner is str:
        if isinstance(value, str):
            return str(value)
        raise _wrong(inner, value)
    if t.is_path(inner) or t.is_file(inner):
        if isinstance(value, (str, os.PathLike, io.IOBase)) or hasattr(value, "read"):
            return _file_ref(value)
        raise _wrong(inner, value)
    if t.is_secret(inner):
        if isinstance(value, Secret):
            return value.get_secret_value()
        if isinstance(value, str):
            return value
        raise _wrong(inner, value)
    item = t.list_item(inner)
    if item is None:
        item = t.iterator_item(inner)
    if item is not None:
        if isinstance(value, (list, tuple, set, frozenset)) or inspect.isgenerator(value):
            return [encode_output(v, item) for v in value]
        raise _wrong(inner, value)
    if t.is_dict(inner):
        if isinstance(value, dict):
            vtype = t.dict_value(inner)
            if vtype is None or vtype is Any:
                return {str(k): encode_any(v) for k, v in value.items()}
            return {str(k): encode_output(v, vtype) for k, v in value.items()}
        raise _wrong(inner, value)
    if t.is_model(inner):
        if isinstance(value, dict):
            value = inner(**value)
        if not isinstance(value, inner):
            raise _wrong(inner, value)
        return {name: encode_output(getattr(value, name, None), ftype)
                for name, ftype in t.model_fields(inner).items()}
    if isinstance(inner, type) and isinstance(value, inner):
        return encode_any(value)
    raise _wrong(inner, value)


def encode_any(value: Any) -> Any:
    """JSON values for an Any / dict output, with no type to check against."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, pathlib.PurePath) or isinstance(value, io.IOBase):
        return _file_ref(value)
    if isinstance(value, Secret):
        return value.get_secret_value()
    if t.is_model(type(value)):
        return {name: encode_output(getattr(value, name, None), ftype)
                for name, ftype in t.model_fields(type(value)).items()}
    if isinstance(value, dict):
        return {str(k): encode_any(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)) or inspect.isgenerator(value):
        return [encode_any(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return encode_any(value.tolist())
    if hasattr(value, "item"):
        return encode_any(value.item())
    for dump in ("model_dump", "dict"):  # pydantic models
        if callable(getattr(value, dump, None)):
            return encode_any(getattr(value, dump)())
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses
        return encode_any(dataclasses.asdict(value))
    raise OutputTypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# ---- the runtime -------------------------------------------------------------

def _done(status: str, output: Any = None, error: Optional[str] = None,
          pid: Optional[str] = None) -> Dict[str, Any]:
    msg: Dict[str, Any] = {"type": "done", "status": status, "output": output, "error": error}
    if pid is not None:
        msg["id"] = pid
    return msg


class _TaskStream:
    """sys.stdout/stderr while several predictions run at once: what a task
    prints goes to the front as a log frame with its prediction's id (the
    captured fds 1 and 2 cannot tell whose it is); outside a task, through."""

    def __init__(self, inner: Any, emit: Emit):
        self._inner = inner
        self._emit = emit

    def write(self, text: str) -> int:
        pid = current_scope()._prediction_id
        if pid is None or not text:
            return self._inner.write(text)
        self._emit({"type": "log", "id": pid, "text": text})
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Runtime:
    """One worker's predictors, its event loop for async ones, and the cancel state."""

    @property
    def current_id(self) -> Optional[str]:
        """The id of the prediction this code runs for, from its scope (a context
        variable): per task when several run at once in the event loop
        (concurrency.max > 1), so outputs and metrics carry it."""
        return current_scope()._prediction_id

    def __init__(self, emit: Optional[Emit] = None):
        self.emit = emit or (lambda msg: None)
        self.entries: Dict[str, Entry] = {}
        self.schemas: Dict[str, Dict[str, Any]] = {}
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.running = False
        self.cancel_requested = False
        self.task: Optional["asyncio.Task[Any]"] = None
        self.tasks: Dict[str, "asyncio.Task[Any]"] = {}  # concurrent ones, by id
        self.canceled: set = set()

    # -- start-up ------------------------------------------------------------

    @staticmethod
    def _refs(predict_ref: Optional[str], train_ref: Optional[str]) -> Dict[str, str]:
        refs = {m: r for m, r in (("predict", predict_ref), ("train", train_ref)) if r}
        if not refs:
            raise _loader.LoadError("cog.yaml, line 1: no predict or train entry configured")
        return refs

    def read_schemas(self, project: str, predict_ref: Optional[str],
                     train_ref: Optional[str]) -> None:
        """The schemas without setup (fast path, else a full import); raises LoadError."""
        for mode, ref in self._refs(predict_ref, train_ref).items():
            self.schemas[mode], _ = _loader.schema_of(project, ref, mode)

    def load(self, project: str, predict_ref: Optional[str],
             train_ref: Optional[str]) -> None:
        """Imports the project and reads the signatures; raises LoadError."""
        instances: Dict[str, Any] = {}
        for mode, ref in self._refs(predict_ref, train_ref).items():
            self.entries[mode] = Entry(project, ref, mode, instances, self.schemas.get(mode))
            self.schemas[mode] = self.entries[mode].schema
            entry = self.entries[mode]
            setup = getattr(entry.instance, "setup", None)
            if setup is not None and inspect.iscoroutinefunction(setup) and not entry.is_async:
                # Cog refuses this pairing when it loads the predictor
                raise _loader.LoadError(
                    f"{_where_of(project, setup)}: Invalid predictor: "
                    "to use an async setup method you must use an async predict method")

    def concurrency(self) -> int:
        entry = self.entries.get("predict") or self.entries.get("train")
        value = os.environ.get("COG_MAX_CONCURRENCY")
        if value:
            return int(value)
        if entry is not None and entry.concurrency:
            return int(entry.concurrency)
        return 1

    def _ready(self, ok: bool, error: Optional[str], concurrency: int = 1) -> Dict[str, Any]:
        return {"type": "ready", "ok": ok, "error": error,
                "predict": self.schemas.get("predict"), "train": self.schemas.get("train"),
                "concurrency": concurrency,
                "healthcheck": self._healthcheck_fn() is not None,
                "python_version": ".".join(str(v) for v in sys.version_info[:3])}

    def _load_failed(self, exc: BaseException) -> Dict[str, Any]:
        """The ready frame of a predictor that cannot be loaded: the traceback in the logs,
        then the one-line reason ("file, line N: why") as the last log line and the error."""
        if isinstance(exc, KeyboardInterrupt):
            raise exc
        message = str(exc) or type(exc).__name__
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        sys.stderr.write("Error while loading predictor:\n\n")
        if isinstance(exc, _loader.LoadError) and exc.where is None:
            # found by cog itself (a signature Cog refuses): the message names the
            # model's file and line; our own frames would only point away from it
            sys.stderr.write(message + "\n")
        else:
            # raised by the model's code: its traceback, whose frames name the line
            traceback.print_exception(type(cause), cause, cause.__traceback__)
        flush_stdio()
        self.entries.clear()
        return self._ready(False, message)

    # -- the user's healthcheck() (Cog 0.16.10+) ---------------------------------

    def _healthcheck_fn(self) -> Any:
        for entry in self.entries.values():
            fn = getattr(entry.instance, "healthcheck", None) if entry.instance else None
            if callable(fn):
                return fn
        return None

    async def _healthcheck_async(self) -> Dict[str, Any]:
        """Runs healthcheck() with Cog's 5 s limit: a sync one in a thread."""
        fn = self._healthcheck_fn()
        error = None
        try:
            if fn is not None:
                if inspect.iscoroutinefunction(fn):
                    result = await asyncio.wait_for(fn(), timeout=HEALTHCHECK_TIMEOUT)
                else:
                    loop = asyncio.get_running_loop()
                    result = await asyncio.wait_for(loop.run_in_executor(None, fn),
                                                    timeout=HEALTHCHECK_TIMEOUT)
                if not bool(result):
                    error = "Healthcheck failed: user-defined healthcheck returned False"
        except asyncio.TimeoutError:
            error = ("Healthcheck failed: user-defined healthcheck timed out after "
                     f"{HEALTHCHECK_TIMEOUT} seconds")
        except Exception as exc:  # what the user's code raised is the answer
            error = f"Healthcheck failed: {exc}"
        flush_stdio()
        return {"type": "healthcheck", "ok": error is None, "error": error}

    def healthcheck(self) -> Dict[str, Any]:
        """The healthcheck frame, for the one-at-a-time serve loop."""
        return self._loop().run_until_complete(self._healthcheck_async())

    def start(self, project: str, predict_ref: Optional[str],
              train_ref: Optional[str]) -> Dict[str, Any]:
        """Reads the schemas and sends them (a schema frame) before anything of the model runs,
        then imports, runs setup() once and returns the ready frame. With
        COG_FCGI_SCHEMA_ONLY=1 in the environment (`cog-fcgi schema`) it stops after the
        schemas: nothing of the model but its declarations runs. With
        COG_FCGI_SCHEMA_ONLY=import it also imports the module for real and checks the
        predictor (the ready frame says what fails, with file and line) but does not run
        setup(): what `cog-fcgi check` can use to say what setup will lack."""
        signal.signal(signal.SIGUSR1, self._on_cancel_signal)
        _logs.install()
        try:
            self.read_schemas(project, predict_ref, train_ref)
        except BaseException as exc:  # SyntaxError, SystemExit at import... all are load errors
            self.schemas.clear()
            return self._load_failed(exc)
        only = os.environ.get("COG_FCGI_SCHEMA_ONLY")
        if only == "1":
            return self._ready(True, None)
        self.emit({"type": "schema", "predict": self.schemas.get("predict"),
                   "train": self.schemas.get("train")})
        try:
            self.load(project, predict_ref, train_ref)
        except BaseException as exc:
            return self._load_failed(exc)
        if only == "import":
            # `cog-fcgi check`: the module imports and the predictor is valid; setup() is
            # not run
            flush_stdio()
            return self._ready(True, None)
        concurrency = 1
        try:
            concurrency = self.concurrency()
            for entry in self.entries.values():
                if concurrency > 1 and not entry.is_async:
                    raise ValueError(_CONCURRENCY_ERROR)
            self._setup()
        except (Exception, SystemExit) as exc:
            _logs.end_lines()
            traceback.print_exc()
            flush_stdio()
            return self._ready(False, str(exc) or type(exc).__name__, concurrency)
        _logs.end_lines()
        flush_stdio()
        return self._ready(True, None, concurrency)

    def _setup(self) -> None:
        done = set()
        for entry in self.entries.values():
            inst = entry.instance
            if inst is None or id(inst) in done or not hasattr(inst, "setup"):
                continue
            done.add(id(inst))
            setup = inst.setup
            kwargs = {}
            params = inspect.signature(setup).parameters
            if "weights" in params:
                kwargs["weights"] = _weights_value(params["weights"].annotation)
            if inspect.iscoroutinefunction(setup):
                if not entry.is_async:
                    raise ValueError("async setup requires an async predict function")
                self._loop().run_until_complete(setup(**kwargs))
            else:
                setup(**kwargs)

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
        return self.loop

    # -- cancel ----------------------------------------------------------------

    def _on_cancel_signal(self, signum: int, frame: Any) -> None:
        """SIGUSR1: cancel the running prediction; ignored between predictions."""
        if not self.running:
            return
        self.cancel_requested = True
        if self.task is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
            return
        raise CancelationException()

    # -- predictions -------------------------------------------------------------

    def _send_item(self, item: Any, item_type: Any) -> None:
        value = encode_output(item, item_type)
        flush_stdio()  # logs printed before the yield come first
        msg = {"type": "output", "item": value}
        if self.current_id is not None:
            msg["id"] = self.current_id
        self.emit(msg)

    def _kwargs(self, entry: Entry, inputs: Dict[str, Any], opened: List[Any]) -> Dict[str, Any]:
        if entry.sig.var_kwargs:
            return dict(inputs)
        kwargs = {}
        for p in entry.sig.params:
            if p.name in inputs:
                kwargs[p.name] = _convert_input(inputs[p.name], p.annotation, opened)
            elif not p.required:
                kwargs[p.name] = p.default_value()
        return kwargs

    def _call_sync(self, entry: Entry, kwargs: Dict[str, Any]) -> Any:
        result = entry.fn(**kwargs)
        if entry.out_item is not None and result is not None and not isinstance(result, (str, bytes)) \
                and hasattr(result, "__iter__"):
            for item in result:
                self._send_item(item, entry.out_item)
            return None
        return encode_output(result, entry.sig.output)

    async def _call_async(self, entry: Entry, kwargs: Dict[str, Any]) -> Any:
        result = entry.fn(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        if entry.out_item is not None and result is not None:
            if hasattr(result, "__aiter__"):
                async for item in result:
                    self._send_item(item, entry.out_item)
                return None
            if hasattr(result, "__iter__") and not isinstance(result, (str, bytes)):
                for item in result:
                    self._send_item(item, entry.out_item)
                return None
        return encode_output(result, entry.sig.output)

    def handle(self, msg: Dict[str, Any]) -> Dict[str, Any]:
        """Runs one prediction; returns the done frame. Never raises an Exception.

        The prediction counts as running (SIGUSR1 cancels it) from the first
        line on: the C loop has already run the handlers of signals that
        arrived before the frame, so any later one is meant for this one."""
        self.cancel_requested = False
        self.running = True
        pid = msg.get("id")
        opened: List[Any] = []
        previous = None
        try:
            mode = msg.get("mode") or "predict"
            entry = self.entries.get(mode)
            if entry is None:
                raise ValueError(f"This model has no {mode} entry")
            context = dict(msg.get("context") or {})
            if pid is not None:
                context["id"] = pid
            previous = _set_scope(Scope(context, self._emit_metric, pid))
            kwargs = self._kwargs(entry, msg.get("input") or {}, opened)
            if entry.is_async:
                self.task = self._loop().create_task(self._call_async(entry, kwargs))
                output = self._loop().run_until_complete(self.task)
            else:
                output = self._call_sync(entry, kwargs)
            self.running = False
            return _done("succeeded", output, pid=pid)
        except (CancelationException, asyncio.CancelledError) as exc:
            self.running = False
            if self.cancel_requested:
                return _done("canceled", pid=pid)
            _logs.end_lines()
            traceback.print_exc()
            return _done("failed", error=str(exc) or type(exc).__name__, pid=pid)
        except OutputTypeError as exc:
            self.running = False
            _logs.end_lines()
            sys.stderr.write(f"{exc}\n")
            return _done("failed", error=str(exc), pid=pid)
        except MemoryError:
            self.running = False
            _logs.end_lines()
            traceback.print_exc()
            return _done("failed", error="MemoryError: the model ran out of memory "
                         "(the worker's --worker-memory limit or the host's)", pid=pid)
        except (Exception, KeyboardInterrupt) as exc:
            self.running = False
            _logs.end_lines()
            traceback.print_exc()
            # str(e), as Cog reports it: an exception without a message is "" (the
            # traceback in the logs says what it was)
            return _done("failed", error=str(exc), pid=pid)
        except SystemExit as exc:
            # Cog treats this as the worker dying; the front restarts us.
            self.running = False
            flush_stdio()
            code = exc.code if isinstance(exc.code, int) else 1
            os._exit(code)
        finally:
            self.running = False
            self.task = None
            if previous is not None:
                _set_scope(previous)
            for f in opened:
                try:
                    f.close()
                except Exception:
                    pass
            _logs.end_lines()
            # No flush_stdio() here: the worker's C loop flushes sys.stdout/stderr and the
            # captured fds before it sends the done frame this returns (py_worker.c
            # send_frame), and flushing twice was a tenth of a no-op prediction's work.

    # -- several at once: the event loop reads the frames ------------------------

    async def _run_one(self, msg: Dict[str, Any]) -> None:
        """One prediction as a task of the loop; sends its done frame."""
        pid = msg.get("id")
        opened: List[Any] = []
        done: Dict[str, Any]
        try:
            mode = msg.get("mode") or "predict"
            entry = self.entries.get(mode)
            if entry is None:
                raise ValueError(f"This model has no {mode} entry")
            context = dict(msg.get("context") or {})
            if pid is not None:
                context["id"] = pid
            _set_scope(Scope(context, self._emit_metric, pid))  # this task's context only
            kwargs = self._kwargs(entry, msg.get("input") or {}, opened)
            output = await self._call_async(entry, kwargs)
            done = _done("succeeded", output, pid=pid)
        except (CancelationException, asyncio.CancelledError) as exc:
            if pid in self.canceled:
                done = _done("canceled", pid=pid)
            else:
                traceback.print_exc()
                done = _done("failed", error=str(exc) or type(exc).__name__, pid=pid)
        except OutputTypeError as exc:
            sys.stderr.write(f"{exc}\n")
            done = _done("failed", error=str(exc), pid=pid)
        except SystemExit as exc:
            flush_stdio()
            os._exit(exc.code if isinstance(exc.code, int) else 1)
        except BaseException as exc:  # noqa: B902 - a prediction never takes the loop down
            traceback.print_exc()
            done = _done("failed", error=str(exc) or type(exc).__name__, pid=pid)
        finally:
            self.canceled.discard(pid)
            for f in opened:
                try:
                    f.close()
                except Exception:
                    pass
        flush_stdio()
        self.emit(done)

    def serve(self) -> None:
        """Serves predict and cancel frames until the front closes the socket,
        running up to concurrency.max predictions at once as tasks of one event
        loop. The front sends no more than that many at a time."""
        import _cogfcgi  # the C module of the worker binary
        loop = self._loop()
        fd = _cogfcgi.ipc_fd()
        stop = loop.create_future()

        def on_frame() -> None:
            try:
                msg = _cogfcgi.recv()
            except OSError:
                msg = None
            kind = msg.get("type") if msg is not None else "shutdown"
            if kind == "predict":
                pid = msg.get("id")
                task = loop.create_task(self._run_one(msg))
                self.tasks[pid] = task
                task.add_done_callback(lambda _t, pid=pid: self.tasks.pop(pid, None))
            elif kind == "cancel":
                task = self.tasks.get(msg.get("id"))
                if task is not None:
                    self.canceled.add(msg.get("id"))
                    task.cancel()
            elif kind == "healthcheck":
                task = loop.create_task(self._healthcheck_async())
                task.add_done_callback(lambda t: self.emit(t.result()))
            elif kind == "shutdown":
                loop.remove_reader(fd)
                if not stop.done():
                    stop.set_result(None)

        sys.stdout = _TaskStream(sys.stdout, self.emit)  # type: ignore[assignment]
        sys.stderr = _TaskStream(sys.stderr, self.emit)  # type: ignore[assignment]
        loop.add_reader(fd, on_frame)
        loop.run_until_complete(stop)

    def _emit_metric(self, msg: Dict[str, Any]) -> None:
        msg = dict(msg)
        msg["value"] = encode_any(msg["value"])
        if self.current_id is not None:
            msg["id"] = self.current_id
        flush_stdio()
        self.emit(msg)


# ---- entry points for the C worker ------------------------------------------------

_runtime: Optional[Runtime] = None


def _c_emit(msg: Dict[str, Any]) -> None:
    import _cogfcgi  # the C module of the worker binary
    _cogfcgi.send(msg)


def start(project: str, predict_ref: Optional[str], train_ref: Optional[str]) -> Dict[str, Any]:
    """Called once by the worker: returns the ready frame."""
    global _runtime
    _runtime = Runtime(_c_emit)
    return _runtime.start(project, predict_ref, train_ref)


def serve() -> None:
    """Called by the worker after a ready frame with concurrency > 1."""
    if _runtime is not None:
        _runtime.serve()


def healthcheck() -> Dict[str, Any]:
    """Called per healthcheck frame by the worker: returns the answer frame."""
    if _runtime is None:
        return {"type": "healthcheck", "ok": False, "error": "Healthcheck failed: not started"}
    return _runtime.healthcheck()


def handle(msg: Dict[str, Any]) -> Dict[str, Any]:
    """Called per predict frame by the worker: returns the done frame."""
    if _runtime is None:
        return _done("failed", error="worker not started", pid=msg.get("id"))
    return _runtime.handle(msg)
