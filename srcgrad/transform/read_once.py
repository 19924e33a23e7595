"""Adjoint elements read once: no zeroing of an element nothing reads again, no copy of an adjoint that is only read.

After this pass, a reverse loop that reads `b_bar[i]` once per iteration does not zero that element
(`b_bar[i] = 0.0`, the adjoint of the write it undoes) where nothing reads it again before the
buffer is refilled; and a buffer filled from another adjoint (`b_bar = filled_like(b_bar, b,
sum_to(y_bar, b))`) and from then on only read, while nothing writes into that adjoint, is that
adjoint (`b_bar = sum_to(y_bar, b)`), not a copy of it. RK4's scalarized stages did both in every
step: seven element stores and a copy of the state's adjoint that a hand adjoint does not make.

Both rely on one fact: the buffer is never reached under another name. Every mention of it is its
declaration, a refill of its own memory (`zeroed_like`, `zeroed_from`, `filled_like`), fresh zeros,
or one float element read or written, so no second name, view or call ever holds it.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze.dataflow import bound_names, mutated_arrays
from .peephole import declares_buffer, drop_declaration

_REFILLS = frozenset({"zeroed_like", "zeroed_from", "filled_like"})
_FRESH = frozenset({"np.zeros", "np.empty"})
# builtins and runtime helpers that write into no argument
_READ_ONLY_CALLS = frozenset({"sum_to", "range", "len", "min", "max", "abs", "float", "int", "bool"})
_WRITING_NUMPY = frozenset({"np.copyto", "np.put", "np.place", "np.putmask", "np.fill_diagonal"})


def read_adjoints_once(float_element, params: set):
    """The pass, on a derivative's statements: `float_element(x[...])` says whether a subscript
    selects one float element; the function's parameters outlive it, so they are never private."""
    def apply(code: list) -> list:
        if not any(syntax.is_loop(stmt) or _calls_filled_like(stmt) for stmt in syntax.statements_in(code)):
            return code   # no loop to zero in, no fill to read: spare the look at every name
        private = _private_buffers(code, float_element) - params
        dead = [(loop, zeroing) for loop, chain in _loops_in(code, None, [])
                for zeroing in _dead_zeroings(loop, chain, private)]
        for loop, zeroing in dead:
            loop.body.remove(zeroing)
        _read_fills_in_place(code, private)
        return code
    return apply


def _private_buffers(code: list, float_element) -> set:
    """Names bound in code every mention of which keeps their memory to themselves (see the module docstring)."""
    bound, shared = set(), set()
    for name, parent, grandparent in _names_in_place(code):
        if isinstance(name.ctx, gast.Store):
            bound.add(name.id)
        if name.id not in shared and not _keeps_memory(name, parent, grandparent, float_element):
            shared.add(name.id)
    return bound - shared


def _names_in_place(code: list) -> list:
    """(name, its parent, the parent's parent) for every Name in code, in one walk (long generated
    code: a map of every node's parent cost more than the rest of this pass)."""
    found, todo = [], [(stmt, None, None) for stmt in code]
    while todo:
        node, parent, grandparent = todo.pop()
        if isinstance(node, gast.Name):
            found.append((node, parent, grandparent))
            continue
        for field in node._fields:
            value = getattr(node, field, None)
            for child in value if isinstance(value, list) else (value,):
                if isinstance(child, gast.AST):
                    todo.append((child, node, parent))
    return found


def _keeps_memory(name: gast.Name, parent, grandparent, float_element) -> bool:
    if isinstance(parent, gast.Subscript) and parent.value is name:
        return float_element(parent) and name.id not in syntax.names_in(parent.slice)
    if isinstance(parent, gast.Call) and parent.args and parent.args[0] is name:
        return (syntax.dotted_name(parent.func) in _REFILLS and isinstance(grandparent, gast.Assign)
                and _binds(grandparent, name.id) and name.id not in syntax.names_in(parent.args[1:]))
    if isinstance(parent, gast.Assign) and parent.targets[0] is name:
        value = parent.value
        return (isinstance(value, gast.Call) and syntax.dotted_name(value.func) in _REFILLS | _FRESH
                and (syntax.dotted_name(value.func) in _REFILLS or name.id not in syntax.names_in(value)))
    return False


