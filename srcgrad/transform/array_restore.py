"""How a reverse loop gets an array back to its state at an iteration's start, chosen per loop.

Reverse mode replays each iteration from the state it started in, so a loop that writes into an
array from before it must be able to restore that array. Three ways, cheapest that is sound:

- **disjoint**: every read and write of the array in the loop indexes it with the loop variable at
  one position (`y[i] = y[i] + h * k[i]`), so iteration i touches only its own element or row.
  One copy of the array when the loop starts; the reverse iteration i copies back just `a[i]`.
  Where every write fixes the positions before the loop variable's (`u[r, j] = ...` in a loop
  over j, r bound outside it: the inner loop of a 2-D sweep), the copy is of that part (`u[r]`)
  only, and iteration j copies back `u[r, j]`: a copy of the whole grid per row made such sweeps
  cubic in the grid's side.
- **disjoint writes**: as disjoint where only the writes index the array with the loop variable at
  one position and reads reach other parts (a sweep whose row i is computed from row i - 1). A
  backward walk over the iterations, restoring iteration i's own part before replaying it, leaves
  every earlier part as the replay left it, which is what iteration i read. Chosen for every
  counted loop whose writes are all at its own index (where a snapshot per iteration or an element
  log would be); the iterations' adjoints then never run in the primal's order.
- **snapshot**: the loop's iterations overwrite the array in bulk (inside nested loops, as
  Runge-Kutta stages and work arrays do), or through indices of more than one shape (a stencil's
  slice and its boundary element). One copy of the array per iteration on a preallocated tape, a
  memcpy, instead of a logged push per element written; on a list of copies where no trip count
  sizes the tape (a while loop, a loop with a break).
- **log**: anything else; each element (row, slice) written is logged with its old value and
  undone newest first. Cheap when an iteration writes a few elements.

A loop inside one that logs an array must log it too: the outer loop's undo pops what the inner
loop's writes pushed.
"""
from __future__ import annotations

import gast

from .. import syntax

DISJOINT, DISJOINT_WRITES, SNAPSHOT, LOG = "disjoint", "disjoint writes", "snapshot", "log"
_SHAPE_ATTRIBUTES = {"shape", "size", "ndim"}


def disjoint_position(loop, array: str) -> int | None:
    """The index position that holds the loop variable in every access of `array` in `loop`, or
    None when iterations may touch each other's elements."""
    subscripts = [parent if isinstance(parent, gast.Subscript) and parent.value is node else None
                  for node, parent in _accesses(loop.body, array)
                  if not (isinstance(parent, gast.Attribute) and parent.attr in _SHAPE_ATTRIBUTES)]
    return _loop_variable_position(loop, subscripts)


def written_position(loop, array: str) -> int | None:
    """The index position that holds the loop variable in every write into `array` in `loop`
    (reads may index it any way), or None."""
    writes = [node if isinstance(node.value, gast.Name) else None for node in syntax.walk(loop)
              if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) and syntax.base_name(node) == array]
    return _loop_variable_position(loop, writes)


def _loop_variable_position(loop, subscripts: list) -> int | None:
    """The index position holding `loop`'s variable (never bound in its body) in every one of
    `subscripts`, or None (also where one of them is None: an access of another form)."""
    if not isinstance(loop, gast.For) or loop.target.id in syntax.stored_names(loop.body):
        return None
    position = None
    for subscript in subscripts:
        if subscript is None:
            return None
        places = [k for k, p in enumerate(syntax.index_parts(subscript)) if isinstance(p, gast.Name) and p.id == loop.target.id]
        if not places or (position is not None and position not in places):
            return None
        position = places[0] if position is None else position
    return position


def writes_in_bulk(loop, array: str) -> bool:
    """Whether some write into `array` sits in a loop nested in `loop` (so an iteration writes many
    elements, and copying the whole array costs about what the iteration costs anyway)."""
    for inner in (n for s in loop.body for n in syntax.walk(s) if isinstance(n, (gast.For, gast.While))):
        if array in _element_write_targets(inner.body):
            return True
    return False


def written_part(loop, array: str, position: int) -> list:
    """The index atoms before `position` that every write into `array` in `loop` shares and the
    loop never binds (`[r]` for `u[r, j] = v` in a loop over j), when there are `position` of
    them; else []: the loop then writes into more than that part."""
    if position == 0 or not isinstance(loop, gast.For):
        return []
    bound = syntax.stored_names(loop.body) | {loop.target.id}
    prefixes = set()
    for node in syntax.walk(loop):
        if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) and syntax.base_name(node) == array:
            parts = syntax.index_parts(node)[:position] if isinstance(node.value, gast.Name) else []
            if len(parts) != position or not all(_invariant_atom(p, bound) for p in parts):
                return []
            prefixes.add(tuple(syntax.fingerprint(p) for p in parts))
            prefix = parts
    return [syntax.clone(p) for p in prefix] if len(prefixes) == 1 else []


