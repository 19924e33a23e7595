"""Peephole: rewrites of generated reverse code a person would make (`v_bar = 0.0; v_bar += e` is `v_bar = e`).

After these passes no adjoint is zeroed just before its first contribution replaces it: a scalar's
first `+=` is an assignment, a reused buffer's first whole `+=` fills it (`filled_like`), and a loop
that adds once into each row of a fresh buffer assigns those rows (`zeroed_from` zeroes the rest).
No element's adjoint is read, zeroed and added back unchanged (`a[j] += e` hands it on). No loop
adds into one array element that stays the same through the loop (`x_bar[i] += e` inside
`for j`): it adds into a local sum, and the element takes the sum once after the loop. No
second name's adjoint is a copy of the other's where that buffer is not read again, and no row's
adjoint is zeroed and added back into its parent's adjoint where it can be that row (a view).
Whole replayed loops whose writes their adjoint loops undo: `undone_loops.py`.
"""
from __future__ import annotations

from collections import Counter

import gast

from .. import syntax
from ..analyze.dataflow import bound_names, mutated_arrays, own_reads


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


@_in_every_block
def fill_reused_buffers(out: list) -> list:
    """`v_bar = zeroed_like(v_bar, v)` then a first `v_bar += e` becomes `v_bar = filled_like(v_bar,
    v, e)`: the reused buffer is written once instead of zeroed and then added to."""
    folds = [(k, j) for k, j in _next_mentions(out, _zeroed_buffer) if _is_first_add(out[j], _zeroed_buffer(out[k]))
             and _kept_between(out, k, j, syntax.names_in(out[k].value))]   # its shape is taken at j now
    for k, j in folds:
        zeroing = out[k].value
        out[j] = syntax.assign(_zeroed_buffer(out[k]), syntax.call("filled_like", *zeroing.args, out[j].value))
    dropped = {k for k, _ in folds}
    return [stmt for k, stmt in enumerate(out) if k not in dropped]


@_in_every_block
def write_reused_buffers_once(out: list) -> list:
    """`v_bar = zeroed_like(v_bar, v)` then a first mention in `for i in range(...)` (either way round)
    whose body accumulates `v_bar[i + c] += e` once, unconditionally, and never reads `v_bar`, the
    rows i + c running over 0..m-1 (c a whole number, `sub = i - 1` bound once in the body; RK4's
    shifted right-hand side): the loop writes each of those rows once, so it assigns
    `v_bar[i + c] = e` and only the rows from m on are zeroed (`zeroed_from(v_bar, v, m)`), where
    before every row was zeroed and then added to."""
    for k, j in _next_mentions(out, _zeroed_buffer):
        var = _zeroed_buffer(out[k])
        covered = _rows_covered(out[j])
        found = _single_row_accumulation(out[j], var) if covered is not None else None
        if found is None or found[1] != -covered[0]:   # rows from 0: the first i is -c
            continue
        first, stop = covered
        write, shift = found
        rows = stop if shift == 0 else syntax.binop(stop, "+" if shift > 0 else "-", syntax.const(abs(shift)))
        if not _kept_between(out, k, j, syntax.names_in(rows)):   # m is read at k
            continue
        out[k].value = syntax.call("zeroed_from", *out[k].value.args, rows)
        body = out[j].body
        assigned = syntax.assign(write.target, write.value)
        assigned.srcgrad_row_written = True   # the row's one contribution: add_rows_in_place may add it again
        body[body.index(write)] = assigned
    return out


def _kept_between(stmts: list, k: int, j: int, names: set) -> bool:
    """Whether no statement strictly between positions k and j binds one of `names`."""
    return not any(bound_names(stmt) & names for stmt in stmts[k + 1:j])


