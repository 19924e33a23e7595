"""Parse: a Python function object becomes a gast FunctionDef plus what later passes need to resolve names.

After this pass the function's AST is available with line numbers that point into its real file.
"""
from __future__ import annotations

import ast
import builtins
import dis
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass, field

from .. import syntax
from ..errors import MissingSourceError, SourceLocation, StaleSourceError


@dataclass
class ParsedFunction:
    """A user function's AST and the namespace its names resolve in."""

    pyfunc: object
    tree: syntax.FunctionDef
    filename: str
    first_line: int
    indent: int
    lines: list[str]
    nested: dict = field(default_factory=dict)   # helpers defined in the body, lifted out of it

    @property
    def name(self) -> str:
        return self.tree.name

    def location(self, node) -> SourceLocation | None:
        """Where `node` is in its file: the file of the function it was inlined from, if it was."""
        inlined_from = getattr(node, "srcgrad_parsed", None)
        if inlined_from is not None and inlined_from is not self:
            return inlined_from.location(node)
        lineno = getattr(node, "lineno", None)
        if lineno is None:
            return None
        index = lineno - 1
        text = self.lines[index] if 0 <= index < len(self.lines) else ""
        col = getattr(node, "col_offset", 0) + self.indent
        return SourceLocation(self.filename, self.first_line + index, col, " " * self.indent + text)

    @property
    def namespace(self) -> dict:
        """The names the function's body can see now: its module's globals and its closure."""
        return {**self.pyfunc.__globals__, **_closure_values(self.pyfunc), **self.nested}

    def lookup(self, identifier: str):
        """The object a free name refers to now (closure cell, module global or builtin), or raise
        KeyError."""
        if identifier in self.nested:
            return self.nested[identifier]
        closure = _closure_values(self.pyfunc)
        if identifier in closure:
            return closure[identifier]
        if identifier in self.pyfunc.__globals__:
            return self.pyfunc.__globals__[identifier]
        try:
            return getattr(builtins, identifier)
        except AttributeError:
            raise KeyError(identifier) from None


def python_function(fn):
    """The plain Python function behind `fn` (numba dispatchers expose it as `.py_func`)."""
    return getattr(fn, "py_func", fn)


def is_derivative(fn) -> bool:
    """Whether `fn` is a derivative srcgrad returned (a DerivativeFunction): its code is per argument kinds."""
    return callable(getattr(fn, "python_for", None))


def require_python_function(fn):
    """The Python function behind `fn`, or MissingSourceError saying why there is none."""
    fn = python_function(fn)
    if not inspect.isfunction(fn):
        raise MissingSourceError(
            f"{fn!r} is not a Python function, so srcgrad cannot read its source. "
            "Differentiate a function defined with `def` in a .py file, or register a derivative "
            "rule for it with srcgrad.rules.register_elementwise.")
    return fn


def parse_function(fn) -> ParsedFunction:
    """Read and parse the source of `fn`; raise MissingSourceError when there is none."""
    fn = require_python_function(fn)
    lifted = getattr(fn, "srcgrad_lifted", None)
    if lifted is not None:   # a closure lifted out of its enclosing function (see _lift_closure)
        return ParsedFunction(fn, syntax.clone(lifted.tree), lifted.filename, lifted.first_line, lifted.indent,
                              lifted.lines, lifted.nested)
    if fn.__name__ == "<lambda>":
        return _parse_lambda(fn)
    try:
        lines, first_line = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    except (OSError, TypeError) as exc:
        raise MissingSourceError(
            f"the source of {fn.__qualname__} is not available ({exc}). Functions created by exec, "
            "eval or typed at the interactive prompt have no source file: put the function in a "
            ".py module and import it.") from None
    source = "".join(lines)
    dedented = textwrap.dedent(source)
    _check_source_matches_code(fn, dedented, filename)
    indent = _indent_of(source) - _indent_of(dedented)
    tree = syntax.parse_module(dedented).body[0]
    tree.decorator_list = []
    parsed = ParsedFunction(fn, tree, filename, first_line, indent, dedented.splitlines())
    _lift_nested_functions(parsed)
    return parsed


