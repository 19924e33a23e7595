"""Rule templates: tiny Python functions whose return expression is a derivative, written as math.

A template's parameters are replaced by the operands of the call being differentiated; the name `M`
stands for the module the user called (`math` or `np`) and `ans` for the primal result.
"""
from __future__ import annotations

import inspect
import textwrap

import gast

from .. import syntax


class Template:
    """One derivative expression (or a tuple of them) parsed from a Python function."""

    def __init__(self, fn):
        self.fn = fn
        self.params = list(inspect.signature(fn).parameters)
        self._exprs = None

    @property
    def exprs(self) -> list[gast.AST]:
        if self._exprs is None:
            value = single_return(self.fn)
            assert value is not None, f"rule template {self.fn.__name__} must be one return statement"
            self._exprs = list(value.elts) if isinstance(value, gast.Tuple) else [value]
        return self._exprs

    def uses(self, param: str, index: int | None = None) -> bool:
        exprs = self.exprs if index is None else [self.exprs[index]]
        return any(param in syntax.names_in(e) for e in exprs)

    def instantiate(self, bindings: dict[str, gast.AST], index: int | None = None):
        """The template's expression(s) with parameters replaced by `bindings` and simplified."""
        exprs = self.exprs if index is None else [self.exprs[index]]
        out = [simplify(syntax.substitute(e, bindings)) for e in exprs]
        return out if index is None else out[0]


def single_return(fn):
    """The returned expression of a `def` whose body is one return statement (after a docstring),
    or None when fn is anything else (a lambda, several statements, no readable source)."""
    try:
        tree = syntax.parse_module(textwrap.dedent(inspect.getsource(fn))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    if not isinstance(tree, gast.FunctionDef):
        return None
    body = [s for s in tree.body if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant))]
    if len(body) != 1 or not isinstance(body[0], gast.Return) or body[0].value is None:
        return None
    return body[0].value


class CallTemplate:
    """Partials computed by calling a function (one numba can compile) rather than inlined as math:
    generated code calls it by `name`, bound into the generated module, and takes element `index`
    of its result when there are several partials."""

    def __init__(self, fn, name: str, count: int):
        self.fn, self.name, self.count = fn, name, count
        self.params = list(inspect.signature(fn).parameters)

    def uses(self, param: str, index: int | None = None) -> bool:
        return param in self.params

    def instantiate(self, bindings: dict, index: int | None = None):
        call = syntax.call(syntax.name(self.name), *[syntax.clone(bindings[p]) for p in self.params])
        if index is None:
            return [syntax.subscript(call, syntax.const(k)) for k in range(self.count)] if self.count > 1 else [call]
        return syntax.subscript(call, syntax.const(index)) if self.count > 1 else call


_FOLD = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b, gast.Mult: lambda a, b: a * b}


def simplify(node: gast.AST) -> gast.AST:
    """Fold constants and drop multiplications by one, so generated code reads like hand-written."""
    return _Simplify().visit(node)


class _Simplify(gast.NodeTransformer):
    """simplify's rewrite (defined once: building the class on every call was a quarter of its time)."""

    def visit_BinOp(self, n):
        self.generic_visit(n)
        left, right = syntax.number(n.left), syntax.number(n.right)
        if left is not None and right is not None and type(n.op) in _FOLD:
            return syntax.const(_FOLD[type(n.op)](left, right))
        if isinstance(n.op, gast.Mult):
            if left == 1:
                return n.right
            if right == 1:
                return n.left
            if left == -1:
                return syntax.neg(n.right)
            if right == -1:
                return syntax.neg(n.left)
        if isinstance(n.op, (gast.Div,)) and right == 1:
            return n.left
        if isinstance(n.op, gast.Pow) and right == 1:
            return n.left
        if isinstance(n.op, (gast.Add, gast.Sub)) and right == 0:
            return n.left
        if isinstance(n.op, gast.Add) and left == 0:
            return n.right
        if isinstance(n.op, gast.Add) and isinstance(n.right, gast.UnaryOp) and isinstance(n.right.op, gast.USub):
            return gast.BinOp(left=n.left, op=gast.Sub(), right=n.right.operand)
        return n

    def visit_UnaryOp(self, n):
        self.generic_visit(n)
        if isinstance(n.op, gast.USub) and isinstance(n.operand, gast.UnaryOp) and isinstance(n.operand.op, gast.USub):
            return n.operand.operand
        return n