def _invariant_atom(part, bound: set) -> bool:
    if isinstance(part, gast.Constant):
        return type(part.value) is int
    return isinstance(part, gast.Name) and part.id not in bound


def entry_copy(array: str, copy: str, part: list) -> gast.Assign:
    """`copy = np.copy(array)`, or of the part the loop writes (`np.copy(u[r])`, see written_part)."""
    source = syntax.name(array) if not part else syntax.subscript(syntax.name(array), _key(syntax.clone(part)))
    return syntax.assign(copy, syntax.call("np.copy", source))


def restore_own_part(array: str, copy: str, position: int, index: str, part: list) -> gast.Assign:
    """`array[:, i] = copy[:, i]`: the part iteration `i` touches, as it was when the loop began;
    `array[r, i] = copy[i]` where the copy is of the part `array[r]` the loop writes."""
    if part:
        return syntax.assign(syntax.subscript(syntax.name(array), _key(syntax.clone(part) + [syntax.name(index)]), store=True),
                             syntax.subscript(syntax.name(copy), syntax.name(index)))
    key = _key([gast.Slice(lower=None, upper=None, step=None) for _ in range(position)] + [syntax.name(index)])
    return syntax.assign(syntax.subscript(syntax.name(array), key, store=True),
                         syntax.subscript(syntax.name(copy), syntax.clone(key)))


def _key(parts: list):
    return parts[0] if len(parts) == 1 else syntax.tuple_(parts)


def snapshot_allocation(array: str, tape: str, trips) -> gast.Assign:
    shape = gast.BinOp(left=syntax.tuple_([syntax.clone(trips)]), op=gast.Add(),
                       right=syntax.attribute(array, "shape"))
    return syntax.assign(tape, syntax.call("np.empty", shape))


def snapshot_record(array: str, tape: str, position) -> gast.Assign:
    return syntax.assign(syntax.subscript(syntax.name(tape), syntax.clone(position), store=True),
                         syntax.name(array))


def snapshot_restore(array: str, value) -> gast.Assign:
    """`array[...] = value`, the iteration's copy read back from its tape."""
    return syntax.assign(syntax.subscript(syntax.name(array), gast.Constant(value=Ellipsis, kind=None), store=True), value)


def _accesses(stmts, array: str):
    """(Name node, its parent) for every occurrence of `array` in `stmts`."""
    for stmt in stmts:
        for parent in syntax.walk(stmt):
            for child in gast.iter_child_nodes(parent):
                if isinstance(child, gast.Name) and child.id == array:
                    yield child, parent


def _element_write_targets(stmts) -> set[str]:
    return {syntax.base_name(t) for s in stmts for n in syntax.walk(s) if isinstance(n, gast.Assign)
            for t in n.targets if isinstance(t, gast.Subscript)}


def overwritten_before_read(body: list, array: str, length) -> bool:
    """Whether every run of `body` writes each element of the 1-D `array`, `length` long (a name or
    an int), before it reads any: then the array's contents when the run starts do not matter.

    Proved for straight writes `a[c] = v` and loops `for i in range(lo, hi): a[i] = v` that do not
    read the array, whose ranges chain from 0 to `length` (`a[0] = ...` then `range(1, n)`)."""
    covered = []   # (lo, hi) bounds: ints or names
    for stmt in body:
        if array not in syntax.names_in(stmt):
            continue
        span = _span_written(stmt, array)
        if span is None:
            return False   # a read (or a write we cannot bound) before the array is known overwritten
        covered.append(span)
        if _chains(covered, length):
            return True
    return False


def _span_written(stmt, array: str):
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
        target = stmt.targets[0]
        if syntax.base_name(target) == array and array not in syntax.names_in(stmt.value):
            index = target.slice
            if isinstance(index, gast.Constant) and isinstance(index.value, int):
                return index.value, index.value + 1
        return None
    if not (isinstance(stmt, gast.For) and len(stmt.iter.args) in (1, 2)):
        return None
    lo, hi = (syntax.const(0), stmt.iter.args[0]) if len(stmt.iter.args) == 1 else stmt.iter.args
    writes = [s for s in stmt.body if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript)
              and syntax.base_name(s.targets[0]) == array]
    others = [s for s in stmt.body if s not in writes]
    if (len(writes) == 1 and isinstance(writes[0].targets[0].slice, gast.Name)
            and writes[0].targets[0].slice.id == stmt.target.id and array not in syntax.names_in(writes[0].value)
            and not any(array in syntax.names_in(s) for s in others)
            and stmt.target.id not in syntax.stored_names(stmt.body)):
        return _bound(lo), _bound(hi)
    return None


def _bound(atom):
    if isinstance(atom, gast.Constant) and isinstance(atom.value, int):
        return atom.value
    return atom.id if isinstance(atom, gast.Name) else object()


def _chains(spans: list, length) -> bool:
    reached, seen = 0, {0}
    while reached != length:
        step = next((hi for lo, hi in spans if lo == reached and hi not in seen), None)
        if step is None:
            return False
        reached = step
        seen.add(step)
    return True