def _rows_covered(loop):
    """(a, n) for a loop whose index runs over a..n-1 in either order, `for i in range(n)`,
    `range(a, n)` or `range(n - 1, a - 1, -1)` with a a written whole number; None for any other loop."""
    if not (isinstance(loop, gast.For) and isinstance(loop.target, gast.Name) and isinstance(loop.iter, gast.Call)
            and syntax.dotted_name(loop.iter.func) == "range" and not loop.orelse):
        return None
    args = loop.iter.args
    if len(args) == 1:
        return 0, syntax.clone(args[0])
    if len(args) == 2 and _whole_number(args[0]) is not None:
        return _whole_number(args[0]), syntax.clone(args[1])
    if (len(args) == 3 and _whole_number(args[1]) is not None and _is_int(args[2], -1)
            and isinstance(args[0], gast.BinOp) and isinstance(args[0].op, gast.Sub) and _is_int(args[0].right, 1)):
        return _whole_number(args[1]) + 1, syntax.clone(args[0].left)
    return None


def _is_int(node, value: int) -> bool:
    return _whole_number(node) == value


def _whole_number(node):
    """The value of a written int, `3` or `-1`, else None."""
    value = syntax.number(node)
    return value if type(value) is int else None


def _single_row_accumulation(loop, var: str):
    """(`var[j] += e`, c) for the statement of `loop`'s body that is the body's only mention of
    `var`, j being the loop's index i (c = 0) or a name the body binds once, before it, as `j = i + c`
    or `j = i - c`; None when there is no such statement or something in the body leaves an
    iteration early."""
    if any(isinstance(n, (gast.Break, gast.Continue, gast.Return, gast.Raise)) for n in syntax.walk(loop)) \
            or loop.target.id in set().union(*(bound_names(s) for s in loop.body)):
        return None
    mentions = [s for s in loop.body if var in syntax.names_in(s)]
    if len(mentions) != 1:
        return None
    write = mentions[0]
    if not (isinstance(write, gast.AugAssign) and isinstance(write.op, gast.Add)
            and isinstance(write.target, gast.Subscript) and isinstance(write.target.value, gast.Name)
            and write.target.value.id == var and isinstance(write.target.slice, gast.Name)
            and var not in syntax.names_in(write.value)):
        return None
    index = write.target.slice.id
    if index == loop.target.id:
        return write, 0
    shift = _index_shift(loop, index, loop.body.index(write))
    return None if shift is None else (write, shift)


def _index_shift(loop, index: str, before: int):
    """c where `index = i + c` (or `i - c`) is the one statement of loop's body that binds index, at
    its top level and before position `before`; else None."""
    binders = [k for k, s in enumerate(loop.body) if index in bound_names(s)]
    if len(binders) != 1 or binders[0] >= before:
        return None
    return index_shift(loop.body[binders[0]], loop.target.id)


def index_shift(stmt, index: str):
    """c where `stmt` is `name = index + c` or `name = index - c` (c a written whole number), else None."""
    value = stmt.value if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) else None
    if not (isinstance(value, gast.BinOp) and isinstance(value.op, (gast.Add, gast.Sub))
            and isinstance(value.left, gast.Name) and value.left.id == index):
        return None
    c = _whole_number(value.right)
    return None if c is None else (c if isinstance(value.op, gast.Add) else -c)


def _zeroed_buffer(stmt):
    if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Call)
            and syntax.dotted_name(stmt.value.func) == "zeroed_like"):
        return stmt.targets[0].id
    return None


def _next_mentions(stmts, initialized=None):
    """(k, j) for each zero initialization k (`initialized(stmt)` names its variable): j is the next
    statement that mentions that variable (comments skipped). One backward sweep, so long
    straight-line code stays linear."""
    initialized = initialized or _zero_init
    if not any(initialized(stmt) is not None for stmt in stmts):
        return []   # nothing to pair: spare the sweep's look at every name of every statement
    next_seen: dict = {}
    found = []
    for k in range(len(stmts) - 1, -1, -1):
        stmt = stmts[k]
        if syntax.is_comment(stmt):
            continue
        var = initialized(stmt)
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


