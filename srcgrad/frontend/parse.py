"""Parse: a Python function object becomes a gast FunctionDef plus what later passes need to resolve names.

After this pass the function's AST is available with line numbers that point into its real file.
"""
from __future__ import annotations

import builtins
import inspect
import textwrap
from dataclasses import dataclass, field

from .. import syntax
from ..errors import MissingSourceError, SourceLocation


@dataclass
class ParsedFunction:
    """A user function's AST and the namespace its names resolve in."""

    pyfunc: object
    tree: syntax.FunctionDef
    filename: str
    first_line: int
    indent: int
    lines: list[str]
    namespace: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.tree.name

    def location(self, node) -> SourceLocation | None:
        lineno = getattr(node, "lineno", None)
        if lineno is None:
            return None
        index = lineno - 1
        text = self.lines[index] if 0 <= index < len(self.lines) else ""
        col = getattr(node, "col_offset", 0) + self.indent
        return SourceLocation(self.filename, self.first_line + index, col, " " * self.indent + text)

    def lookup(self, identifier: str):
        """The object a free name refers to, or raise KeyError."""
        if identifier in self.namespace:
            return self.namespace[identifier]
        return getattr(builtins, identifier)


def python_function(fn):
    """The plain Python function behind `fn` (numba dispatchers expose it as `.py_func`)."""
    return getattr(fn, "py_func", fn)


def require_python_function(fn):
    """The Python function behind `fn`, or MissingSourceError saying why there is none."""
    fn = python_function(fn)
    if not inspect.isfunction(fn):
        raise MissingSourceError(
            f"{fn!r} is not a Python function, so srcgrad cannot read its source. "
            "Differentiate a function defined with `def` in a .py file, or register a derivative "
            "rule for it with srcgrad.rules.register_elementwise.")
    if fn.__name__ == "<lambda>":
        raise MissingSourceError(
            f"{fn.__qualname__} is a lambda; srcgrad needs a function defined with `def` in a file.")
    return fn


def parse_function(fn) -> ParsedFunction:
    """Read and parse the source of `fn`; raise MissingSourceError when there is none."""
    fn = require_python_function(fn)
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
    indent = _indent_of(source) - _indent_of(dedented)
    tree = syntax.parse_module(dedented).body[0]
    tree.decorator_list = []
    return ParsedFunction(fn, tree, filename, first_line, indent, dedented.splitlines(),
                          _namespace(fn))


def _indent_of(source: str) -> int:
    first = next((line for line in source.splitlines() if line.strip()), "")
    return len(first) - len(first.lstrip())


def _namespace(fn) -> dict:
    namespace = dict(fn.__globals__)
    if fn.__closure__:
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                namespace[var] = cell.cell_contents
            except ValueError:  # an empty cell: the closure variable is not assigned yet
                pass
    return namespace
