"""Arrays an iteration makes that the reverse sweep reads back from a tape instead of replaying.

An iteration that allocates a 1-D float array (a centred point, a matrix-vector product into a new
vector, a Runge-Kutta stage) and whose adjoint reads its elements can either replay what computes
it, or copy it once to a flat tape (`pushed_row`) in the forward run and read it back (`row_at`, a
view) after the replay, which dead-code elimination then empties of that work. Each array kept
this way saves, by the estimate of `estimated_work`, more replayed work than its copy costs
(`worth_keeping`); arrays whose replay is cheap are replayed as before.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import bound_names
from .common import allocates

NOMINAL_TRIPS = 8   # a loop's trip count in the estimate: nests cost more than straight code


def row_groups(loop, kinds: dict, shares: dict, values_read: set[str], mentions) -> dict[str, list[str]]:
    """The 1-D float arrays each iteration of `loop` binds anew, once, at the top of its body, whose
    values `values_read` (the iteration's adjoint) reads: name -> the second names bound to it
    (`Qx = out`). `mentions(name)` counts the name's occurrences in the whole function; an array
    mentioned outside the loop, or sharing memory with another array (a view), is left out."""
    inside = [n.id for n in syntax.walk(loop) if isinstance(n, gast.Name)]
    groups = {}
    for stmt in loop.body:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and _fresh(stmt.value, kinds)):
            continue
        array = stmt.targets[0].id
        if kinds.get(array) != K.array(1):
            continue
        aliases = [s.targets[0].id for s in loop.body if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                   and isinstance(s.value, gast.Name) and s.value.id == array]
        group = {array, *aliases}
        local = all(inside.count(name) == mentions(name) for name in group)
        bound_once = all(sum(name in bound_names(s) for s in syntax.walk(loop) if isinstance(s, gast.stmt)
                             and not syntax.is_loop(s) and not isinstance(s, gast.If)) == 1 for name in group)
        shared = set().union(*(shares.get(name, set()) for name in group)) - group
        if local and bound_once and not shared and group & values_read:
            groups[array] = aliases
    return groups


def _fresh(value, kinds: dict) -> bool:
    """A call that returns a new array, or arithmetic on arrays (which does too)."""
    if allocates(value):
        return True
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        operands = [value.left, value.right] if isinstance(value, gast.BinOp) else [value.operand]
        return any(isinstance(o, gast.Name) and K.is_array(kinds.get(o.id, K.UNKNOWN)) for o in operands)
    return False


def estimated_work(stmts: list, kinds: dict) -> int:
    """A static estimate of what `stmts` cost to run: one per statement, a loop's body
    NOMINAL_TRIPS times, a statement that makes an array (a whole-array operation) as a loop."""
    total = 0
    for stmt in stmts:
        if syntax.is_comment(stmt):
            continue
        if isinstance(stmt, (gast.For, gast.While)):
            total += 1 + NOMINAL_TRIPS * estimated_work(stmt.body, kinds)
        elif isinstance(stmt, gast.If):
            total += 1 + max(estimated_work(stmt.body, kinds), estimated_work(stmt.orelse, kinds))
        elif isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
                and K.is_array(kinds.get(stmt.targets[0].id, K.UNKNOWN)) and isinstance(stmt.value, (gast.Call, gast.BinOp)):
            total += NOMINAL_TRIPS
        else:
            total += 1
    return total


def worth_keeping(saved: int) -> bool:
    """Whether reading an array back, rather than replaying what computes it, saves more estimated
    work than its copy costs. Moving n elements costs about what computing them with a few
    operations each does, so the copy must save a loop nest: a matrix-vector product into the
    array, not an elementwise sum."""
    return saved > NOMINAL_TRIPS * NOMINAL_TRIPS


def row_bindings(groups: dict, names: dict, position) -> dict:
    """array -> [`out = row_at(out_rows, out_row_ends, i)`, `Qx = out` for each second name], where
    `names` gives each array's (tape, ends) names."""
    code = {}
    for array, aliases in sorted(groups.items()):
        rows, ends = names[array]
        code[array] = [syntax.assign(array, syntax.call("row_at", syntax.name(rows), syntax.name(ends), syntax.clone(position)))]
        code[array] += [syntax.assign(alias, syntax.name(array)) for alias in aliases]
    return code


def row_push(array: str, rows: str, ends: str, position):
    """`out_rows = pushed_row(out_rows, out_row_ends, i, out)`: the iteration's array, copied."""
    return syntax.assign(rows, syntax.call("pushed_row", syntax.name(rows), syntax.name(ends), syntax.clone(position),
                                           syntax.name(array)))