def drop_undone_writes(shares: dict):
    """`old = a[i]; a[i] = v; ...; a[i] = old` with nothing between reading `a` (or a name sharing
    its memory): the replayed write is undone before anyone sees it, so neither is needed."""
    return _dropping_pairs(lambda out, k: _undo_of(out, k, shares))


def _dropping_pairs(partner):
    """A rewrite that deletes each statement `out[k]` for which `partner(out, k)` names a later
    `out[j]` whose value is a name, and that `out[j]`; the bindings of the name go too once nothing
    anywhere in the code reads it."""
    def apply(code: list) -> list:
        loads = None   # counted once a pair is found: most code has none

        @_in_every_block
        def rewrite(out: list) -> list:
            nonlocal loads
            k = 0
            while k < len(out):
                j = partner(out, k)
                if j is None:
                    k += 1
                    continue
                if loads is None:
                    loads = Counter(n.id for n in syntax.nodes_in(code) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load))
                name = out[j].value.id
                del out[j]
                del out[k]
                loads[name] -= 1
                if loads[name] == 0:
                    out[:] = [s for s in out if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                                                    and s.targets[0].id == name)]
            return out
        return rewrite(code)
    return apply


def _undo_of(stmts, k, shares):
    """The index of the statement that undoes element write `stmts[k]`, if nothing reads between."""
    write = stmts[k]
    if not (isinstance(write, gast.Assign) and isinstance(write.targets[0], gast.Subscript)
            and isinstance(write.targets[0].value, gast.Name)):
        return None
    array = write.targets[0].value.id
    watched = {array} | set(shares.get(array, ()))
    index = syntax.names_in(write.targets[0].slice)
    key = syntax.fingerprint(write.targets[0].slice)
    for j in range(k + 1, len(stmts)):
        stmt = stmts[j]
        if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)
                and syntax.base_name(stmt.targets[0]) == array and isinstance(stmt.targets[0].value, gast.Name)
                and syntax.fingerprint(stmt.targets[0].slice) == key and isinstance(stmt.value, gast.Name)):
            old = stmt.value.id
            rebound = any(old in bound_names(s) for s in stmts[k + 1:j])
            return j if _saved_before(stmts[:k], old, array, key) and not rebound else None
        if watched & syntax.names_in(stmt) or index & bound_names(stmt):
            return None
    return None


def _saved_before(stmts, old: str, array: str, key: str) -> bool:
    """Whether the statement right before the write is `old = a[i]` (or a copy of it), same index:
    then `old` is what the write overwrote, and restoring it undoes exactly that write."""
    previous = [s for s in stmts if not syntax.is_comment(s)][-1:]
    if not previous:
        return False
    stmt = previous[0]
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == old):
        return False
    value = stmt.value
    if isinstance(value, gast.Call) and value.args:
        value = value.args[0]   # np.copy(a[i]) for rows and slices
    return isinstance(value, gast.Subscript) and syntax.base_name(value) == array and syntax.fingerprint(value.slice) == key


def sum_invariant_elements(float_element, shares: dict, fresh):
    """`for j ...: x_bar[i] += e` where the loop never binds i and mentions `x_bar` (or a name
    sharing its memory) nowhere else: `x_bar_i = 0.0` before the loop, `x_bar_i += e` in it, and
    `x_bar[i] += x_bar_i` after it. numba's compiler cannot keep the element in a register itself
    while the loop writes other arrays that might overlap it, so each iteration would load and store it.
    `float_element(target)`: whether a subscript is one element of a float array; `fresh(base)`: a new name."""
    @_in_every_block
    def rewrite(out: list) -> list:
        result = []
        for stmt in out:
            before, after = _invariant_sums(stmt, float_element, shares, fresh) if isinstance(stmt, gast.For) else ([], [])
            result += before + [stmt] + after
        return result
    return rewrite


