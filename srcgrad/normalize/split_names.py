"""Give a name that holds values of different kinds one name per stretch of code its binding reaches.

Kinds are flow-insensitive: after `s = 0.0` and later `s = (A + s).reshape(12)` the name `s` is of
unknown kind, and numba, which types the primal binding by binding, cannot type the derivative's
`s_bar` that must hold a float on one line and an array on the next. Within one block, a plain
assignment `s = ...` reaches the statements up to the next plain assignment to `s` in that block
(that one's right-hand side included), or to the block's end where nothing after the block reads
`s` before binding it again; unless a `break` or `continue` leaves the block in between, it reaches
nothing else. Such a stretch can take a fresh name, its binding and every use in it together,
without changing what the program computes. After this pass, every such stretch of a name whose
kind was unknown has its own name, and so has every stretch of a name holding a tuple of arrays
(`layer = (W1, b1)` ... `layer = (W2, b2)`: reverse mode gives a tuple one adjoint per element,
which cannot take each stretch's shapes). It runs per signature, on the first kinds, for those
names only: other code keeps its names.
"""
from __future__ import annotations

import copy

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import must_bind, own_reads, upward_exposed
from .ranks import rename_rank_checks


def split_rebound_names(tree: gast.FunctionDef, kinds: dict, names, infer) -> bool:
    """Rename the stretches of each name of unknown kind whose stretches, once renamed, hold
    values of conflicting kinds (a float and an array, arrays of two ranks), as the module
    docstring says. `infer(tree)` gives a tree's kinds: the split is tried on a copy first, as a
    stretch's kind may depend on the one before it (`s = A[i] * s`). True when anything was
    renamed (the kinds must then be inferred again)."""
    params = set(syntax.param_names(tree))
    defined: dict = {name: 1 for name in params}
    for stmt in syntax.statements_in(tree.body):
        if _is_plain_binding(stmt):
            defined[stmt.targets[0].id] = defined.get(stmt.targets[0].id, 0) + 1
    # no nested function or lambda reads these names: the fence refuses those that read the function's
    # variables, and parse lifts out the ones that read only their arguments
    rebound = {name for name, count in defined.items() if count > 1}
    unknown = sorted(name for name in rebound if kinds.get(name) in (K.UNKNOWN, "a?"))
    tuples = sorted(name for name in rebound if _holds_arrays(kinds.get(name)))
    for name in tuples:   # `layer = (W1, b1)` ... `layer = (W2, b2)`: reverse mode keeps one adjoint per element
        _split(tree.body, name, names, live_at_end=False, keep_first=name not in params)
    candidates = unknown
    if not candidates:
        return bool(tuples)
    trial, trial_names = syntax.clone(tree), copy.deepcopy(names)
    stretches = {name: _split(trial.body, name, trial_names, live_at_end=False, keep_first=name not in params)
                 for name in candidates}
    trial_kinds = infer(trial)
    settled = [name for name in candidates if _conflict([trial_kinds.get(n) for n in stretches[name] + [name]])]
    for name in settled:
        _split(tree.body, name, names, live_at_end=False, keep_first=name not in params)
    return bool(settled) or bool(tuples)


def _holds_arrays(kind) -> bool:
    """Whether a kind is a tuple with an array in it (nested tuples too)."""
    return isinstance(kind, tuple) and any(K.is_array(k) or _holds_arrays(k) for k in kind)


def _conflict(stretch_kinds: list) -> bool:
    """Whether some of these kinds are known and do not join into one (a float and an array)."""
    known = [kind for kind in stretch_kinds if kind not in (None, K.UNKNOWN, "a?")]
    joined = None
    for kind in known:
        joined = K.join(joined, kind)
    return len(known) > 1 and joined in (K.UNKNOWN, "a?")


def _split(stmts: list, name: str, names, live_at_end: bool, keep_first: bool = False) -> list:
    """Inner blocks first: their stretches take fresh names before this block's stretches rename
    what is left of `name` inside them. `live_at_end`: whether code after `stmts` may read the
    value `name` has at their end; `keep_first`: the first stretch keeps the name (in the body of
    the function, of a name that is not a parameter: nothing before it reads the name). Returns
    the fresh names."""
    fresh_names, live = [], live_at_end
    for stmt in reversed(stmts):
        for block in syntax.child_blocks(stmt):
            read_next_trip = syntax.is_loop(stmt) and (name in own_reads(stmt) or name in upward_exposed(stmt.body))
            fresh_names += _split(block, name, names, live or read_next_trip)
        live = _live_before(stmt, name, live)
    starts = [k for k, stmt in enumerate(stmts) if _is_plain_binding(stmt) and stmt.targets[0].id == name]
    ends = starts[1:] + ([] if live_at_end else [len(stmts)])
    for start, end in list(zip(starts, ends))[1 if keep_first else 0:]:
        if _leaves_block(stmts[start + 1:end]):
            continue
        fresh = names.fresh(name)
        renames = {name: fresh}
        stmts[start].targets[0].id = fresh
        syntax.rename(stmts[start + 1:end], renames)
        rename_rank_checks(stmts[start + 1:end], renames)
        if end < len(stmts):
            syntax.rename(stmts[end].value, renames)   # `s = (A + s).reshape(12)` reads the stretch before it
        fresh_names.append(fresh)
    return fresh_names


def _live_before(stmt, name: str, live_after: bool) -> bool:
    """Whether the value `name` has before `stmt` may be read, by `stmt` or after it."""
    if name in own_reads(stmt):
        return True
    if syntax.is_loop(stmt):   # it may run no trip
        return name in upward_exposed(stmt.body) or live_after
    if isinstance(stmt, gast.If):
        return any(name in upward_exposed(block) or (live_after and name not in must_bind(block))
                   for block in (stmt.body, stmt.orelse))
    return live_after and not (isinstance(stmt, gast.Assign) and name in must_bind([stmt]))


def _is_plain_binding(node) -> bool:
    """`name = value`; not an augmented update, which numpy makes in place on an array."""
    return (isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], gast.Name)
            and not getattr(node, "srcgrad_augmented", False))


def _leaves_block(stmts: list) -> bool:
    """Whether a `break` or `continue` in `stmts` jumps out of them (it is not inside a loop there)."""
    pending = list(stmts)
    while pending:
        stmt = pending.pop()
        if isinstance(stmt, (gast.Break, gast.Continue)):
            return True
        if not syntax.is_loop(stmt):
            pending += [s for block in syntax.child_blocks(stmt) for s in block]
    return False
