"""Peephole: `v_bar = 0.0` followed by a first `v_bar += e` becomes `v_bar = e`, as a person writes it."""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze.dataflow import bound_names


def _in_every_block(rewrite):
    """Apply a rewrite of one statement list to that list and to every block nested in it."""
    def apply(stmts: list) -> list:
        for stmt in stmts:
            for block in syntax.child_blocks(stmt):
                block[:] = apply(block)
        return rewrite(list(stmts))
    apply.__doc__ = rewrite.__doc__
    return apply


@_in_every_block
def drop_unneeded_saves(out: list) -> list:
    """`x_saved = x ... x = x_saved` with no write to x between: the copy protected nothing."""
    k = 0
    while k < len(out):
        pair = _save(out[k])
        if pair:
            saved, var = pair
            j = _restore_index(out, k + 1, saved, var)
            if j is not None:
                del out[j]
                del out[k]
                syntax.rename(out, {saved: var})
                continue
        k += 1
    return out


def _save(stmt):
    if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Name)
            and stmt.targets[0].id.endswith("_saved") or False):
        return stmt.targets[0].id, stmt.value.id
    return None


def _restore_index(stmts, start, saved, var):
    for j in range(start, len(stmts)):
        stmt = stmts[j]
        if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == var
                and isinstance(stmt.value, gast.Name) and stmt.value.id == saved):
            return j
        if var in bound_names(stmt):
            return None
    return None


@_in_every_block
def fold_first_contributions(out: list) -> list:
    """`v_bar = 0.0` then a first `v_bar += e` becomes `v_bar = e` (scalar zero initializations only)."""
    folds = [(k, j) for k, j in _next_mentions(out) if _is_first_add(out[j], _zero_init(out[k]))]
    for k, j in folds:
        out[j] = syntax.assign(_zero_init(out[k]), out[j].value)
    dropped = {k for k, _ in folds}
    return [stmt for k, stmt in enumerate(out) if k not in dropped]


def _next_mentions(stmts):
    """(k, j) for each zero initialization k: j is the next statement that mentions its variable
    (comments skipped). One backward sweep, so long straight-line code stays linear."""
    next_seen: dict = {}
    found = []
    for k in range(len(stmts) - 1, -1, -1):
        stmt = stmts[k]
        if syntax.is_comment(stmt):
            continue
        var = _zero_init(stmt)
        if var is not None and var in next_seen:
            found.append((k, next_seen[var]))
        for name in syntax.names_in(stmt):
            next_seen[name] = k
    return found


def _zero_init(stmt):
    if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
            and isinstance(stmt.value, gast.Constant) and stmt.value.value == 0.0
            and stmt.targets[0].id.endswith("_bar")):
        return stmt.targets[0].id
    return None


def _is_first_add(stmt, var) -> bool:
    return (isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add)
            and isinstance(stmt.target, gast.Name) and stmt.target.id == var
            and var not in syntax.names_in(stmt.value))
