"""Reverse loops LLVM can vectorize: adds into an array at several offsets of the index, split; float sums, reassociable.

The adjoint of a stencil (`work[i] = u[i - 1] - 2 * u[i] + u[i + 1]`) adds into `u_bar[i - 1]`,
`u_bar[i]` and `u_bar[i + 1]` in one iteration, so each iteration waits for the store of the one
before it; and the adjoint of a parameter every iteration reads (`alpha_bar += ...`) is a chain of
additions, each waiting for the last. The primal has neither and runs four to eight elements at a
time. After this pass:

- an innermost loop of straight-line code that adds into arrays at several offsets of its index,
  and reads those arrays nowhere else, is one loop per offset (`split_offset_adds`): each copies
  the few statements its adds need, so no iteration reads what another wrote. Split only where
  that pays: inside another loop (a time step, whose arrays stay in cache: a single pass over
  arrays streamed from memory pays more for a second pass than for the wait), where each new loop
  adds into an array at one element per iteration (rows `i - 1`, `i`, `i + 1` of a grid in one
  loop still wait on each other), and where the copies are cheap arithmetic (no calls:
  recomputing a transcendental costs more than the wait it removes). Measured on the 1-D heat
  equation's gradient (n = 2000, 200 steps): 0.73 → 0.36 ms against a 0.055 ms primal.
- a float adjoint that an innermost loop only sums into is summed with `sum_in_any_order`
  (`sums_in_any_order`), an addition LLVM may reorder, so it keeps several partial sums. The
  gradient then differs from the sequential order by rounding only, as any vectorizing compiler's
  does; the primal's own sums keep the user's order.

Loops that run in parallel (`srcgrad_parallel`) keep their form: numba's prange recognizes sums
by their `+=`.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze.dataflow import only_summed, sum_into
from ..emit.printer import to_source
from .peephole import index_shift

SUM_IN_ANY_ORDER = "sum_in_any_order"
# arithmetic operations and loads a split loop may copy beside its adds: each costs about a cycle
# per element in a vectorized loop, against the four or five an iteration waits for a store
_MOST_COPIED = 16


def sums_in_any_order(float_adjoint):
    """Rewrite `x_bar += e` (`-=`) in innermost loops to `x_bar = sum_in_any_order(x_bar, e)` where
    `float_adjoint(x_bar)` holds and the loop touches x_bar only in such sums."""
    def rewrite(code: list) -> list:
        for loop in _innermost_loops(code):
            sums = {name for name in map(_summed_name, loop.body) if name is not None and float_adjoint(name) and only_summed(loop, name)}
            for k, stmt in enumerate(loop.body):
                if _summed_name(stmt) in sums:
                    name = stmt.target.id
                    term = stmt.value if isinstance(stmt.op, gast.Add) else syntax.neg(stmt.value)
                    loop.body[k] = syntax.located(syntax.assign(name, syntax.call(SUM_IN_ANY_ORDER, syntax.name(name), term)), stmt)
        return code
    return rewrite


def _summed_name(stmt) -> str | None:
    """`s` for `s += v` or `s -= v` (the form rewritten here; dataflow's sum_into also takes `s = s + v`)."""
    return sum_into(stmt) if isinstance(stmt, gast.AugAssign) else None


def _innermost_loops(code: list) -> list:
    """The `for` loops of `code` with no loop inside, outside any parallel loop."""
    return [stmt for block, _ in _serial_blocks(code) for stmt in block
            if isinstance(stmt, gast.For) and not any(syntax.is_loop(s) for s in syntax.statements_in(stmt.body))]


def _serial_blocks(code: list, in_loop: bool = False) -> list:
    """(block, whether a loop encloses it) for `code` and the blocks nested in it, but none inside
    a parallel loop (its sums and writes are parallelize's to arrange)."""
    found = [(code, in_loop)]
    for stmt in code:
        if not getattr(stmt, "srcgrad_parallel", False):
            for child in syntax.child_blocks(stmt):
                found += _serial_blocks(child, in_loop or syntax.is_loop(stmt))
    return found


def split_offset_adds(shares: dict):
    """Split each innermost loop that adds into arrays at several offsets of its index into one
    loop per offset (the module docstring says when). `shares`: array -> names sharing its memory."""
    def rewrite(code: list) -> list:
        for block, in_loop in _serial_blocks(code):
            if not in_loop:
                continue   # one pass over arrays streamed from memory: a second pass costs more than the wait
            k = 0
            while k < len(block):
                stmt = block[k]
                parts = _split(stmt, shares) if isinstance(stmt, gast.For) else None
                if parts:
                    block[k:k + 1] = parts
                    k += len(parts)
                else:
                    k += 1
        return code
    return rewrite


def _split(loop, shares: dict) -> list | None:
    """The loops (and their comments) replacing `loop`, or None to keep it."""
    if getattr(loop, "srcgrad_parallel", False) or loop.orelse or not _range_loop(loop):
        return None
    body = [stmt for stmt in loop.body if not syntax.is_comment(stmt)]
    if not all(isinstance(stmt, (gast.Assign, gast.AugAssign)) for stmt in body):
        return None
    index = _position(body, loop.target.id)
    offsets = _index_offsets(body, index)
    groups = _offset_groups(body, index, loop.target.id, offsets, shares)
    if groups is None or len(groups) < 2 or not all(map(_one_element_per_array, groups.values())):
        return None
    rest = _rest_offset(groups)
    moved = {id(stmt) for offset, adds in groups.items() if offset != rest for stmt in adds}
    parts = []
    for offset in sorted(groups):
        if offset == rest:
            continue
        copied = _slice(body, groups[offset], loop.target.id, index, shares)
        if copied is None:
            return None
        targets = ", ".join(sorted({_shown(s.target, index, offsets) for s in groups[offset]}))
        parts += [syntax.comment(f"the adds into {targets}, a loop of their own so that no iteration waits for another"),
                  syntax.located(syntax.for_range(loop.target.id, [syntax.clone(a) for a in loop.iter.args], copied), loop)]
    loop.body = [stmt for stmt in loop.body if id(stmt) not in moved]
    return parts + [loop]


def _range_loop(loop) -> bool:
    """A loop over a range whose bounds the body does not change: each split loop runs it again."""
    it = loop.iter
    return isinstance(loop.target, gast.Name) and isinstance(it, gast.Call) and isinstance(it.func, gast.Name) \
        and it.func.id == "range" and not it.keywords and not syntax.names_in(it.args) & syntax.stored_names(loop.body)


def _position(body: list, target: str) -> str:
    """The name that tells iterations apart: the loop's target, or `i` where the body starts
    `i = start - iteration` (a descending loop walked backwards)."""
    first = body[0] if body else None
    if isinstance(first, gast.Assign) and isinstance(first.targets[0], gast.Name) and isinstance(first.value, gast.BinOp) \
            and isinstance(first.value.op, (gast.Add, gast.Sub)) and isinstance(first.value.right, gast.Name) \
            and first.value.right.id == target and isinstance(first.value.left, (gast.Name, gast.Constant)) \
            and not (isinstance(first.value.left, gast.Name) and first.value.left.id in syntax.stored_names(body)) \
            and sum(first.targets[0].id in syntax.stored_names(stmt) for stmt in body) == 1:
        return first.targets[0].id
    return target


def _index_offsets(body: list, index: str) -> dict:
    """name -> c for the names the body binds once, to `index + c` or `index - c` (c a whole number)."""
    bound: dict = {}
    for stmt in body:
        for name in syntax.stored_names(stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]):
            bound[name] = bound.get(name, 0) + 1
    offsets = {index: 0}
    for stmt in body:
        shift = index_shift(stmt, index)
        if shift is not None and bound[stmt.targets[0].id] == 1:
            offsets[stmt.targets[0].id] = shift
    return offsets


