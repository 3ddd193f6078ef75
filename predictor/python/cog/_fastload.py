"""cog._fastload - the predictor's types without running its module, as Cog's fast loader does.

Cog's HTTP process reads a predictor's signature from a stripped copy of its module: the
imports of a few well-known packages, the predictor class (or function) with empty method
bodies, its base classes, and the classes and module-level names its signatures refer to.
Nothing else of the module runs, so a module that downloads weights, starts a program or
imports a package missing here at import time still has its schema. When the stripped module
cannot be run (a name it needs was left out), the caller falls back to a full import.

The stripped module is compiled from the original file's syntax tree, so line numbers (and
the file name) in tracebacks and inspect results are those of the real file.
"""
import ast
import sys
import types
from typing import List, Optional, Set

# Modules whose imports are kept: importing them has no side effects a model relies on.
# Cog keeps cog, typing, typing_extensions, sys, os, functools, pydantic and numpy; the
# others are standard-library modules annotations often come from.
_KEEP_IMPORTS = {
    "cog", "typing", "typing_extensions", "sys", "os", "functools", "pydantic", "numpy",
    "__future__", "pathlib", "enum", "dataclasses", "collections", "io", "types",
}


def _names_in(node: Optional[ast.AST]) -> Set[str]:
    """Every plain name an expression reads (for a.b.c: a)."""
    out: Set[str] = set()
    if node is None:
        return out
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            out.add(sub.id)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            # a forward reference "Output" in an annotation
            try:
                out |= _names_in(ast.parse(sub.value, mode="eval"))
            except SyntaxError:
                pass
    return out


def _signature_names(fn: ast.AST) -> Set[str]:
    """Names used by a function's annotations and defaults."""
    assert isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
    args = fn.args
    out = _names_in(fn.returns)
    for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
        if a is not None:
            out |= _names_in(a.annotation)
    for d in args.defaults + [d for d in args.kw_defaults if d is not None]:
        out |= _names_in(d)
    return out


def _emptied(fn: ast.AST) -> ast.AST:
    """A method or function with its body replaced by `return None` and no decorators."""
    assert isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
    ret = ast.Return(value=ast.Constant(value=None))
    where = fn.body[0] if fn.body else fn
    ast.copy_location(ret, where)
    ast.copy_location(ret.value, where)
    fn.body = [ret]
    fn.decorator_list = []
    return fn


def _import_kept(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import):
        return all(a.name.split(".")[0] in _KEEP_IMPORTS for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or "").split(".")[0] in _KEEP_IMPORTS
    return False


def _assigned_names(node: ast.stmt) -> Set[str]:
    targets: List[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def strip(source: str, filename: str, name: str) -> ast.Module:
    """The syntax tree of the stripped module for predictor `name` (a class or a function).

    Raises LookupError when the module defines no top-level class or function of that name."""
    tree = ast.parse(source, filename)
    body = tree.body
    classes = {n.name: n for n in body if isinstance(n, ast.ClassDef)}
    functions = {n.name: n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assigns = {}
    for i, n in enumerate(body):
        for target in _assigned_names(n):
            assigns.setdefault(target, []).append(i)
    if name not in classes and name not in functions:
        raise LookupError(f"no top-level class or function {name}")

    keep: Set[int] = set()  # indexes into body
    emptied: Set[str] = {name}  # the predictor and its bases: method bodies go
    index = {id(n): i for i, n in enumerate(body)}
    pending = [name]
    seen: Set[str] = set()
    while pending:
        ref = pending.pop(0)
        if ref in seen:
            continue
        seen.add(ref)
        if ref == name and ref in functions:
            fn = functions[ref]
            keep.add(index[id(fn)])
            pending.extend(_signature_names(fn))
        elif ref in classes:
            cls = classes[ref]
            keep.add(index[id(cls)])
            for b in cls.bases + [k.value for k in cls.keywords]:
                if ref in emptied and isinstance(b, ast.Name):
                    emptied.add(b.id)
                pending.extend(_names_in(b))
            if ref in emptied:
                for item in cls.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        pending.extend(_signature_names(item))
                    elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                        pending.extend(_names_in(item.value))
            else:
                # a type the signatures use (an output model, an enum): kept whole
                for item in ast.walk(cls):
                    if isinstance(item, ast.AnnAssign):
                        pending.extend(_names_in(item.annotation))
                        pending.extend(_names_in(item.value))
                    elif isinstance(item, ast.Assign):
                        pending.extend(_names_in(item.value))
        elif ref in assigns:
            for i in assigns[ref]:
                keep.add(i)
                node = body[i]
                pending.extend(_names_in(getattr(node, "value", None)))
                pending.extend(_names_in(getattr(node, "annotation", None)))

    out: List[ast.stmt] = []
    for i, node in enumerate(body):
        if _import_kept(node):
            out.append(node)
        elif i in keep:
            if isinstance(node, ast.ClassDef) and node.name in emptied:
                node.decorator_list = []
                node.body = [_emptied(item) if isinstance(item, (ast.FunctionDef,
                                                                 ast.AsyncFunctionDef)) else item
                             for item in node.body]
            elif not isinstance(node, ast.ClassDef) and getattr(node, "name", None) == name:
                node = _emptied(node)
            out.append(node)
    tree.body = out
    return tree


def load(source: str, filename: str, name: str, module_name: str) -> types.ModuleType:
    """Runs the stripped module as module_name (registered in sys.modules: pydantic resolves
    annotations through it). Raises whatever running it raised."""
    tree = strip(source, filename, name)
    code = compile(tree, filename, "exec")
    module = types.ModuleType(module_name)
    module.__file__ = filename
    sys.modules[module_name] = module
    try:
        exec(code, module.__dict__)  # noqa: S102 - the user's own declarations
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
