"""Writes into array slices made without numba's slice assignment: `x_bar_part = x_bar[1:3]; x_bar_part += g`, `copy_into(s[i], h)`.

After this pass no `a[basic index] op= v` and no `a[basic index] = v` whose index selects a view
(slices, ints and `...`: at least one slice, or only ints and fewer than `a` has axes) remains in a generated
function compiled by numba, unless `v` is a number. numba runs an array written into a view as a
slice assignment whose shape-mismatch message is string code that takes 1.3-1.8 s to compile the
first time a process assigns arrays of each rank, and again for each set of compiler flags (the
generated code's differ from a plain `numba.njit` primal's): GradBench lstm's `state[i] = hidden`
and `state_bar[i] += hidden_bar` cost its gradient's first call 1.5 s. An update becomes the
in-place operation on the view that numba ran anyway; an assignment becomes `copy_into`, the
runtime's loop (the same check, numpy's error). An index with an integer array (a copy, not a
view) keeps its statement, as do writes whose base's rank is not known (tangents and adjoints
have their primal's; other generated names are not assumed to be views).
"""
from __future__ import annotations

from dataclasses import dataclass

import gast

from .. import syntax
from ..analyze import kinds as K
from .common import primal_kind


def update_slices_through_views(fn: gast.FunctionDef, kinds: dict, names, directions_axis: bool = False) -> None:
    """Rewrite `fn` in place (see the module docstring). `kinds`: the primal's names' kinds;
    `directions_axis`: a tangent holds an axis of directions besides its primal's (vector mode)."""
    _rewrite_block(fn.body, _Facts(kinds, _range_counters(fn), directions_axis), names)


@dataclass
class _Facts:
    kinds: dict
    counters: set   # names a `for ... in range(...)` binds: integers (the generated loops' too)
    directions_axis: bool

    def is_int(self, name: str) -> bool:
        return name in self.counters or self.kinds.get(name) == K.INT

    def rank(self, name: str):
        """How many axes the array `name` has, or None: a tangent or an adjoint has its primal's
        (and the axis of directions in vector mode); other generated names are not known."""
        rank = K.ndim(primal_kind(name, self.kinds))
        is_tangent = name not in self.kinds and name.startswith("d") and name[1:] in self.kinds
        return rank + 1 if rank is not None and self.directions_axis and is_tangent else rank


def _range_counters(fn) -> set:
    return {loop.target.id for loop in syntax.walk(fn) if isinstance(loop, gast.For) and isinstance(loop.target, gast.Name)
            and isinstance(loop.iter, gast.Call) and syntax.dotted_name(loop.iter.func) == "range"}


def _rewrite_block(stmts: list, facts: _Facts, names) -> None:
    k = 0
    while k < len(stmts):
        stmt = stmts[k]
        for block in syntax.child_blocks(stmt):
            _rewrite_block(block, facts, names)
        if isinstance(stmt, gast.AugAssign) and _is_view(stmt.target, facts):
            view = names.fresh(f"{stmt.target.value.id}_part")
            stmts[k:k + 1] = [syntax.assign(view, syntax.clone(stmt.target)),
                              gast.AugAssign(target=syntax.name(view, store=True), op=stmt.op, value=stmt.value)]
            k += 1
        elif _assigns_into_a_view(stmt, facts):
            stmts[k] = gast.Expr(value=syntax.call("copy_into", syntax.as_load(stmt.targets[0]), stmt.value))
        k += 1


def _assigns_into_a_view(stmt, facts: _Facts) -> bool:
    """`a[i] = v`, `a[1:3] = v`: a value that may be an array written into a view of `a`."""
    return (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and _is_view(stmt.targets[0], facts)
            and not K.is_scalar(_kind_of(stmt.value, facts)))


def _is_view(target, facts: _Facts) -> bool:
    """`a[i:j]`, `a[:, k]`, or `a[i]` of a matrix: a basic index selecting a view of `a`."""
    if not (isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name)):
        return False
    parts = syntax.index_parts(target)
    if not all(_basic(p, facts) for p in parts):
        return False
    if any(isinstance(p, gast.Slice) for p in parts):
        return True
    if any(isinstance(p, gast.Constant) and p.value is Ellipsis for p in parts):
        return False   # numba reads no `a[...]`; `a[..., i]` is left as it was
    rank = facts.rank(target.value.id)
    return rank is not None and rank > len(parts)


def _kind_of(node, facts: _Facts):
    """A number for a numeric constant; for a name, an array of its rank or its kind; unknown for
    other expressions."""
    if isinstance(node, gast.Constant):
        numeric = isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
        return K.FLOAT if numeric else K.UNKNOWN
    if not isinstance(node, gast.Name):
        return K.UNKNOWN
    rank = facts.rank(node.id)
    return K.array(rank) if rank else primal_kind(node.id, facts.kinds)


def _basic(part, facts: _Facts) -> bool:
    """An index part that keeps the result a view: a slice, `...`, or an integer."""
    if isinstance(part, gast.Slice):
        return True
    if isinstance(part, gast.Constant):
        return part.value is Ellipsis or type(part.value) is int
    return isinstance(part, gast.Name) and facts.is_int(part.id)
