"""In-place updates of array slices written through a view: `x_bar_part = x_bar[1:3]; x_bar_part += g`.

After this pass no `a[basic index] op= v` whose index selects a view (slices, ints and `...`, at
least one slice) remains in a generated function compiled by numba: numba runs such a statement as
an in-place operation on the view followed by a slice assignment of the view onto itself, and that
assignment's shape-mismatch message is string code that takes 1.3-1.8 s to compile the first time
a process assigns arrays of each rank (GradBench lstm: four such ranks, a fifth of its first call;
its primal has one). The in-place operation on the view is what numba ran anyway, so the result is
the same; an index with an integer array (a copy, not a view) keeps its statement.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K


def update_slices_through_views(fn: gast.FunctionDef, kinds: dict, names) -> None:
    """Rewrite `fn` in place (see the module docstring); `kinds` tells integer index names apart."""
    _rewrite_block(fn.body, kinds, names)


def _rewrite_block(stmts: list, kinds: dict, names) -> None:
    k = 0
    while k < len(stmts):
        stmt = stmts[k]
        for block in syntax.child_blocks(stmt):
            _rewrite_block(block, kinds, names)
        if _updates_a_view(stmt, kinds):
            view = names.fresh(f"{stmt.target.value.id}_part")
            stmts[k:k + 1] = [syntax.assign(view, syntax.clone(stmt.target)),
                              gast.AugAssign(target=syntax.name(view, store=True), op=stmt.op, value=stmt.value)]
            k += 1
        k += 1


def _updates_a_view(stmt, kinds: dict) -> bool:
    """`a[i:j] += v`, `a[:, k] *= v`, ...: an in-place operation on a slice that is a view of `a`."""
    if not (isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Subscript)
            and isinstance(stmt.target.value, gast.Name)):
        return False
    index = stmt.target.slice
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    return any(isinstance(p, gast.Slice) for p in parts) and all(_basic(p, kinds) for p in parts)


def _basic(part, kinds: dict) -> bool:
    """An index part that keeps the result a view: a slice, `...`, or an integer."""
    if isinstance(part, gast.Slice):
        return True
    if isinstance(part, gast.Constant):
        return part.value is Ellipsis or type(part.value) is int
    return isinstance(part, gast.Name) and kinds.get(part.id) == K.INT