def _binds(stmt, var: str) -> bool:
    return isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == var


def _loops_in(block: list, owner, chain: list):
    """(loop, chain) for every `for` loop in block, chain holding (block, index, owner) for the
    loop's place and each enclosing one, from the function's body inwards (owner: the compound
    statement the block belongs to, None for the body)."""
    for k, stmt in enumerate(block):
        here = chain + [(block, k, owner)]
        if isinstance(stmt, gast.For):
            yield stmt, here
        for inner in syntax.child_blocks(stmt):
            yield from _loops_in(inner, stmt, here)


def _dead_zeroings(loop, chain: list, private: set):
    """The statements `b_bar[i] = 0.0` of `for i in range(...)` after its one read `v = b_bar[i]`,
    where no later code reads element i before b_bar is refilled."""
    if not (isinstance(loop.target, gast.Name) and isinstance(loop.iter, gast.Call)
            and syntax.dotted_name(loop.iter.func) == "range" and loop.target.id not in bound_names(loop.body)):
        return
    outside = _indices_outside(loop.iter.args)
    for k, stmt in enumerate(loop.body):
        buffer = _zeroed_element(stmt, loop.target.id)
        if buffer is None or buffer not in private:
            continue
        mentions = [s for s in loop.body if buffer in syntax.names_in(s)]
        read = mentions[0] if len(mentions) == 2 and mentions[1] is stmt else None
        if (read is not None and _reads_element(read, buffer, stmt.targets[0])
                and _unread_after(chain, buffer, outside)):
            yield stmt


def _zeroed_element(stmt, index: str):
    """b for `b[index] = 0.0`; else None."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)
            and isinstance(stmt.targets[0].value, gast.Name) and isinstance(stmt.targets[0].slice, gast.Name)
            and stmt.targets[0].slice.id == index):
        return None
    value = stmt.value
    return stmt.targets[0].value.id if isinstance(value, gast.Constant) and value.value == 0.0 else None


def _reads_element(stmt, buffer: str, element) -> bool:
    """Whether stmt is `v = buffer[i]` for the element given, and mentions buffer nowhere else."""
    return (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
            and syntax.fingerprint(syntax.as_load(syntax.clone(element))) == syntax.fingerprint(stmt.value))


def _indices_outside(range_args: list):
    """A test of whether a written index is one a `range(...)` loop never takes."""
    numbers = [syntax.number(a) for a in range_args]
    if len(range_args) == 3 and numbers[2] == -1 and isinstance(numbers[1], int):
        return lambda j: 0 <= j <= numbers[1]   # range(n - 1, c, -1) takes only indices above c
    if len(range_args) >= 2 and isinstance(numbers[0], int) and (len(range_args) == 2 or numbers[2] == 1):
        return lambda j: 0 <= j < numbers[0]
    return lambda j: False


def _unread_after(chain: list, buffer: str, outside) -> bool:
    """Whether every path from the end of the loop at chain's end refills `buffer`, or ends the
    function, before it reads any element the loop took (another loop iteration around it included)."""
    for block, k, owner in reversed(chain):
        after = _scan(block[k + 1:], buffer, outside)
        if after != "clean":
            return after == "refilled"
        if syntax.is_loop(owner):   # the enclosing loop runs again: from its top to here
            if buffer in syntax.names_in(owner.iter if isinstance(owner, gast.For) else owner.test):
                return False
            if _scan(block[:k + 1], buffer, outside) != "refilled":
                return False
    return True


def _scan(stmts: list, buffer: str, outside) -> str:
    """'refilled' when stmts bind buffer before reading an element the loop took, 'read' when they
    read one first, 'clean' when they do neither."""
    for stmt in stmts:
        if buffer not in syntax.names_in(stmt):
            continue
        if _binds(stmt, buffer):
            return "refilled"
        if not _reads_outside(stmt, buffer, outside):
            return "read"
    return "clean"


def _reads_outside(stmt, buffer: str, outside) -> bool:
    """`v = buffer[c]` with a written index c the loop never took."""
    value = stmt.value if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) else None
    index = syntax.number(value.slice) if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) \
        and value.value.id == buffer else None
    return isinstance(index, int) and outside(index)


def _read_fills_in_place(code: list, private: set) -> None:
    """`b_bar = filled_like(b_bar, b, sum_to(w, b))` becomes `b_bar = sum_to(w, b)` where b_bar is
    from then on only read, in the fill's block, and nothing writes into any array but private
    buffers other than b_bar until its last read (w's memory stays as it was)."""
    in_place = []
    for block in syntax.blocks(code):
        for j, stmt in enumerate(block):
            fill = _fill_from_adjoint(stmt, private)
            if fill is None:
                continue
            last = _last_read(code, block, j, fill)
            source = stmt.value.args[2].args[0].id
            if last is not None and _writes_only_private(block[j + 1:last + 1], private - {fill, source}):
                in_place.append((stmt, fill))
    for stmt, fill in in_place:   # after the walk: dropping a declaration moves the statements after it
        stmt.value = stmt.value.args[2]
        drop_declaration(code, fill)


def _calls_filled_like(stmt) -> bool:
    return isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call) and syntax.dotted_name(stmt.value.func) == "filled_like"


