"""Replayed loops whose writes their adjoint loops undo before anything reads them, removed.

A reverse iteration replays a loop (`work[i] = ...`, a sweep writing `u[i, j]`) and then runs
that loop's adjoint, which first puts back each element the replay wrote: from the copy taken
at loop entry (array_restore's disjoint strategies) or from the element log. Where nothing
between the two loops reads the array, the adjoint reads it at most where it has just put it
back, and what the replay computes from the array feeds only the writes, the replay's writes,
the copy or log, and the restores do nothing. After these rewrites no such triple is left, and
dead-code elimination takes the rest of the replayed loop and the snapshots that served only it
(a work array's loop, a Gauss-Seidel sweep linear in its grid).
"""
from __future__ import annotations

import functools
from collections import Counter

import gast

from .. import syntax
from ..analyze.dataflow import bound_names, own_reads, upward_exposed
from ..rules.template import simplify
from .array_restore import disjoint_position
from .common import backward_range


def drop_undone_loop_writes(shares: dict):
    """`a_at_entry = np.copy(a)`, a replayed loop writing `a` at its own index (`a[i] = v`, or
    `a[i, j] = v` in a nested loop), then its adjoint loop restoring that part (`a[i] = a_at_entry[i]`)
    first thing in each iteration, with nothing between reading `a`: the loop-sized form of
    `drop_undone_writes`. The replayed writes and the restores go, and the copy with them;
    dead-code elimination then drops what only the writes read (for a work array, the whole
    replayed loop)."""
    def apply(code: list) -> list:
        loads = Counter(n.id for n in syntax.nodes_in(code) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load))

        def rewrite(out: list, live_after) -> list:
            k = 0
            while k < len(out):
                found = _undone_loop_writes(out, k, shares, loads, live_after)
                if found is None:
                    k += 1
                    continue
                replay, adjoint, array = found
                _drop_writes(replay.body, array)
                del adjoint.body[_undo_start(replay, adjoint)]
                del out[k]
            return out
        _rewrite_with_live(code, set, rewrite)
        return code
    return apply


def _undone_loop_writes(stmts: list, k: int, shares: dict, loads: Counter, live_after):
    """(replayed loop, adjoint loop, array) when `stmts[k]` is an entry copy whose only use is the
    adjoint loop's restore of what the replayed loop wrote, and nothing else sees those writes."""
    copy = stmts[k]
    if not (isinstance(copy, gast.Assign) and isinstance(copy.targets[0], gast.Name) and isinstance(copy.value, gast.Call)
            and syntax.dotted_name(copy.value.func) == "np.copy" and len(copy.value.args) == 1):
        return None
    saved, source = copy.targets[0].id, copy.value.args[0]
    part = syntax.index_parts(source) if isinstance(source, gast.Subscript) else []   # np.copy(u[r]): a part
    array = syntax.base_name(source) if part else getattr(source, "id", None)
    if array is None or (part and not isinstance(source.value, gast.Name)) or loads[saved] != 1:
        return None
    watched = {array, saved} | set(shares.get(array, ()))
    mentions = [j for j in range(k + 1, len(stmts)) if watched & syntax.names_in(stmts[j])]
    if len(mentions) < 2:
        return None
    replay, adjoint = stmts[mentions[0]], stmts[mentions[1]]
    start = _undo_start(replay, adjoint)
    if start is None or start >= len(adjoint.body):
        return None
    position = disjoint_position(replay, array)
    restore, rest = adjoint.body[start], adjoint.body[start + 1:]
    views = watched - {array, saved}
    if (position is None or disjoint_position(_loop_over(replay, adjoint.body[start:]), array) != position
            or not _restores_from(restore, array, saved, part)
            or (watched - {array}) & syntax.names_in(rest) or saved in syntax.names_in(replay.body)
            or (views | {array}) & syntax.stored_names(rest) or views & syntax.stored_names(replay.body)
            or any(_passed_to_calls(rest + replay.body, a) for a in views | {array})):
        return None
    if not (views & syntax.names_in(replay.body)) and _writes_last(replay.body, array):
        return replay, adjoint, array
    # the replay reads a name that may share the array's memory (`u` after `u = un`): what it
    # computes from either must feed only the writes that go
    dropped = {id(s) for s in replay.body if _writes_into(s, array)}
    if not dropped or array in syntax.stored_names([s for s in replay.body if id(s) not in dropped]) \
            or not _feeds_only(replay.body, views | {array}, dropped, lambda: upward_exposed(stmts[mentions[0] + 1:]) | live_after()):
        return None
    return replay, adjoint, array