def _invariant_sums(loop, float_element, shares: dict, fresh):
    """(the sums' initializations, the element updates after `loop`), rewriting its accumulations."""
    if any(isinstance(n, gast.Return) for n in syntax.walk(loop)):
        return [], []
    changing = bound_names(loop) | mutated_arrays(loop)   # an index reading these may move
    mentions = Counter(node.id for node in syntax.walk(loop) if isinstance(node, gast.Name))
    before, after = [], []
    for k, stmt in enumerate(loop.body):
        if not (isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add) and isinstance(stmt.target, gast.Subscript)
                and isinstance(stmt.target.value, gast.Name) and float_element(stmt.target)):
            continue
        array = stmt.target.value.id
        index_names = syntax.names_in(stmt.target.slice)
        if index_names & changing or mentions[array] != 1 or any(mentions[n] for n in shares.get(array, ())):
            continue
        total = fresh(f"{array}_sum")
        before.append(syntax.assign(total, syntax.const(0.0)))
        after.append(gast.AugAssign(target=syntax.clone(stmt.target), op=gast.Add(), value=syntax.name(total)))
        loop.body[k] = gast.AugAssign(target=syntax.name(total, store=True), op=gast.Add(), value=stmt.value)
    return before, after


def keep_passed_elements(shares: dict):
    """`g = a_bar[j]; a_bar[j] = 0.0; ...; a_bar[j] += g` (or a copy of g), with nothing between
    touching `a_bar`: the adjoint of `a[j] = a[j] + e` hands the element's adjoint on unchanged,
    so neither the zeroing nor the add back is needed (nor a copy of g only the add back read)."""
    return _dropping_pairs(lambda out, k: _passed_back(out, k, shares))


def _passed_back(stmts: list, k: int, shares: dict):
    """The index of `a[j] += g` when `stmts[k]` is `a[j] = 0.0` right after `g = a[j]` and the add
    gives back g (or a copy of it) with nothing between touching `a`, `j` or g; else None."""
    zeroing = stmts[k]
    if not (k > 0 and isinstance(zeroing, gast.Assign) and isinstance(zeroing.targets[0], gast.Subscript)
            and isinstance(zeroing.targets[0].value, gast.Name) and isinstance(zeroing.value, gast.Constant)
            and zeroing.value.value == 0.0):
        return None
    target, read = zeroing.targets[0], stmts[k - 1]
    key = syntax.fingerprint(target.slice)
    if not (isinstance(read, gast.Assign) and isinstance(read.targets[0], gast.Name) and isinstance(read.value, gast.Subscript)
            and syntax.base_name(read.value) == target.value.id and syntax.fingerprint(read.value.slice) == key):
        return None
    watched = {target.value.id} | set(shares.get(target.value.id, ())) | syntax.names_in(target.slice)
    copies = {read.targets[0].id}
    for j in range(k + 1, len(stmts)):
        stmt = stmts[j]
        if (isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add) and isinstance(stmt.target, gast.Subscript)
                and isinstance(stmt.target.value, gast.Name) and stmt.target.value.id == target.value.id
                and syntax.fingerprint(stmt.target.slice) == key and isinstance(stmt.value, gast.Name)
                and stmt.value.id in copies):
            return j
        if syntax.names_in(stmt) & watched or bound_names(stmt) & copies:
            return None
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Name) \
                and stmt.value.id in copies:
            copies.add(stmt.targets[0].id)
    return None


def hand_over_buffers(primal_of: dict, params: set):
    """`v_bar = filled_like(v_bar, v, w_bar)`, the adjoint of `w = v` (a second name for the same
    array), goes where w_bar is not read again: what follows uses w_bar in place of v_bar, w_bar's
    buffer instead of a copy of it (RK4's `k4 = z` in every step). Only where both adjoints live
    in one block, v_bar from there on and w_bar up to there, beside their buffers' declarations:
    the next reuse of either buffer then finds the other dead. A rename, not `v_bar = w_bar`: a
    second name for the buffer made GMM's inner loop 20% slower under numba."""
    def apply(code: list) -> list:
        while True:
            handover = next(_valid_handovers(code, primal_of, params), None)
            if handover is None:
                return code
            block, j = handover
            v_bar, w_bar = block[j].targets[0].id, block[j].value.args[2].id
            del block[j]
            syntax.rename(block[j:], {v_bar: w_bar})
            if v_bar not in syntax.names_in([s for s in code if not declares_buffer(s)]):   # its buffer is unused
                drop_declaration(code, v_bar)
    return apply