def _fill_from_adjoint(stmt, private: set):
    """b_bar for a private buffer's `b_bar = filled_like(b_bar, b, sum_to(w, b))`; else None."""
    value = stmt.value if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) else None
    if not (isinstance(value, gast.Call) and syntax.dotted_name(value.func) == "filled_like"
            and stmt.targets[0].id in private and len(value.args) == 3):
        return None
    summed = value.args[2]
    if (isinstance(summed, gast.Call) and syntax.dotted_name(summed.func) == "sum_to" and len(summed.args) == 2
            and isinstance(summed.args[0], gast.Name)
            and syntax.fingerprint(summed.args[1]) == syntax.fingerprint(value.args[1])):
        return stmt.targets[0].id
    return None


def _last_read(code: list, block: list, j: int, buffer: str):
    """The index in block of the last statement that reads buffer after block[j], when every other
    mention of buffer anywhere is its declaration or an element read there; else None."""
    last = None
    for k in range(j + 1, len(block)):
        stmt = block[k]
        if buffer in syntax.names_in(stmt):
            if buffer in bound_names(stmt) | mutated_arrays(stmt):
                return None
            last = k
    if last is None:
        return None
    inside = {id(n) for n in syntax.statements_in(block[j:last + 1])}
    for stmt in syntax.statements_in(code):
        if (id(stmt) not in inside and not (declares_buffer(stmt) and _binds(stmt, buffer))
                and not isinstance(stmt, (gast.For, gast.While, gast.If)) and buffer in syntax.names_in(stmt)):
            return None
    return last


def _writes_only_private(stmts: list, private: set) -> bool:
    """Whether stmts write into no array but the private buffers, and call only pure functions."""
    for node in syntax.nodes_in(stmts):
        if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) and syntax.base_name(node) not in private:
            return False
        if isinstance(node, gast.Call):
            called = syntax.dotted_name(node.func)
            pure = (called in _READ_ONLY_CALLS or called.startswith("math.")
                    or (called.startswith("np.") and called.count(".") == 1 and called not in _WRITING_NUMPY
                        and not node.keywords))
            refill = (called in _REFILLS and node.args and isinstance(node.args[0], gast.Name)
                      and node.args[0].id in private)
            if not (pure or refill):
                return False
    return True