def _undo_start(replay, adjoint) -> int | None:
    """Where, in the adjoint loop's body, each iteration's undo begins, when the adjoint loop
    visits the replayed loop's iterations: under the same header, or a unit-step range walked
    backwards (its first statement), or counted backwards (`for iteration in
    range(len(range(a, b, 2)) - 1, -1, -1)`, after its first statement `j = a + iteration * 2`)."""
    if not (isinstance(replay, gast.For) and isinstance(adjoint, gast.For) and adjoint.body
            and isinstance(replay.iter, gast.Call) and syntax.dotted_name(replay.iter.func) == "range"):
        return None
    first = _first_statement(adjoint.body)
    if adjoint.target.id == replay.target.id:
        return first if _same_iterations(replay, adjoint) else None
    setup, index = adjoint.body[first], adjoint.target.id
    args = replay.iter.args
    start, step = (args[0] if len(args) > 1 else syntax.const(0)), (args[2] if len(args) > 2 else syntax.const(1))
    trips = syntax.call("len", syntax.clone(replay.iter))
    counted = syntax.call("range", syntax.binop(trips, "-", syntax.const(1)), syntax.const(-1), syntax.const(-1))
    visited = simplify(syntax.binop(syntax.clone(start), "+", syntax.binop(syntax.name(index), "*", syntax.clone(step))))
    if (isinstance(setup, gast.Assign) and isinstance(setup.targets[0], gast.Name) and setup.targets[0].id == replay.target.id
            and syntax.fingerprint(setup.value) == syntax.fingerprint(visited)
            and syntax.fingerprint(adjoint.iter) == syntax.fingerprint(counted)):
        return first + 1
    return None


def _same_iterations(replay, adjoint) -> bool:
    """Whether two loops over unit-step ranges visit the same values, in either order."""
    if syntax.fingerprint(replay.iter) == syntax.fingerprint(adjoint.iter):
        return True
    args = replay.iter.args
    if len(args) not in (1, 2):
        return False
    start, stop = (syntax.const(0), args[0]) if len(args) == 1 else args
    return syntax.fingerprint(backward_range(replay.target.id, start, stop).iter) == syntax.fingerprint(adjoint.iter)


def _loop_over(replay, body: list) -> gast.For:
    """A loop with the replayed loop's variable over `body`: the adjoint's iteration from its undo on."""
    return gast.For(target=syntax.name(replay.target.id, store=True), iter=replay.iter, body=body, orelse=[], type_comment=None)


def _first_statement(body: list) -> int:
    return next((j for j, s in enumerate(body) if not syntax.is_comment(s)), 0)


def _writes_into(stmt, array: str) -> bool:
    return (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)
            and syntax.base_name(stmt.targets[0]) == array)


def _restores_from(stmt, array: str, saved: str, part: list) -> bool:
    """`array[key] = saved[key]`, or `copy_into(array[key], saved[key])` for a row; where `saved`
    is a copy of the part `array[part]`, `array[part, key] = saved[key]`."""
    if _writes_into(stmt, array):
        target, value = stmt.targets[0], stmt.value
    elif (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) and syntax.dotted_name(stmt.value.func) == "copy_into"
            and len(stmt.value.args) == 2 and isinstance(stmt.value.args[0], gast.Subscript)):
        target, value = stmt.value.args
        if syntax.base_name(target) != array or not isinstance(target.value, gast.Name):
            return False
    else:
        return False
    if not (isinstance(value, gast.Subscript) and syntax.base_name(value) == saved and isinstance(value.value, gast.Name)):
        return False
    written = [syntax.fingerprint(p) for p in syntax.index_parts(target)]
    return written == [syntax.fingerprint(p) for p in list(part) + list(syntax.index_parts(value))]


def _passed_to_calls(stmts: list, array: str) -> bool:
    """Whether a call in `stmts` is handed `array` (or a part of it), which it might write into."""
    return any(isinstance(n, gast.Call) and array in syntax.names_in(n.args) for n in syntax.nodes_in(stmts))


def _writes_last(body: list, array: str) -> bool:
    """Whether the body writes `array`, in statements that mention it only as what they write
    (`a[i] = v`, or loops and branches of such writes), and reads it only before the first of
    them: without the writes, every other statement reads the same."""
    written = False
    for stmt in body:
        if _only_writes(stmt, array):
            written = True
        elif array in syntax.names_in(stmt):
            if written or array in syntax.stored_names(stmt):
                return False
    return written


