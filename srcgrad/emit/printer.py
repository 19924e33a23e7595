"""Print: gast trees become Python source, through astunparse, with only the parentheses Python needs.

astunparse wraps every operation in parentheses (`x[(i + 1)]`); this printer overrides its
expression methods with precedence-aware ones, writes srcgrad comment statements as `# ...`
lines, and prints negative constants so they re-parse to the same value.
"""
from __future__ import annotations

import ast
import io

import astunparse
import gast

from .. import syntax

COMMENT_MARK = "\x00srcgrad-comment:"

_ATOM = 14
_BINOP_PREC = {"Add": 10, "Sub": 10, "Mult": 11, "Div": 11, "FloorDiv": 11, "Mod": 11, "MatMult": 11,
               "Pow": 13, "BitOr": 6, "BitXor": 7, "BitAnd": 8, "LShift": 9, "RShift": 9}


def to_source(tree: gast.AST) -> str:
    """Python source for a gast module or function."""
    py_tree = _converted_with_comments(tree)
    _pass_after_lone_comments(py_tree)
    out = io.StringIO()
    _Printer(py_tree, file=out)   # the printer reads no source positions: none are filled in
    return out.getvalue().strip("\n") + "\n"


def _converted_with_comments(tree):
    """The ast twin of the gast tree, its comment statements' texts marked for the printer.
    gast_to_ast builds new nodes, so the marks go on for the conversion and come off the gast
    tree again: no copy of the tree is needed to leave it as it was."""
    comments = [node for node in syntax.walk(tree) if syntax.is_comment(node)]
    texts = [node.value.value for node in comments]
    for node, text in zip(comments, texts):
        node.value.value = COMMENT_MARK + text
    try:
        return gast.gast_to_ast(tree)
    finally:
        for node, text in zip(comments, texts):
            node.value.value = text


def _is_marked_comment(stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str) and stmt.value.value.startswith(COMMENT_MARK))


def _pass_after_lone_comments(py_tree) -> None:
    """A comment is no statement: a block of comments alone still needs one."""
    for node in syntax.walk(py_tree):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and all(_is_marked_comment(s) for s in block):
                block.append(ast.Pass())


def _precedence(node) -> int:
    if isinstance(node, ast.BinOp):
        return _BINOP_PREC[type(node.op).__name__]
    if isinstance(node, ast.UnaryOp):
        return 4 if isinstance(node.op, ast.Not) else 12
    if isinstance(node, ast.Compare):
        return 5
    if isinstance(node, ast.BoolOp):
        return 3 if isinstance(node.op, ast.And) else 2
    if isinstance(node, ast.IfExp):
        return 1
    if isinstance(node, ast.Tuple):
        return 0
    return _ATOM


class _Printer(astunparse.Unparser):
    def wrap(self, node, minimum: int):
        if _precedence(node) < minimum:
            self.write("(")
            self.dispatch(node)
            self.write(")")
        else:
            self.dispatch(node)

    # ----- statements --------------------------------------------------------------------
    def _Expr(self, t):
        value = t.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value.startswith(COMMENT_MARK):
            self.fill("# " + value.value[len(COMMENT_MARK):])
            return
        super()._Expr(t)

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
        if isinstance(node, ast.Tuple) and len(node.elts) > 1:
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
        if isinstance(t.op, ast.Pow):
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
                self.write(" and " if isinstance(t.op, ast.And) else " or ")
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
        if isinstance(index, ast.Tuple) and index.elts:
            for k, elt in enumerate(index.elts):
                if k:
                    self.write(", ")
                self.dispatch(elt)
        else:
            self.dispatch(index)
        self.write("]")