def _parse_lambda(fn) -> ParsedFunction:
    """A lambda as `def lambda_at_line_N(params): return body`, found in its file's syntax tree by
    its line, parameters and the column of its body's first operation (a line may hold several)."""
    code = fn.__code__
    filename = inspect.getsourcefile(fn) or code.co_filename
    lines = linecache.getlines(filename)
    try:
        module = syntax.parse_module("".join(lines))
    except SyntaxError:
        module = None
    params = list(code.co_varnames[:code.co_argcount])
    start = next((p[:3:2] for p in code.co_positions() if p[0] is not None and p[2]), None)
    found = [] if module is None else [
        node for node in syntax.walk(module) if isinstance(node, syntax.gast.Lambda) and node.lineno == code.co_firstlineno
        and [a.id for a in node.args.args] == params and _spans(node.body, start)]
    if len(found) != 1:
        raise MissingSourceError(
            f"srcgrad could not find the source of the lambda at {filename}:{code.co_firstlineno}"
            + (" (several lambdas there look alike)" if found else "")
            + ". Define the function with `def` in a .py file.")
    lam = found[0]
    if not code.co_freevars:   # a lambda reading enclosing variables cannot be recompiled alone
        _check_source_matches_code(fn, f"_ = {ast.get_source_segment(''.join(lines), lam)}", filename)
    name = f"lambda_at_line_{code.co_firstlineno}"
    returned = syntax.gast.Return(value=lam.body)
    returned.srcgrad_origin = "return " + " ".join((ast.get_source_segment("".join(lines), lam.body) or "").split())
    tree = syntax.function(name, params, [syntax.gast.copy_location(returned, lam.body)])
    tree.args = lam.args   # defaults and keyword-only parameters too
    syntax.gast.copy_location(tree, lam)
    return ParsedFunction(fn, tree, filename, 1, 0, [line.rstrip("\n") for line in lines])


def _spans(node, position) -> bool:
    """Whether the source range of `node` holds (line, column) `position`."""
    if position is None:
        return True
    line, col = position
    return (node.lineno, node.col_offset) <= (line, col) <= (node.end_lineno, node.end_col_offset)


def _lift_nested_functions(parsed: ParsedFunction) -> None:
    """A helper defined in the body that reads only its arguments and globals (no enclosing
    variable) is a module-level function in all but place: it leaves the body and calls to it
    resolve to a function made from its compiled code, with its own source lines. A helper that
    reads enclosing variables (a right-hand side closing over the model's parameters) leaves too,
    taking them as parameters (see _lift_closure); one that cannot, stays, and the fence refuses it."""
    codes = {(c.co_name, c.co_firstlineno): c for c in parsed.pyfunc.__code__.co_consts if isinstance(c, types.CodeType)}
    helpers = {stmt.name for stmt in parsed.tree.body if isinstance(stmt, syntax.FunctionDef)}
    kept = []
    for stmt in parsed.tree.body:
        code = codes.get((getattr(stmt, "name", None), parsed.first_line + getattr(stmt, "lineno", 0) - 1))
        liftable = isinstance(stmt, syntax.FunctionDef) and code is not None and not stmt.decorator_list
        defaults = _defaults(stmt) if liftable else None
        if liftable and defaults is not False and not code.co_freevars:
            parsed.nested[stmt.name] = types.FunctionType(code, parsed.pyfunc.__globals__, stmt.name, defaults)
            continue
        if liftable and defaults is not False and _lift_closure(parsed, stmt, code, defaults, helpers):
            continue
        kept.append(stmt)
    parsed.tree.body = kept


def _lift_closure(parsed: ParsedFunction, stmt, code, defaults, helpers: set) -> bool:
    """Lift `stmt`, a helper reading the enclosing variables `code.co_freevars`, out of the body
    as a function taking them as trailing parameters, each call passing them: a closure reads
    their values when it is called, and so does the call. A helper it calls is one lifted before
    it: a closure among those passes on what that one reads. Only a helper the body calls by name
    and nothing else does (it is not passed around or bound again), without `nonlocal` or
    default values; False (left in place) otherwise."""
    nodes = syntax.nodes_in(parsed.tree)
    calls = [n for n in nodes if isinstance(n, syntax.gast.Call) and isinstance(n.func, syntax.gast.Name)
             and n.func.id == stmt.name]
    mentions = sum(1 for n in nodes if isinstance(n, syntax.gast.Name) and n.id == stmt.name)
    called_helpers = [v for v in code.co_freevars if v in helpers]
    if defaults or mentions != len(calls) or any(h not in parsed.nested for h in called_helpers) or any(
            isinstance(n, (syntax.gast.Nonlocal, syntax.gast.FunctionDef, syntax.gast.Lambda)) and n is not stmt
            for n in syntax.walk(stmt)):
        return False
    free = [v for v in code.co_freevars if v not in helpers]
    lifted = syntax.clone(stmt)
    for helper in called_helpers:   # a closure lifted before this one (its calls here pass what it reads already)
        free += [v for v in getattr(parsed.nested[helper], "srcgrad_reads", ()) if v not in free]
    lifted.args.args += [syntax.gast.Name(id=v, ctx=syntax.gast.Param(), annotation=None, type_comment=None) for v in free]
    tree = ast.fix_missing_locations(ast.Module(body=[syntax.gast.gast_to_ast(syntax.clone(lifted))], type_ignores=[]))
    function_code = next(c for c in compile(tree, parsed.filename, "exec").co_consts if isinstance(c, types.CodeType))
    function = types.FunctionType(function_code, parsed.pyfunc.__globals__, stmt.name, defaults)
    function.__qualname__ = f"{parsed.pyfunc.__qualname__}.<locals>.{stmt.name}"
    function.srcgrad_reads = tuple(free)
    function.srcgrad_lifted = ParsedFunction(function, lifted, parsed.filename, parsed.first_line, parsed.indent,
                                             parsed.lines, parsed.nested)
    for call in calls:
        call.args += [syntax.name(v) for v in free]
    parsed.nested[stmt.name] = function
    return True