def _only_writes(stmt, array: str) -> bool:
    if _writes_into(stmt, array):
        return True
    if not isinstance(stmt, (gast.For, gast.If)) or array in own_reads(stmt):
        return False
    inner = [s for block in syntax.child_blocks(stmt) for s in block if array in syntax.names_in(s)]
    return bool(inner) and all(_only_writes(s, array) for s in inner)


def _drop_writes(stmts: list, array: str) -> None:
    """Delete, in place, every element write into `array` in `stmts` and the blocks nested in them
    (a block left empty goes with the dead-code elimination that follows)."""
    stmts[:] = [s for s in stmts if not _writes_into(s, array)]
    for stmt in stmts:
        for block in syntax.child_blocks(stmt):
            _drop_writes(block, array)


def drop_undone_logged_writes(shares: dict):
    """The element-log form of `drop_undone_loop_writes`: a replayed loop that logs each element
    it overwrites (`u_log.append(u[i, j])`, the log's height per iteration on a tape) and writes
    `u`, then its adjoint loop popping that log back into `u` first thing in each iteration (a
    Gauss-Seidel sweep through a computed index, `j = n - 1 - k`, linear in `u`, whose adjoint
    reads none of it), with nothing between reading `u`. Where what the replayed loop computes from `u` feeds only those writes, the
    writes, pushes and pops go; dead-code elimination takes the rest of the replay."""
    def apply(code: list) -> list:
        emptied = set()   # height tapes whose records and reads went: their allocations go too
        _rewrite_with_live(code, set, lambda out, live_after: _drop_logged_pairs(out, shares, live_after, emptied))
        if emptied:
            _drop_unread_allocations(code, emptied)
        return code
    return apply


def _drop_unread_allocations(code: list, tapes: set) -> None:
    """Delete the statements that only allocate one of `tapes` (`H = np.empty(0)`, `if
    H.shape[0] < n: H = np.empty(n)`) where nothing else in `code` mentions it."""
    def allocates(stmt, tape):
        if isinstance(stmt, gast.If):
            return not stmt.orelse and all(allocates(s, tape) for s in stmt.body)
        return isinstance(stmt, gast.Assign) and bound_names(stmt) == {tape} and isinstance(stmt.targets[0], gast.Name)
    mentions = Counter()
    for stmt in syntax.statements_in(code):
        if not syntax.child_blocks(stmt):
            for tape in tapes & syntax.names_in(stmt):
                mentions[tape, allocates(stmt, tape)] += 1
    unread = {t for t in tapes if mentions[t, False] == 0 and not _tested_elsewhere(code, t, allocates)}
    for block in syntax.blocks(code):
        block[:] = [s for s in block if not any(allocates(s, t) for t in unread & syntax.names_in(s))]


def _tested_elsewhere(code: list, tape: str, allocates) -> bool:
    """Whether a loop or branch other than an allocation of `tape` reads it in its header."""
    return any(tape in own_reads(s) and not allocates(s, tape) for s in syntax.statements_in(code) if syntax.child_blocks(s))


def _rewrite_with_live(stmts: list, live_after, rewrite) -> None:
    """Apply `rewrite(block, live_after)` to `stmts` and every block nested in it, innermost first;
    `live_after()` gives (computed when asked) the names that may be read after the block runs."""
    for k, stmt in enumerate(stmts):
        blocks = syntax.child_blocks(stmt)
        if blocks:
            inner = functools.cache(lambda k=k, stmt=stmt: upward_exposed(stmts[k + 1:]) | live_after()
                                    | (upward_exposed(stmt.body) | own_reads(stmt) if syntax.is_loop(stmt) else set()))
            for block in blocks:
                _rewrite_with_live(block, inner, rewrite)
    stmts[:] = rewrite(stmts, live_after)