def _offset_of_add(stmt, index: str, offsets: dict):
    """c for `a[..., index + c, ...] += v`, the other index parts not changing in the loop; else None."""
    if not (isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, (gast.Add, gast.Sub))
            and isinstance(stmt.target, gast.Subscript) and isinstance(stmt.target.value, gast.Name)):
        return None
    found = [offsets[part.id] for part in syntax.index_parts(stmt.target) if isinstance(part, gast.Name) and part.id in offsets]
    return found[0] if len(found) == 1 else None


def _varying(body: list, indices: set) -> set:
    """The names whose value may change from one iteration to the next: the index, names bound from
    it, from memory or from each other, and names bound twice or summed into. A name the body
    binds from values fixed in the loop (`sub = i - 1`, i an outer loop's index) is fixed too."""
    targets = [t for stmt in body for t in _targets(stmt) if isinstance(t, gast.Name)]
    varying = set(indices) | {t.id for t in targets if sum(u.id == t.id for u in targets) > 1}
    varying |= {stmt.target.id for stmt in body if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name)}
    for stmt in body:
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
            reads = syntax.nodes_in(stmt.value)
            if syntax.loaded_names(stmt.value) & varying or any(isinstance(n, (gast.Subscript, gast.Call, gast.Attribute)) for n in reads):
                varying.add(stmt.targets[0].id)
    return varying


def _offset_groups(body: list, index: str, target: str, offsets: dict, shares: dict) -> dict | None:
    """offset -> the adds at that offset into the arrays the body adds into at two offsets or more
    and touches nowhere else; None when the loop cannot be split safely."""
    varying = _varying(body, {index, target})
    by_array: dict = {}
    for stmt in body:
        offset = _offset_of_add(stmt, index, offsets)
        fixed = offset is not None and not (syntax.names_in(stmt.target.slice) - set(offsets)) & varying
        if fixed:
            by_array.setdefault(stmt.target.value.id, []).append((offset, stmt))
    scattered = {a: adds for a, adds in by_array.items() if len({o for o, _ in adds}) > 1}
    groups: dict = {}
    for array, adds in scattered.items():
        family = {array, *shares.get(array, ())}
        targets = {id(s.target.value) for _, s in adds}
        if any(isinstance(n, gast.Name) and n.id in family and id(n) not in targets for stmt in body for n in syntax.walk(stmt)):
            return None   # read, or written other than by these adds: the order of iterations matters
        for offset, stmt in adds:
            groups.setdefault(offset, []).append(stmt)
    return groups


