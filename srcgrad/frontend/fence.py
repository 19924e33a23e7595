"""Fence: reject, with file:line and advice, every construct later passes do not handle.

After this pass the function uses only: assignments (plain, augmented, annotated, tuple unpacking),
for/while/if, break/continue/return, docstrings, and expressions built from names, constants,
arithmetic, comparisons, boolean operators, conditional expressions, calls, attributes,
subscripts, slices, tuples and list displays.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..errors import UnsupportedSyntaxError
from .parse import ParsedFunction

_REJECTED = {
    gast.ClassDef: ("a class definition", "Define the class at module level and pass plain arrays/floats in."),
    gast.FunctionDef: ("a nested function that reads variables of the function around it",
                       "Pass those values as arguments (a helper that reads only its arguments and globals "
                       "is differentiated like a module-level function), or define it at module level."),
    gast.AsyncFunctionDef: ("an async function", "Differentiate an ordinary def."),
    gast.Lambda: ("a lambda", "Define a named function at module level and call it."),
    gast.GeneratorExp: ("a generator expression", "Write an explicit for loop that accumulates the result."),
    gast.ListComp: ("a list comprehension", "Write an explicit for loop filling a preallocated array (np.zeros)."),
    gast.SetComp: ("a set comprehension", "Write an explicit loop."),
    gast.DictComp: ("a dict comprehension", "Write an explicit loop."),
    gast.Set: ("a set", "Use arrays or tuples."),
    gast.Try: ("try/except", "Remove the try block; check the condition with if/else instead."),
    gast.TryStar: ("try/except*", "Remove the try block."),
    gast.With: ("a with statement", "Move the context manager outside the differentiated function."),
    gast.AsyncWith: ("async with", "Move it outside the differentiated function."),
    gast.AsyncFor: ("async for", "Use a plain for loop."),
    gast.Global: ("a global statement (writing a global)", "Return the value instead of writing a global."),
    gast.Nonlocal: ("a nonlocal statement", "Return the value instead of writing an enclosing variable."),
    gast.Yield: ("yield (a generator)", "Return an array of the values instead."),
    gast.YieldFrom: ("yield from (a generator)", "Return an array of the values instead."),
    gast.Await: ("await", "Differentiate a synchronous function."),
    gast.Delete: ("del", "Remove the del statement; unused values cost nothing."),
    gast.Import: ("an import inside the function", "Import at module level."),
    gast.ImportFrom: ("an import inside the function", "Import at module level."),
    gast.Match: ("a match statement", "Use if/elif/else."),
    gast.NamedExpr: ("an assignment expression (:=)", "Assign on its own line first."),
    gast.JoinedStr: ("an f-string", "Remove string formatting from the differentiated function."),
    gast.Starred: ("star-unpacking (*x)", "Index the elements explicitly."),
}


def check_supported(parsed: ParsedFunction) -> None:
    """Raise UnsupportedSyntaxError for the first construct srcgrad cannot differentiate."""
    _check_signature(parsed)
    for node in _walk_body(parsed.tree):
        _check_node(parsed, node)


def _walk_body(fn: gast.FunctionDef):
    for stmt in fn.body:
        yield from syntax.walk(stmt)


def _reject(parsed, node, construct, advice):
    raise UnsupportedSyntaxError(construct, parsed.location(node), advice)


def _check_signature(parsed: ParsedFunction) -> None:
    args = parsed.tree.args
    if args.vararg or args.kwarg:
        _reject(parsed, parsed.tree, "*args/**kwargs parameters",
                "List the parameters explicitly; srcgrad needs to know which argument is which.")
    if args.kwonlyargs:
        _reject(parsed, parsed.tree, "keyword-only parameters", "Make them ordinary positional parameters.")


def _check_node(parsed: ParsedFunction, node) -> None:
    for node_type, (construct, advice) in _REJECTED.items():
        if isinstance(node, node_type):
            _reject(parsed, node, construct, advice)
    if isinstance(node, gast.Raise) and not _plain_raise(node):
        _reject(parsed, node, "a raise of something other than an exception class called with constants",
                "Raise an exception class with a constant message, `raise ValueError(\"x must be positive\")`; "
                "numba compiles only those.")
    if isinstance(node, (gast.For, gast.While)) and node.orelse:
        _reject(parsed, node, "an else clause on a loop", "Use a flag variable set before break.")
    if isinstance(node, gast.Expr) and not _is_docstring(node) and not isinstance(
            node.value, (gast.Yield, gast.YieldFrom, gast.Await, gast.Call)):
        _reject(parsed, node, "an expression statement", "Remove it; its value is discarded.")
    if isinstance(node, gast.Call) and node.keywords and any(k.arg is None for k in node.keywords):
        _reject(parsed, node, "**kwargs in a call", "Pass the arguments by name.")
    if isinstance(node, gast.Dict) and not all(isinstance(k, gast.Constant) and isinstance(k.value, str) for k in node.keys):
        _reject(parsed, node, "a dict whose keys are not strings written out",
                "Write the keys as strings (`{\"loss\": loss, \"accuracy\": acc}`); use a tuple otherwise.")
    if isinstance(node, gast.Compare) and any(isinstance(op, (gast.In, gast.NotIn, gast.Is, gast.IsNot)) for op in node.ops):
        _reject(parsed, node, "`in`/`is` comparisons", "Compare numbers with <, <=, ==, != instead.")


def _plain_raise(node: gast.Raise) -> bool:
    """`raise E` or `raise E("constant", 1)`: what the derivative can raise as the function does."""
    exc = node.exc
    if isinstance(exc, gast.Call) and not exc.keywords and all(isinstance(a, gast.Constant) for a in exc.args):
        exc = exc.func
    return node.cause is None and isinstance(exc, (gast.Name, gast.Attribute))


def _is_docstring(node: gast.Expr) -> bool:
    return isinstance(node.value, gast.Constant) and isinstance(node.value.value, str)