def _valid_handovers(code: list, primal_of: dict, params: set):
    candidates = list(_handovers(code))
    if not candidates:   # the facts below look at every statement
        return
    declarations = {id(s) for s in code if declares_buffer(s)}
    bindings = _bindings_by_name(code)
    for block, j in candidates:
        v_bar, v, w_bar = block[j].value.args
        w = primal_of.get(w_bar.id)
        if (w is not None and w_bar.id not in params and _second_name(bindings, w, v)
                and _confined(code, block, j, v_bar.id, w_bar.id, declarations)):
            yield block, j


def declares_buffer(stmt) -> bool:
    """`v_bar = np.empty((0,))`: a reused adjoint buffer's binding before its loop."""
    return (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)
            and syntax.dotted_name(stmt.value.func) == "np.empty" and isinstance(stmt.value.args[0], gast.Tuple)
            and all(isinstance(e, gast.Constant) and e.value == 0 for e in stmt.value.args[0].elts))


def drop_declaration(code: list, bar: str) -> None:
    """Remove the declaration of the buffer `bar` (see declares_buffer) from the function's body."""
    code[:] = [s for s in code if not (declares_buffer(s) and s.targets[0].id == bar)]


def _handovers(code: list):
    """(block, index) of each `v_bar = filled_like(v_bar, v, w_bar)` with names for all three (v
    may be a tuple's element, `pair[0]`)."""
    for block in syntax.blocks(code):
        for j, stmt in enumerate(block):
            fill = _fill(stmt)
            if fill is not None and (isinstance(fill[1], gast.Name) or _element(fill[1]) is not None):
                yield block, j


def _fill(stmt):
    """(v_bar, v, w_bar), nodes, for `v_bar = filled_like(v_bar, v, w_bar)` with names for v_bar
    and w_bar; else None."""
    value = stmt.value if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) else None
    if (isinstance(value, gast.Call) and syntax.dotted_name(value.func) == "filled_like" and len(value.args) == 3
            and isinstance(value.args[0], gast.Name) and isinstance(value.args[2], gast.Name)
            and value.args[0].id == stmt.targets[0].id):
        return tuple(value.args)
    return None


def _adds_buffer_into_row(stmt, v_bar: str) -> bool:
    """Whether stmt is `p_bar[i] += v_bar`, the buffer v_bar added into an element or row of another array."""
    return (isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add) and isinstance(stmt.value, gast.Name)
            and stmt.value.id == v_bar and isinstance(stmt.target, gast.Subscript)
            and isinstance(stmt.target.value, gast.Name) and stmt.target.value.id != v_bar)


def _element(node):
    """(t, k) for `t[k]`, a name indexed by a written integer; else None."""
    if (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and isinstance(node.slice, gast.Constant)
            and type(node.slice.value) is int):
        return node.value.id, node.slice.value
    return None


def _bindings_by_name(code: list) -> dict:
    """name -> the values bound to it; unpacking `a, b = t` binds a to `t[0]` and b to `t[1]`."""
    found: dict = {}
    for node in syntax.statements_in(code):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
            found.setdefault(node.targets[0].id, []).append(node.value)
        elif isinstance(node, (gast.Assign, gast.For)):
            target = node.targets[0] if isinstance(node, gast.Assign) else node.target
            for k, part in enumerate(target.elts if isinstance(target, gast.Tuple) else ()):
                if isinstance(part, gast.Name):
                    element = syntax.subscript(node.value, syntax.const(k)) if isinstance(node, gast.Assign) \
                        and isinstance(node.value, gast.Name) else None   # another unpacking: some other value
                    found.setdefault(part.id, []).append(element)
    return found


