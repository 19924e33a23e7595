"""Print: gast trees become Python source, through astunparse, with only the parentheses Python needs.

astunparse wraps every operation in parentheses (`x[(i + 1)]`); this printer overrides its
expression methods with precedence-aware ones, writes srcgrad comment statements as `# ...`
lines, and prints negative constants so they re-parse to the same value. It prints the gast tree
itself: astunparse dispatches on class names, which gast shares with ast (a conversion to ast
first took half the printing time of long code); the few places where astunparse tests ast
classes are overridden here.
"""
from __future__ import annotations

import io

import astunparse
import gast

from .. import syntax

_ATOM = 14
_BINOP_PREC = {"Add": 10, "Sub": 10, "Mult": 11, "Div": 11, "FloorDiv": 11, "Mod": 11, "MatMult": 11,
               "Pow": 13, "BitOr": 6, "BitXor": 7, "BitAnd": 8, "LShift": 9, "RShift": 9}


def to_source(tree: gast.AST) -> str:
    """Python source for a gast module or function."""
    out = io.StringIO()
    _Printer(tree, file=out)   # the printer reads no source positions: none are filled in
    return out.getvalue().strip("\n") + "\n"


def _precedence(node) -> int:
    if isinstance(node, gast.BinOp):
        return _BINOP_PREC[type(node.op).__name__]
    if isinstance(node, gast.UnaryOp):
        return 4 if isinstance(node.op, gast.Not) else 12
    if isinstance(node, gast.Compare):
        return 5
    if isinstance(node, gast.BoolOp):
        return 3 if isinstance(node.op, gast.And) else 2
    if isinstance(node, gast.IfExp):
        return 1
    if isinstance(node, gast.Tuple):
        return 0
    return _ATOM


class _Printer(astunparse.Unparser):
    def dispatch(self, tree):
        if isinstance(tree, list) and tree and all(syntax.is_comment(stmt) for stmt in tree):
            super().dispatch(tree)
            self.fill("pass")   # a comment is no statement: a block of comments alone still needs one
            return
        super().dispatch(tree)

    def wrap(self, node, minimum: int):
        if _precedence(node) < minimum:
            self.write("(")
            self.dispatch(node)
            self.write(")")
        else:
            self.dispatch(node)

    # ----- statements --------------------------------------------------------------------
    def _Expr(self, t):
        if syntax.is_comment(t):
            self.fill("# " + t.value.value)
            return
        super()._Expr(t)

    def _If(self, t):
        self.fill("if ")
        self.dispatch(t.test)
        self.enter()
        self.dispatch(t.body)
        self.leave()
        while len(t.orelse) == 1 and isinstance(t.orelse[0], gast.If):   # nested ifs as elifs
            t = t.orelse[0]
            self.fill("elif ")
            self.dispatch(t.test)
            self.enter()
            self.dispatch(t.body)
            self.leave()
        if t.orelse:
            self.fill("else")
            self.enter()
            self.dispatch(t.orelse)
            self.leave()

    def _Assign(self, t):
        self.fill()
        for target in t.targets:
            self.bare_tuple(target)
            self.write(" = ")
        self.bare_tuple(t.value)

    def _Return(self, t):
        self.fill("return")
        if t.value is not None:
            self.write(" ")
            self.bare_tuple(t.value)

    def _FunctionDef(self, t):
        self.write("\n")
        super()._FunctionDef(t)

    def bare_tuple(self, node):
        if isinstance(node, gast.Tuple) and len(node.elts) > 1:
            for k, elt in enumerate(node.elts):
                if k:
                    self.write(", ")
                self.dispatch(elt)
        else:
            self.dispatch(node)

    # ----- expressions -------------------------------------------------------------------
    def _Constant(self, t):
        if isinstance(t.value, float) and t.value != t.value:
            self.write("math.nan")
        elif isinstance(t.value, float) and t.value in (float("inf"), float("-inf")):
            self.write("math.inf" if t.value > 0 else "(-math.inf)")
        else:
            super()._Constant(t)

    def _BinOp(self, t):
        prec = _precedence(t)
        if isinstance(t.op, gast.Pow):
            self.wrap(t.left, _ATOM)
            self.write(" ** ")
            self.wrap(t.right, 12)
            return
        self.wrap(t.left, prec)
        self.write(" " + self.binop[type(t.op).__name__] + " ")
        self.wrap(t.right, prec + 1)

    def _UnaryOp(self, t):
        symbol = self.unop[type(t.op).__name__]
        self.write(symbol + (" " if symbol == "not" else ""))
        self.wrap(t.operand, _precedence(t))

    def _Compare(self, t):
        self.wrap(t.left, 6)
        for op, right in zip(t.ops, t.comparators):
            self.write(" " + self.cmpops[type(op).__name__] + " ")
            self.wrap(right, 6)

    def _BoolOp(self, t):
        prec = _precedence(t)
        for k, value in enumerate(t.values):
            if k:
                self.write(" and " if isinstance(t.op, gast.And) else " or ")
            self.wrap(value, prec + 1)

    def _IfExp(self, t):
        self.wrap(t.body, 2)
        self.write(" if ")
        self.wrap(t.test, 2)
        self.write(" else ")
        self.wrap(t.orelse, 1)

    def _Attribute(self, t):
        self.wrap(t.value, _ATOM)
        self.write("." + t.attr)

    def _Call(self, t):
        self.wrap(t.func, _ATOM)
        self.write("(")
        items = list(t.args) + list(t.keywords)
        for k, item in enumerate(items):
            if k:
                self.write(", ")
            self.dispatch(item)
        self.write(")")

    def _Subscript(self, t):
        self.wrap(t.value, _ATOM)
        self.write("[")
        index = t.slice
        if isinstance(index, gast.Tuple) and index.elts:
            for k, elt in enumerate(index.elts):
                if k:
                    self.write(", ")
                self.dispatch(elt)
        else:
            self.dispatch(index)
        self.write("]")