def _one_element_per_array(adds: list) -> bool:
    """Whether the adds of one offset reach each array at one element per iteration: otherwise
    (`u_bar[i - 1, j]`, `u_bar[i + 1, j]` beside `u_bar[i, j]`) their loop still waits on itself,
    as LLVM cannot tell the rows apart, and splitting only adds passes."""
    seen: dict = {}
    for stmt in adds:
        if seen.setdefault(stmt.target.value.id, syntax.fingerprint(stmt.target.slice)) != syntax.fingerprint(stmt.target.slice):
            return False
    return True


def _rest_offset(groups: dict) -> int:
    """The offset whose adds stay in the loop with the rest of its work: 0 when there is one."""
    return 0 if 0 in groups else min(groups)


def _slice(body: list, adds: list, target: str, index: str, shares: dict) -> list | None:
    """Copies of the statements of `body` the `adds` need, and the adds, in order; None when they
    read a value an earlier iteration left (so the split would change it) or cost more than
    copying pays for."""
    live, kept = set(), []
    wanted = {id(a) for a in adds}
    for stmt in reversed(body):
        if id(stmt) in wanted:
            kept.append(stmt)
            live |= syntax.loaded_names(stmt)
            continue
        targets = _targets(stmt)
        if any(isinstance(t, gast.Subscript) for t in targets):
            continue   # an array write stays in the loop; _read_before_written checks what copies read
        if not syntax.stored_names(targets) & live:
            continue
        if not (len(targets) == 1 and isinstance(targets[0], gast.Name)):
            return None   # binds a needed name by unpacking
        kept.append(stmt)
        if isinstance(stmt, gast.Assign):
            live.discard(targets[0].id)
        live |= syntax.loaded_names(stmt.value)
    kept.reverse()
    copies = [stmt for stmt in kept if id(stmt) not in wanted]
    carried = live & {t.id for stmt in body for t in _targets(stmt) if isinstance(t, gast.Name)} - {target}
    operations = [n for stmt in copies for n in syntax.walk(stmt) if isinstance(n, (gast.BinOp, gast.UnaryOp, gast.Subscript, gast.Call))]
    if carried or len(operations) > _MOST_COPIED or any(isinstance(n, gast.Call) for n in operations):
        return None
    if not all(_read_before_written(body, stmt, target, index, shares) for stmt in copies):
        return None
    return [syntax.clone(stmt) for stmt in kept]


def _targets(stmt) -> list:
    return stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]


def _read_before_written(body: list, copy, target: str, index: str, shares: dict) -> bool:
    """Whether each array element `copy` reads that the loop also writes is the iteration's own
    (`w[i]`), read before this iteration writes it: the copy, run for every iteration before the
    rest, then reads what the loop read."""
    written = {syntax.base_name(t) for stmt in body for t in _targets(stmt) if isinstance(t, gast.Subscript)}
    varying = _varying(body, {index, target})
    position = next(k for k, stmt in enumerate(body) if stmt is copy)
    for array in syntax.loaded_names(copy) & written:
        family = {array, *shares.get(array, ())}
        uses = [n for stmt in body for n in syntax.walk(stmt) if isinstance(n, gast.Name) and n.id in family]
        subscripts = [n for stmt in body for n in syntax.walk(stmt) if isinstance(n, gast.Subscript)
                      and isinstance(n.value, gast.Name) and n.value.id in family]
        own = [n for n in subscripts if n.value.id == array and _own_element(n, index, varying)]
        if len(own) != len(uses):
            return False   # the array whole, another name for its memory, or another iteration's element
        first_write = min(k for k, stmt in enumerate(body)
                          if any(isinstance(t, gast.Subscript) and syntax.base_name(t) == array for t in _targets(stmt)))
        if position >= first_write:
            return False
    return True


def _own_element(subscript, index: str, varying: set) -> bool:
    """`w[i]`, or `w[k, i]` with k not changing in the loop: only this iteration touches it."""
    parts = syntax.index_parts(subscript)
    at_index = [p for p in parts if isinstance(p, gast.Name) and p.id == index]
    return len(at_index) == 1 and all(p is at_index[0] or isinstance(p, gast.Constant)
                                      or (isinstance(p, gast.Name) and p.id not in varying) for p in parts)


def _shown(target, index: str, offsets: dict) -> str:
    """`u_bar[k, i - 1]` for the add target `u_bar[k, sub]`, sub bound to i - 1."""
    def spelled(offset: int):
        return syntax.binop(syntax.name(index), "+" if offset > 0 else "-", syntax.const(abs(offset)))
    shown = syntax.substitute(syntax.as_load(target), {name: spelled(c) for name, c in offsets.items() if c})
    return to_source(gast.Expr(value=shown)).strip()