def _second_name(bindings: dict, w: str, v) -> bool:
    """Whether w and v (a name, or a tuple's element `t[k]`) always name the same array: every
    binding of one is the other, also through a tuple (`t = (x, y)` and `a, b = t`: a is x)."""
    def always(a: str, b) -> bool:
        values = bindings.get(a)
        return bool(values) and all(x is not None and _same_expression(bindings, x, b) for x in values)
    return always(w, v) or (isinstance(v, gast.Name) and always(v.id, syntax.name(w)))


def _same_expression(bindings: dict, x, b) -> bool:
    """Whether the bound value x is b: the same name, the same element `t[k]`, or an element of a
    tuple every binding of which holds b at that place."""
    if syntax.fingerprint(x) == syntax.fingerprint(b):
        return True
    element = _element(x)
    if element is None or not isinstance(b, gast.Name):
        return False
    tuples = bindings.get(element[0])
    return bool(tuples) and all(isinstance(t, gast.Tuple) and len(t.elts) > element[1]
                                and isinstance(t.elts[element[1]], gast.Name) and t.elts[element[1]].id == b.id
                                for t in tuples)


def _confined(code: list, block: list, j: int, v_bar: str, w_bar: str | None, declarations: set) -> bool:
    """v_bar is mentioned only from block[j] on, w_bar (if any) only up to it, and neither outside
    `block` but in its buffer's declaration."""
    names = {v_bar, w_bar} - {None}
    inside = {id(n) for n in syntax.statements_in(block)}
    for stmt in syntax.statements_in(code):
        if id(stmt) not in inside and id(stmt) not in declarations \
                and not isinstance(stmt, (gast.For, gast.While, gast.If)) and names & syntax.names_in(stmt):
            return False
    before, after = block[:j], block[j + 1:]
    return v_bar not in syntax.names_in(before) and (w_bar is None or w_bar not in syntax.names_in(after))


def add_rows_in_place(primal_of: dict, shares: dict):
    """`v_bar = zeroed_like(v_bar, v)`, then only additions into its elements (or each row's one
    contribution, `zeroed_from` and `v_bar[i] = e`), then
    `p_bar[i] += v_bar`, where `v = p[i]` is a row of p: v_bar becomes that row of p_bar
    (`v_bar = p_bar[i]`) and the additions land there, with no buffer zeroed and no pass adding it
    back (GMM's `l_bar[ik] += l_ik_bar` after each point's triangular product: 11-28% of its
    gradient). Only while nothing else touches p_bar, or another view of p's adjoint, meanwhile."""
    bar_of = {var: bar for bar, var in primal_of.items()}

    def apply(code: list) -> list:
        while True:
            found = next(_row_accumulations(code, primal_of, shares, bar_of), None)
            if found is None:
                return code
            block, k, j = found
            v_bar = block[k].targets[0].id
            block[k].value = syntax.as_load(syntax.clone(block[j].target))
            for inner in syntax.blocks(block[k + 1:j]):   # a row's one contribution is an addition into the view
                inner[:] = [_as_addition(s) if _writes_row_once(s, v_bar) else s for s in inner]
            del block[j]
            drop_declaration(code, v_bar)
    return apply


def add_fills_directly(primal_of: dict):
    """`v_bar = filled_like(v_bar, v, w_bar)`, then `p_bar[i] += v_bar` where `v = p[i]` and the
    copy is used nowhere else: `p_bar[i] += w_bar` (the row of p_bar has v's shape, so it
    broadcasts w_bar as the copy did), when w_bar is a buffer of its own that nothing changes
    meanwhile (LSTM's state rows: the cell's adjoints go straight into the state's)."""
    def apply(code: list) -> list:
        if not any(_fill(stmt) is not None for stmt in syntax.statements_in(code)):
            return code   # the facts below look at every statement
        bindings = _bindings_by_name(code)
        mentions = Counter(n.id for n in syntax.nodes_in([s for s in code if not declares_buffer(s)])
                           if isinstance(n, gast.Name))
        renamed = {x.id for values in bindings.values() for x in values if isinstance(x, gast.Name)}   # `a = b`
        for block in syntax.blocks(code):
            k = 0
            while k < len(block):
                m = _direct_add_of_fill(block, k, primal_of, bindings, mentions, renamed)
                if m is None:
                    k += 1
                    continue
                v_bar, w_bar = block[k].targets[0].id, block[k].value.args[2]
                block[m].value = syntax.clone(w_bar)
                del block[k]
                drop_declaration(code, v_bar)
        return code
    return apply


