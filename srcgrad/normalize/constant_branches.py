"""Constant branches: an `if`, `while` or `a if c else b` whose test is known before the function runs keeps only what it takes.

numba drops such a branch before it types the code (its dead-branch pruning: `if DEBUG:` with a
global flag, `if s0 > 0.5:` with `s0 = 0.0`), so a derivative that tapes or saves values inside the
branch would leave those tapes untyped and not compile. numba sees each binding on its own (its
code is in SSA form), so the values are followed as it follows them: along the code, a name is known
from a binding to a constant until it may be bound again; an `if` and its blocks see what holds
before it, a loop's test and body nothing the loop binds. After this pass no `if`, `while` or
conditional expression has a test made only of constants (the resolver has already turned the
globals it reads as flags into constants) and names known there.
"""
from __future__ import annotations

import operator
from collections import Counter

import gast
import numpy as np

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import bound_names, values_bound_once

_UNKNOWN = object()
_NUMBERS = (bool, int, float, type(None))

_UNARY = {gast.Not: operator.not_, gast.USub: operator.neg, gast.UAdd: operator.pos}
_BINARY = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul, gast.Div: operator.truediv,
           gast.FloorDiv: operator.floordiv, gast.Mod: operator.mod}
_COMPARE = {gast.Eq: operator.eq, gast.NotEq: operator.ne, gast.Lt: operator.lt, gast.LtE: operator.le,
            gast.Gt: operator.gt, gast.GtE: operator.ge, gast.Is: operator.is_, gast.IsNot: operator.is_not}


def fold_constant_branches(tree: gast.FunctionDef, globals_read: dict) -> set[str]:
    """Fold, in place, every branch of `tree` whose test has a value known now; `globals_read`:
    the module-level values the function reads (numba takes them as constants too). Returns the
    names of those globals a folded test read: the tree now depends on their values."""
    nodes = syntax.nodes_in(tree)
    if not any(isinstance(node, (gast.If, gast.While, gast.IfExp)) for node in nodes):
        return set()   # no test to fold: long straight-line code skips the per-statement look
    bindings = _binding_counts(nodes)
    numbers = {name: value for name, value in globals_read.items()
               if isinstance(value, (int, float, np.integer, np.floating)) and not bindings[name]}
    known = _Known(numbers)
    tree.body[:] = _folded_block(tree.body, known) or [gast.Pass()]
    return known.globals_used   # shared by every copy made of it


class _Known(dict):
    """Names with values known now; remembers which of the globals among them a test read."""

    def __init__(self, globals_known: dict):
        super().__init__(globals_known)
        self.globals = set(globals_known)
        self.globals_used: set[str] = set()

    def get(self, name, default=None):
        if name in self.globals:
            self.globals_used.add(name)
        return super().get(name, default)

    def without(self, names: set) -> "_Known":
        """What is known where `names` may have been bound again: the others (the globals read
        noted in one place)."""
        rest = _Known({})
        rest.update((name, value) for name, value in self.items() if name not in names)
        rest.globals, rest.globals_used = self.globals, self.globals_used
        return rest


def _binding_counts(nodes: list) -> Counter:
    """How many times each name is bound among `nodes`, every node of the function (parameters included)."""
    return Counter(node.id for node in nodes
                   if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Param, gast.Del)))


def _folded_block(stmts: list, known: "_Known") -> list:
    """The statements with each test known where it runs folded, flow-sensitively as numba sees
    the code: `known` holds before them and is brought up to date after each statement (what it
    binds is no longer known; a name it binds to a known value is). An `if`'s test and blocks see
    what holds before it; a loop's test and body see nothing the loop binds, as they run again
    after those bindings."""
    out = []
    for stmt in stmts:
        if syntax.is_comment(stmt):
            out.append(stmt)
            continue
        bound = bound_names(stmt)
        if isinstance(stmt, gast.If):
            stmt.test = _folded_expression(stmt.test, known)
            taken, inner = _taken(stmt, known), known
        elif syntax.is_loop(stmt):
            inner = known.without(bound)
            if isinstance(stmt, gast.While):
                stmt.test = _folded_expression(stmt.test, inner)
            else:
                stmt.iter = _folded_expression(stmt.iter, known)
            taken = _taken(stmt, inner)
        else:   # a simple statement (the blocks of a compound one of another kind see nothing it binds)
            _folded_expression(stmt, known)
            taken, inner = None, known.without(bound)
        if taken is not None:
            out += _folded_block(taken, inner)   # it never changes the `known` it is given
        else:
            for block in syntax.child_blocks(stmt):
                block[:] = _folded_block(block, inner) or [gast.Pass()]
            out.append(stmt)
        known = known.without(bound)
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
            value = _value(stmt.value, known)
            if value is not _UNKNOWN:
                known[stmt.targets[0].id] = value
    return out


def _taken(stmt, known: dict):
    """The statements that run in place of `stmt` when its test is known, else None (the test
    then simplified: `SMOOTHING > 5 and i > 0` with SMOOTHING = 3 is False, with 9 it is `i > 0`)."""
    if not isinstance(stmt, (gast.If, gast.While)):
        return None
    truth, stmt.test = _test(stmt.test, known)
    if truth is _UNKNOWN or isinstance(stmt, gast.While) and truth:
        return None
    if isinstance(stmt, gast.While):
        return stmt.orelse   # a loop that never runs: only its else block does
    return stmt.body if truth else stmt.orelse