def _drop_logged_pairs(out: list, shares: dict, live_after, emptied: set) -> list:
    for j, adjoint in enumerate(out):
        if not isinstance(adjoint, gast.For):
            continue
        first = _first_statement(adjoint.body)
        start, undo = next(((at, found) for at in (first, first + 1) for found in [_log_undo(adjoint, at)] if found), (None, None))
        if undo is None:
            continue
        array, logs, height_tape = undo
        watched = {array, height_tape, *logs} | set(shares.get(array, ()))
        k = next((k for k in range(j - 1, -1, -1) if watched & syntax.names_in(out[k])), None)
        if k is None:
            continue
        replay = out[k]
        dropped = _logged_writes(replay, array, logs, height_tape, watched)
        rest = adjoint.body[start + 2:]
        if (dropped is None or _undo_start(replay, adjoint) != start
                or (watched | {adjoint.body[start].targets[0].id}) & syntax.names_in(rest)
                or not _feeds_only(replay.body, {array}, dropped, lambda: upward_exposed(out[k + 1:]) | live_after())):
            continue
        replay.body[:] = [s for s in replay.body if id(s) not in dropped]
        del adjoint.body[start:start + 2]
        emptied.add(height_tape)
    return out


def _log_undo(loop, start: int):
    """(array, its logs, the height tape) when `loop`'s body, from `start` on, begins by reading the
    log's height from a tape (`h = H[j - 1]` or `h = H.pop()`) and popping the log back into the
    array down to it (`while len(u_log) > h: ...; u[k, m] = u_log.pop()`)."""
    if len(loop.body) < start + 2:
        return None
    height, undo = loop.body[start:start + 2]
    if not (isinstance(height, gast.Assign) and isinstance(height.targets[0], gast.Name) and isinstance(undo, gast.While)):
        return None
    tape = _tape_of(height.value)
    test = undo.test
    if not (tape and isinstance(test, gast.Compare) and isinstance(test.left, gast.Call)
            and syntax.dotted_name(test.left.func) == "len" and isinstance(test.comparators[0], gast.Name)
            and test.comparators[0].id == height.targets[0].id and undo.body and not undo.orelse):
        return None
    *pops, restore = undo.body
    values = syntax.dotted_name(test.left.args[0]) if isinstance(test.left.args[0], gast.Name) else None
    if not (_writes_into(restore, syntax.base_name(restore.targets[0]) if isinstance(restore, gast.Assign) else "")
            and _pop_of(restore.value) == values
            and all(isinstance(p, gast.Assign) and isinstance(p.targets[0], gast.Name) and _pop_of(p.value) for p in pops)):
        return None
    logs = {values} | {_pop_of(p.value) for p in pops}
    return syntax.base_name(restore.targets[0]), logs, tape


def _tape_of(value) -> str | None:
    """`H` of `H[k]` or `H.pop()`."""
    if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
        return value.value.id
    return _pop_of(value)


def _pop_of(value) -> str | None:
    """`X` of `X.pop()`."""
    if (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and value.func.attr == "pop"
            and isinstance(value.func.value, gast.Name) and not value.args):
        return value.func.value.id
    return None


def _logged_writes(replay, array: str, logs: set, height_tape: str, watched: set):
    """ids of the replayed loop's statements that record the log's height, push onto the logs and
    write `array`, when all of them sit directly in its body and nothing else there touches the
    logs, the tape or a name sharing the array's memory; else None."""
    if not isinstance(replay, gast.For):
        return None
    dropped = set()
    for stmt in replay.body:
        if _writes_into(stmt, array) or _records_onto(stmt, logs | {height_tape}):
            dropped.add(id(stmt))
        elif (watched - {array}) & syntax.names_in(stmt) or array in syntax.stored_names(stmt) \
                or (not isinstance(stmt, gast.Assign) and array in syntax.names_in(stmt)):
            return None
    return dropped if any(_writes_into(s, array) for s in replay.body) else None


def _records_onto(stmt, tapes: set) -> bool:
    """`X.append(v)` or `H[k] = len(X)` for X, H in `tapes`."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) and isinstance(stmt.value.func, gast.Attribute):
        return stmt.value.func.attr == "append" and syntax.dotted_name(stmt.value.func.value) in tapes
    return (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)
            and syntax.base_name(stmt.targets[0]) in tapes)


def _feeds_only(body: list, arrays: set, dropped: set, live_after) -> bool:
    """Whether the names the body computes from `arrays` (in plain assignments) feed nothing but
    the statements in `dropped`: not another statement, not a later iteration, nothing after the loop."""
    tainted = set()
    for stmt in body:
        if id(stmt) in dropped:
            continue
        reads = syntax.loaded_names(stmt)
        if arrays & reads or reads & tainted:
            if not (isinstance(stmt, gast.Assign) and all(isinstance(t, gast.Name) for t in stmt.targets)):
                return False
            tainted |= bound_names(stmt)
    return not tainted or not (tainted & (upward_exposed(body) | live_after()))