def _direct_add_of_fill(block, k, primal_of, bindings, mentions, renamed):
    """m where block[m] is `p_bar[i] += v_bar` and block[k] the fill add_fills_directly removes."""
    fill = _fill(block[k])
    if fill is None or not isinstance(fill[1], gast.Name):
        return None
    v_bar, v, w_bar = (a.id for a in fill)
    if not _private_buffer(bindings, w_bar) or w_bar in renamed:   # a second name could change it meanwhile
        return None
    for m in range(k + 1, len(block)):
        stmt = block[m]
        if _adds_buffer_into_row(stmt, v_bar) and primal_of.get(stmt.target.value.id) is not None:
            p = primal_of[stmt.target.value.id]
            if (_always_row(bindings, v, p, stmt.target.slice) and mentions[v_bar] == 3   # the fill's two and the add's
                    and not (bound_names(stmt) | mutated_arrays(stmt)) & {w_bar}):
                return m
            return None
        if {v_bar, w_bar} & (bound_names(stmt) | mutated_arrays(stmt)) or v_bar in syntax.names_in(stmt):
            return None
    return None


def _private_buffer(bindings: dict, bar: str) -> bool:
    """Whether every binding of the adjoint `bar` gives it a buffer of its own (zeros, or its own
    buffer refilled), never another array's memory."""
    own = ("filled_like", "zeroed_like", "zeroed_from", "np.zeros", "np.empty")
    values = bindings.get(bar, [])
    return bool(values) and all(isinstance(v, gast.Call) and syntax.dotted_name(v.func) in own
                                and (syntax.dotted_name(v.func) in ("np.zeros", "np.empty")
                                     or (isinstance(v.args[0], gast.Name) and v.args[0].id == bar))
                                for v in values)


def _row_accumulations(code: list, primal_of: dict, shares: dict, bar_of: dict):
    """(block, k, j) for each zeroed row adjoint at block[k] added back at block[j] (see add_rows_in_place)."""
    if not any(_zeroed_row(stmt) is not None for stmt in syntax.statements_in(code)):
        return   # the facts below look at every statement
    declarations = {id(s) for s in code if declares_buffer(s)}
    bindings = _bindings_by_name(code)
    for block in syntax.blocks(code):
        for k, stmt in enumerate(block):
            zeroed = _zeroed_row(stmt)
            if zeroed is None:
                continue
            j = _added_back_at(block, k, zeroed)
            if j is None:
                continue
            target = block[j].target
            p_bar, row = target.value.id, stmt.value.args[1].id
            p = primal_of.get(p_bar)
            between = block[k + 1:j]
            others = {bar_of.get(q) for q in shares.get(p, ())} - {zeroed, None}
            if (p is not None and _always_row(bindings, row, p, target.slice)
                    and not set().union(*(bound_names(s) for s in between), set()) & syntax.names_in(target.slice)
                    and _only_adds_into(between, p_bar, others, bindings)
                    and _confined(code, block[:j + 1], k, zeroed, None, declarations)):
                yield block, k, j


