"""Loop-carried arrays that may start Fortran-ordered are re-bound, before the loop, as a full view.

numba types a name bound before a loop and again inside it by joining the layouts of its bindings:
a transpose (layout F) and a fresh array (layout C) join to layout A. While it infers types it
first sees only the binding before the loop, so an elementwise result computed from the name in
the loop body is typed F, then C, joins to A, and numba cannot allocate it ("Don't know how to
allocate array with layout 'A'"). A full view `t[:, :]` is the same array to numpy and has layout
A to numba from the start, so every result computed from it is C. Runs per signature, numba
backend only, after kinds. After it, no array of two or more dimensions that may be F-ordered
enters a loop that binds it again.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.aliasing import view_base
from ..analyze.dataflow import bound_names

def view_loop_carried_transposes(tree: gast.FunctionDef, kinds: dict) -> bool:
    """Insert `t = t[:, :]` before each loop that re-binds a name `t` that may hold an F-ordered
    array when the loop starts (and surely holds some value); True if any was inserted."""
    found: dict = {}
    _flow(tree.body, set(), set(syntax.param_names(tree)), kinds, found)
    if not found:
        return False
    _insert(tree.body, found)
    return True


def _flow(stmts: list, fortran: set, bound: set, kinds: dict, found: dict) -> tuple:
    """(names that may hold an F-ordered array, names surely bound) after `stmts`, given those
    before; records in `found` (loop id -> names) the names each loop must view before it starts."""
    fortran, bound = set(fortran), set(bound)
    for stmt in stmts:
        if syntax.is_loop(stmt):
            fortran = _loop(stmt, fortran, bound, kinds, found)
        elif isinstance(stmt, gast.If):
            (in_body, bound_body), (in_else, bound_else) = (_flow(block, fortran, bound, kinds, found)
                                                            for block in (stmt.body, stmt.orelse))
            fortran, bound = in_body | in_else, bound_body & bound_else
        elif isinstance(stmt, gast.Assign):
            bound |= bound_names(stmt)
            if isinstance(stmt.targets[0], gast.Name):
                target = stmt.targets[0].id
                fortran.discard(target)
                if _may_be_fortran(stmt, fortran, kinds):
                    fortran.add(target)
    return fortran, bound


def _loop(loop, fortran: set, bound: set, kinds: dict, found: dict) -> set:
    rebound = bound_names(loop)
    entering = set(fortran)
    while True:   # a name F at the end of one iteration enters the next one F
        viewed = {name for name in entering & rebound & bound if (K.ndim(kinds.get(name)) or 0) >= 2}
        after_body, _ = _flow(loop.body, entering - viewed, bound, kinds, {})
        if after_body <= entering:
            break
        entering |= after_body
    if viewed:
        found[id(loop)] = sorted((name, K.ndim(kinds[name])) for name in viewed)
    _flow(loop.body, entering - viewed, bound, kinds, found)   # loops nested in this one
    after_else, _ = _flow(getattr(loop, "orelse", []), entering, bound, kinds, found)
    return (entering - viewed) | after_body | after_else


def _may_be_fortran(stmt, fortran: set, kinds: dict) -> bool:
    """numba gives a transpose layout F, and keeps F through views of it, through copies
    (`np.copy` keeps the layout) and through elementwise operations whose array operands are all F
    (a C operand makes the result C). Any other operation on arrays that are all F is taken as F
    too: many of numba's array functions allocate their result like their argument (`empty_like`),
    and a full view too many only costs numba a contiguity assumption."""
    value = stmt.value
    if (K.ndim(kinds.get(stmt.targets[0].id)) or 0) < 2:
        return False
    rule = getattr(value, "srcgrad_rule", None) if isinstance(value, gast.Call) else None
    if rule is not None and rule.name == "np.transpose":
        return True
    if view_base(stmt, kinds) in fortran:
        return True
    operands = {name for name in syntax.loaded_names(value) if K.is_array(kinds.get(name))}
    return bool(operands) and operands <= fortran


def _insert(stmts: list, found: dict) -> None:
    at = 0
    while at < len(stmts):
        stmt = stmts[at]
        for child in syntax.child_blocks(stmt):
            _insert(child, found)
        views = [_full_view(name, rank) for name, rank in found.get(id(stmt), ())]
        if views:
            views.insert(0, syntax.comment("a full view: numba types an array with any layout from here, as the loop binds it again"))
        stmts[at:at] = views
        at += len(views) + 1


def _full_view(name: str, rank: int) -> gast.Assign:
    everything = [gast.Slice(lower=None, upper=None, step=None) for _ in range(rank)]
    return syntax.assign(name, syntax.subscript(syntax.name(name), syntax.tuple_(everything)))
