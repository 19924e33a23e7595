"""Direction buffers a loop makes on every iteration, made once before the loop and reused.

After this pass, a `dX = direction_buffer(directions, X)` at the top of a loop's body whose buffer
no code reads after its iteration (through dX or any name bound from it, as a view) is
`dX = direction_buffer_reused(dX, directions, X)`, with `dX = np.empty((0, ...))` before the loop:
every iteration writes into one buffer. Fresh buffers each iteration cost page faults wherever the
allocator maps them anew (GradBench ht: 22 bones, 16 MB of tangents each, made the Jacobian take
twice as long in some processes as in others).
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import upward_exposed

# calls that read a buffer passed to them, or write into it, and keep no reference to it
_KEEPS_NOTHING = {"copy_into", "matmul_into", "multiply_into", "add_product_into", "may_be_nonzero", "revive", "broadcast_like", "direction_buffer",
                  "direction_buffer_reused", "directions_last", "sum_to", "len"}


def reuse_loop_buffers(fn: gast.FunctionDef, kinds: dict) -> None:
    """Rewrite `fn` in place (see the module docstring); `kinds` gives the rank of each buffer's array."""
    _rewrite_block(fn.body, fn, kinds)


def _rewrite_block(stmts: list, fn, kinds: dict) -> None:
    k = 0
    while k < len(stmts):
        stmt = stmts[k]
        for block in syntax.child_blocks(stmt):
            _rewrite_block(block, fn, kinds)
        if syntax.is_loop(stmt):
            before = [_reuse(alloc, kinds) for alloc in stmt.body if _reusable(alloc, stmt, fn, kinds)]
            stmts[k:k] = before
            k += len(before)
        k += 1


def _allocated(stmt, kinds: dict):
    """(buffer, array) of `buffer = direction_buffer(count, array)` for an array of known rank, else None."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Call)
            and syntax.dotted_name(stmt.value.func) == "direction_buffer" and len(stmt.value.args) == 2
            and isinstance(stmt.value.args[1], gast.Name)):
        return None
    array = stmt.value.args[1].id
    return (stmt.targets[0].id, array) if K.ndim(kinds.get(array, K.UNKNOWN)) is not None else None


def _reusable(stmt, loop, fn, kinds: dict) -> bool:
    allocated = _allocated(stmt, kinds)
    if allocated is None:
        return False
    buffer = allocated[0]
    if sum(isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store) and n.id == buffer for n in syntax.walk(loop)) != 1:
        return False   # bound again elsewhere in the loop: its own buffer there
    names = _sharing(buffer, loop)
    inside = {id(n) for n in syntax.walk(loop)}
    read_outside = any(isinstance(n, gast.Name) and n.id in names and id(n) not in inside for n in syntax.walk(fn))
    return not (read_outside or upward_exposed(loop.body) & names or _kept(loop, names))


def _sharing(buffer: str, loop) -> set[str]:
    """`buffer` and every name the loop binds from a value that reads one of them (views, aliases)."""
    names, grown = {buffer}, True
    while grown:
        grown = False
        for node in syntax.walk(loop):
            if isinstance(node, gast.Assign) and syntax.loaded_names(node.value) & names:
                new = {n.id for t in node.targets for n in syntax.walk(t)
                       if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)} - names
                if new:
                    names |= new
                    grown = True
    return names


def _kept(loop, names: set[str]) -> bool:
    """Whether the loop may keep a reference to one of `names` past its iteration: it returns one,
    stores one whole into a container, or passes one to a call that might keep it."""
    for node in syntax.walk(loop):
        if isinstance(node, gast.Return) and node.value is not None and syntax.loaded_names(node.value) & names:
            return True
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Name) and node.value.id in names \
                and not all(isinstance(t, gast.Name) for t in node.targets):
            return True
        if isinstance(node, gast.Call):
            passed = [a for a in node.args + [kw.value for kw in node.keywords] if isinstance(a, gast.Name) and a.id in names]
            called = syntax.dotted_name(node.func) or ""
            if passed and not (called.startswith("np.") or called in _KEEPS_NOTHING):
                return True
    return False


def _reuse(stmt, kinds: dict):
    """Rewrite the allocation in place to reuse its buffer; return the empty buffer to put before the loop."""
    buffer, array = _allocated(stmt, kinds)
    stmt.value.func = syntax.name("direction_buffer_reused")
    stmt.value.args.insert(0, syntax.name(buffer))
    empty = syntax.tuple_([syntax.const(0)] * (K.ndim(kinds[array]) + 1))
    return syntax.assign(buffer, syntax.call("np.empty", empty))