def _test(node, known: dict):
    """(whether the test `node` holds: True, False or _UNKNOWN; the test with its known operands
    of `and`/`or` taken out). numba splits `a and b` into two branches and drops the one a known
    operand rules out, so a test is known when an operand decides it; operands before it are
    dropped only when nothing in them can have an effect (no call, no subscript)."""
    value = _value(node, known)
    if value is not _UNKNOWN:
        return bool(value), node
    if not isinstance(node, gast.BoolOp):
        return _UNKNOWN, node
    decides = False if isinstance(node.op, gast.And) else True   # the operand truth that ends the scan
    kept = []
    for operand in node.values:
        truth, operand = _test(operand, known)
        if truth is _UNKNOWN:
            kept.append(operand)
        elif truth is decides:
            if all(_harmless(k) for k in kept):
                return decides, syntax.const(decides)
            kept.append(syntax.const(decides))
            break
    if not kept:
        return not decides, syntax.const(not decides)
    return _UNKNOWN, kept[0] if len(kept) == 1 else gast.BoolOp(op=node.op, values=kept)


def _harmless(node) -> bool:
    return not any(isinstance(n, (gast.Call, gast.Subscript)) for n in syntax.nodes_in(node))


def _folded_expression(node, known: dict):
    """`node` with each conditional expression in it whose test is known replaced by the operand
    it takes (in place where it can; the result, for a node that is such an expression itself)."""
    class Folder(gast.NodeTransformer):
        def visit_IfExp(self, node):
            self.generic_visit(node)
            truth, node.test = _test(node.test, known)
            if truth is _UNKNOWN:
                return node
            return node.body if truth else node.orelse
    return Folder().visit(node)


def _value(node, known: dict):
    """The value of `node` when it is made only of numbers, booleans, None and names in `known`;
    _UNKNOWN otherwise (or when computing it fails)."""
    try:
        return _evaluate(node, known)
    except (ArithmeticError, TypeError, ValueError):
        return _UNKNOWN


def _evaluate(node, known: dict):
    if isinstance(node, gast.Constant):
        return node.value if isinstance(node.value, _NUMBERS) else _UNKNOWN
    if isinstance(node, gast.Name):
        return known.get(node.id, _UNKNOWN)
    if isinstance(node, gast.UnaryOp) and type(node.op) in _UNARY:
        operand = _evaluate(node.operand, known)
        return _UNKNOWN if operand is _UNKNOWN else _UNARY[type(node.op)](operand)
    if isinstance(node, gast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left, known), _evaluate(node.right, known)
        return _UNKNOWN if left is _UNKNOWN or right is _UNKNOWN else _BINARY[type(node.op)](left, right)
    if isinstance(node, gast.BoolOp):
        return _boolean(node, known)
    if isinstance(node, gast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        return _comparison(node, known)
    return _UNKNOWN


def _boolean(node, known: dict):
    values = [_evaluate(v, known) for v in node.values]
    if any(v is _UNKNOWN for v in values):
        return _UNKNOWN
    result = values[0]
    for value in values[1:]:
        if isinstance(node.op, gast.And) and not result or isinstance(node.op, gast.Or) and result:
            break
        result = value
    return result


def _comparison(node, known: dict):
    left = _evaluate(node.left, known)
    rights = [_evaluate(c, known) for c in node.comparators]
    if left is _UNKNOWN or any(r is _UNKNOWN for r in rights):
        return _UNKNOWN
    for op, right in zip(node.ops, rights):
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True


def fold_rank_branches(tree: gast.FunctionDef, kinds: dict) -> bool:
    """Per signature: fold each `if x.ndim == k:` (any comparison of a rank with a written
    integer) whose array's rank the kinds know, keeping the block it takes (and nothing after a
    `return` there); True if any. A function written for several ranks (`matmul_grad_left`, read
    again to differentiate a gradient; a user's `if x.ndim == 1: x = x[None, :]`) then holds only
    the code of its own, and the rank checks see no call made for another rank."""
    changed = False
    tests = values_bound_once(tree)   # ANF binds `cond = a.ndim == 1` before `if cond:`
    while _fold_one_rank_test(tree, kinds, tests):   # a block kept may hold another such test
        changed = True
    return changed


def _fold_one_rank_test(tree, kinds: dict, tests: dict) -> bool:
    for block in syntax.blocks(tree.body):
        for k, stmt in enumerate(block):
            taken = _rank_test(tests.get(getattr(stmt.test, "id", None), stmt.test), kinds) if isinstance(stmt, gast.If) else None
            if taken is not None:
                rest = (stmt.body if taken else stmt.orelse) + block[k + 1:]
                ends = next((j for j, s in enumerate(rest) if isinstance(s, gast.Return)), len(rest) - 1)
                block[k:] = rest[:ends + 1]
                return True
    return False


def _rank_test(test, kinds: dict):
    """The value of a test `x.ndim <op> k` where x's kind has a known rank, else None."""
    if not (isinstance(test, gast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _COMPARE
            and isinstance(test.left, gast.Attribute) and test.left.attr == "ndim" and isinstance(test.left.value, gast.Name)
            and isinstance(test.comparators[0], gast.Constant) and type(test.comparators[0].value) is int):
        return None
    kind = kinds.get(test.left.value.id)
    rank = K.ndim(kind) if kind is not None and K.is_array(kind) else None
    return None if rank is None else _COMPARE[type(test.ops[0])](rank, test.comparators[0].value)