def _defaults(stmt):
    """The helper's default values (None when it has none), or False when one is not a constant."""
    if not all(isinstance(d, syntax.Constant) for d in stmt.args.defaults):
        return False
    return tuple(d.value for d in stmt.args.defaults) or None


def _indent_of(source: str) -> int:
    first = next((line for line in source.splitlines() if line.strip()), "")
    return len(first) - len(first.lstrip())


def _closure_values(fn) -> dict:
    values = {}
    if fn.__closure__:
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                values[var] = cell.cell_contents
            except ValueError:  # an empty cell: the closure variable is not assigned yet
                pass
    return values


# ----- does the source on disk still describe the running code? ------------------------------

_IGNORED_OPS = {"CACHE", "PUSH_NULL", "PRECALL", "NOP", "RESUME", "EXTENDED_ARG", "COPY_FREE_VARS", "MAKE_CELL"}
_SAME_OPS = {"LOAD_METHOD": "LOAD_ATTR"}   # the compiler picks one by context we do not reproduce


def _check_source_matches_code(fn, source: str, filename: str) -> None:
    """Raise StaleSourceError when `source` (read from disk now) compiles to other code than
    the function Python is running: its file was edited and the module not reloaded."""
    try:
        fresh, running = _compile_alone(fn, source), inspect.unwrap(fn).__code__
        matches = fresh is None or _same_bytecode(fresh, running) or _code_shape(fresh) == _code_shape(running)
    except Exception:   # source we cannot recompile on its own: nothing to compare, trust it
        return
    if not matches:
        raise StaleSourceError(
            f"the source of {fn.__qualname__} in {filename} no longer matches the code Python is running: "
            "the file was edited after its module was imported. srcgrad differentiates the source, so it "
            "would differentiate the new text while the function still runs the old one. Reload the module "
            "(importlib.reload) or restart Python, then ask for the derivative again.")


def _compile_alone(fn, source: str):
    """The code object `source` (one def) compiles to; free variables become closure cells again."""
    function = inspect.unwrap(fn)
    code = function.__code__
    if code.co_freevars:
        cells = "".join(f"    {v} = None\n" for v in code.co_freevars)
        source = (f"def __srcgrad_outer__():\n{cells}{textwrap.indent(source, '    ')}\n"
                  f"    return {code.co_name}\n")
    # Python compiles `np.sin(x)` to other instructions where `np` is imported in the module
    imported = [name for name in code.co_names if isinstance(getattr(function, "__globals__", {}).get(name), types.ModuleType)]
    source = "".join(f"import {name}\n" for name in imported) + source
    module = compile(source, "<srcgrad source check>", "exec")
    if code.co_freevars:
        module = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return next((c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == code.co_name), None)


def _same_bytecode(fresh, running) -> bool:
    """The usual case, decided without disassembling: the same instructions, names and constants
    (line numbers differ, as the source compiles alone)."""
    if (fresh.co_code != running.co_code or fresh.co_names != running.co_names or fresh.co_varnames != running.co_varnames
            or fresh.co_freevars != running.co_freevars or len(fresh.co_consts) != len(running.co_consts)):
        return False
    for a, b in zip(fresh.co_consts, running.co_consts):
        if isinstance(a, types.CodeType) and isinstance(b, types.CodeType):
            if not _same_bytecode(a, b):
                return False
        elif type(a) is not type(b) or repr(a) != repr(b):
            return False
    return True


def _code_shape(code) -> tuple:
    """Names, constants and the instruction sequence, without line numbers or jump offsets."""
    ops = []
    for ins in dis.get_instructions(code):
        if ins.opname in _IGNORED_OPS:
            continue
        jump = ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs
        arg = None if jump or isinstance(ins.argval, types.CodeType) else repr(ins.argval)
        ops.append((_SAME_OPS.get(ins.opname, ins.opname), arg))
    nested = tuple(_code_shape(c) for c in code.co_consts if isinstance(c, types.CodeType))
    return code.co_varnames, code.co_freevars, tuple(ops), nested