def _only_adds_into(stmts: list, p_bar: str, others: set, bindings: dict) -> bool:
    """Whether `stmts` touch p_bar, and the adjoints of other views of p (`others`), only by adding
    into them, by writing or binding a buffer of their own, or by taking a row of p_bar: additions commute,
    so a row's additions may land in p_bar while they run (LSTM's two weight rows of a cell)."""
    watched = {p_bar} | others
    views = {o for o in others if any(_element_of_array(v, p_bar) for v in bindings.get(o, []))}
    unreadable = {p_bar} | views
    for stmt in syntax.statements_in(stmts):
        if not watched & syntax.names_in(stmt):
            continue
        if isinstance(stmt, (gast.For, gast.While, gast.If)):
            if watched & own_reads(stmt):
                return False
        elif isinstance(stmt, gast.AugAssign):
            if not (isinstance(stmt.op, gast.Add) and syntax.base_name(stmt.target) in watched
                    and not unreadable & syntax.names_in(stmt.value)
                    and not watched & (syntax.names_in(stmt.target) - {syntax.base_name(stmt.target)})):
                return False
        elif isinstance(stmt, gast.Assign):
            target = stmt.targets[0]
            own_buffer = (isinstance(target, gast.Subscript) and syntax.base_name(target) in others - views
                          and not watched & (syntax.names_in(stmt) - {syntax.base_name(target)}))
            row_of_p_bar = (isinstance(target, gast.Name) and target.id in others and _element_of_array(stmt.value, p_bar)
                            and not watched & syntax.names_in(stmt.value.slice))
            rebound_buffer = (isinstance(target, gast.Name) and target.id in others - views
                              and not unreadable & syntax.names_in(stmt.value))
            if not (own_buffer or row_of_p_bar or rebound_buffer):
                return False
        else:
            return False
    return True


def _element_of_array(value, array: str) -> bool:
    return isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) and value.value.id == array


def _added_back_at(block: list, k: int, v_bar: str):
    """j where block[j] is `p_bar[i] += v_bar`, every mention of v_bar between k and j being an
    addition into one of its elements; else None."""
    for j in range(k + 1, len(block)):
        stmt = block[j]
        if _adds_buffer_into_row(stmt, v_bar):
            return j
        mentions = [n for n in syntax.nodes_in(stmt) if isinstance(n, gast.Name) and n.id == v_bar]
        adds = [n for n in syntax.nodes_in(stmt) if (_writes_row_once(n, v_bar) or isinstance(n, gast.AugAssign)
                and isinstance(n.op, gast.Add) and isinstance(n.target, gast.Subscript) and syntax.base_name(n.target) == v_bar
                and v_bar not in syntax.names_in(n.value) and v_bar not in syntax.names_in(n.target.slice))]
        if len(mentions) != len(adds):
            return None
    return None


def _zeroed_row(stmt):
    """v_bar for `v_bar = zeroed_like(v_bar, v)` or `v_bar = zeroed_from(v_bar, v, n)`."""
    value = stmt.value if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) else None
    if (isinstance(value, gast.Call) and syntax.dotted_name(value.func) in ("zeroed_like", "zeroed_from")
            and all(isinstance(a, gast.Name) for a in value.args[:2]) and value.args[0].id == stmt.targets[0].id):
        return stmt.targets[0].id
    return None


def _writes_row_once(stmt, v_bar: str) -> bool:
    """`v_bar[i] = e`, the one contribution of row i that write_reused_buffers_once assigns."""
    return (getattr(stmt, "srcgrad_row_written", False) and syntax.base_name(stmt.targets[0]) == v_bar
            and v_bar not in syntax.names_in(stmt.value) and v_bar not in syntax.names_in(stmt.targets[0].slice))


def _as_addition(stmt) -> gast.AugAssign:
    return gast.AugAssign(target=stmt.targets[0], op=gast.Add(), value=stmt.value)


def _always_row(bindings: dict, row: str, p: str, index) -> bool:
    """Whether every binding of `row` is `row = p[index]`."""
    values = bindings.get(row, [])
    return bool(values) and all(isinstance(v, gast.Subscript) and isinstance(v.value, gast.Name) and v.value.id == p
                                and syntax.fingerprint(v.slice) == syntax.fingerprint(index) for v in values)
