"""Unroll loops over the items of a tuple (`for W, b in layers:`): one copy of the body per item.

A neural network's layers, or an ODE's stages, are often a tuple (or a dict's tuple) of arrays
of different shapes that the code loops over. Desugar writes every loop over an iterable as an
index loop over its rows (`for row_index in range(params.shape[0]): W, b = params[row_index]`),
marking the loop with the names it iterates (`srcgrad_rows_of`). A tuple has no rows to index
by a variable: neither mode can give each item its own adjoint or tangent that way, and numba
cannot index a tuple of arrays of different shapes with a variable either. Once kinds say the
iterated names are tuples, whose lengths kinds know, the loop becomes its body once per item with
the index a constant (`W, b = params[0]`, ...). A `break` leaves all the copies (reverse mode has
made it a flag that guards the copies after; forward mode wraps them in a loop run once), and a
`continue` leaves its copy. After this pass no loop indexes a tuple by its loop variable where
desugar wrote the loop, nor where the user wrote `for i in range(len(layers)): ... layers[i]`.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze.dataflow import upward_exposed

def unroll_tuple_loops(tree: gast.FunctionDef, kinds: dict, names) -> bool:
    """Unroll, in place, each marked loop whose iterated names are all tuples of known length.
    True when anything was unrolled: kinds must then be inferred again, and this called again
    with them, since a loop inside one unrolled is in each copy under its copy's names."""
    changed = False
    for block in list(syntax.blocks(tree.body)):
        for stmt in list(block):
            lengths = _tuple_lengths(stmt, kinds) or _indexed_tuple_lengths(stmt, tree, kinds)
            if lengths is None or stmt not in block:
                continue
            position = block.index(stmt)
            mentioned, read = _names_outside(tree, stmt)
            block[position:position + 1] = _unrolled(stmt, min(lengths), stmt.target.id in read, names, mentioned)
            _drop_unused_lengths(block, position, stmt.iter.args)
            changed = True
    return changed


def _tuple_lengths(stmt, kinds: dict) -> list | None:
    """The lengths of the tuples a marked loop iterates over, or None (not such a loop)."""
    iterated = getattr(stmt, syntax.ROWS_OF, None)
    if not isinstance(stmt, gast.For) or not iterated:
        return None
    found = [kinds.get(name) for name in iterated]
    return [len(kind) for kind in found] if all(isinstance(kind, tuple) for kind in found) else None


def _indexed_tuple_lengths(stmt, tree, kinds: dict) -> list | None:
    """`for i in range(len(layers)):` whose body reads `layers[i]`, layers a tuple: its length.
    None for any other loop."""
    if not (isinstance(stmt, gast.For) and isinstance(stmt.target, gast.Name) and isinstance(stmt.iter, gast.Call)
            and len(stmt.iter.args) == 1 and isinstance(stmt.iter.args[0], gast.Name)):
        return None
    stop = stmt.iter.args[0].id
    bindings = [s.value for s in syntax.statements_in(tree.body) if isinstance(s, gast.Assign)
                and isinstance(s.targets[0], gast.Name) and s.targets[0].id == stop]
    if len(bindings) != 1 or not (isinstance(bindings[0], gast.Call) and len(bindings[0].args) == 1
                                  and getattr(getattr(bindings[0], "srcgrad_rule", None), "name", None) == "len"
                                  and isinstance(bindings[0].args[0], gast.Name)):
        return None
    items = bindings[0].args[0].id
    indexed = any(isinstance(n, gast.Subscript) and isinstance(n.value, gast.Name) and n.value.id == items
                  and isinstance(n.slice, gast.Name) and n.slice.id == stmt.target.id for n in syntax.walk(stmt))
    return [len(kinds[items])] if indexed and isinstance(kinds.get(items), tuple) else None


def _unrolled(loop: gast.For, count: int, index_read_after: bool, names, tree_names_outside: set) -> list:
    """The body once per item, the loop's index a constant in each copy; the index keeps its last
    value after the copies where code after the loop reads it (`enumerate`'s `k`), as Python's does.
    (A tuple the copies bind in turn, `params_row_index`, split_names then names once per copy.)"""
    index = loop.target.id
    body, exit_flag = loop.body, None
    if body and getattr(body[-1], "srcgrad_loop_exit", False):   # reverse mode's `if exit_loop: break`
        body, exit_flag = body[:-1], body[-1].test.id
    copies = [[syntax.substitute(stmt, {index: syntax.const(k)}) for stmt in body] for k in range(count)]
    _own_names_per_copy(copies, loop, tree_names_outside, names)
    jumps = _jumps(body)
    if exit_flag is not None:   # once the flag is up, the items after are skipped, as the loop skipped them
        out = copies[0] if copies else []
        for copy in copies[1:]:
            go_on = names.fresh("go_on")
            out += [syntax.assign(go_on, syntax.not_(syntax.name(exit_flag))), syntax.if_(syntax.name(go_on), copy)]
    elif jumps == {gast.Break}:   # a loop run once, around all the items, is what `break` leaves
        out = [syntax.for_range(names.fresh("once"), [syntax.const(1)], sum(copies, []))]
    elif jumps == {gast.Continue}:   # and one around each item is what `continue` ends
        out = [syntax.for_range(names.fresh("once"), [syntax.const(1)], copy) for copy in copies]
    elif jumps:   # both: each item in a loop of its own that `continue` ends, `break` leaving through a flag
        out = _breaking_and_continuing(copies, names)
    else:
        out = sum(copies, [])
    if index_read_after and count:
        out.append(syntax.assign(index, syntax.const(count - 1)))
    return out


def _breaking_and_continuing(copies: list, names) -> list:
    """`stop = False; for once in range(1): [for once_k in range(1): copy_k; if stop: break]...`,
    each `break` of a copy first raising `stop`."""
    stop = names.fresh("stop")
    inner = []
    for copy in copies:
        inner += [syntax.for_range(names.fresh("once"), [syntax.const(1)], _raising(copy, stop)),
                  syntax.if_(syntax.name(stop), [gast.Break()])]
    return [syntax.assign(stop, syntax.const(False)), syntax.for_range(names.fresh("once"), [syntax.const(1)], inner)]


def _raising(body: list, flag: str) -> list:
    """`body` with `flag = True` before each `break` of its own (not of a loop inside it)."""
    out = []
    for stmt in body:
        if isinstance(stmt, gast.Break):
            out += [syntax.assign(flag, syntax.const(True)), stmt]
            continue
        if isinstance(stmt, gast.If):
            stmt.body, stmt.orelse = _raising(stmt.body, flag), _raising(stmt.orelse, flag)
        out.append(stmt)
    return out


def _jumps(body: list) -> set:
    """The kinds of jump (`break`, `continue`) of this loop, not of a loop inside it, in `body`."""
    found = set()
    for stmt in body:
        if isinstance(stmt, (gast.Break, gast.Continue)):
            found.add(type(stmt))
        elif isinstance(stmt, gast.If):
            found |= _jumps(stmt.body) | _jumps(stmt.orelse)
    return found


def _own_names_per_copy(copies: list, loop: gast.For, outside: set, names) -> None:
    """The names an iteration binds for itself (bound in the body, not read there before being
    bound, nor anywhere outside the loop) get a name of their own in each copy but the last: a
    copy's temporaries bound in a branch would otherwise share one adjoint with the next copy's,
    made at the top of the function where the branch may not have bound them."""
    own = syntax.stored_names(loop.body) - upward_exposed(loop.body) - outside - {loop.target.id}
    for k, copy in enumerate(copies[:-1]):
        syntax.rename(copy, {name: names.fresh(f"{name}_{k}") for name in sorted(own)})


def _names_outside(tree: gast.FunctionDef, loop: gast.For) -> tuple[set, set]:
    """The names mentioned outside `loop`, and those of them read there."""
    inside = {id(node) for node in syntax.walk(loop)}
    outside = [node for node in syntax.walk(tree) if isinstance(node, gast.Name) and id(node) not in inside]
    return {n.id for n in outside}, {n.id for n in outside if isinstance(n.ctx, gast.Load)}


def _drop_unused_lengths(block: list, end: int, stop: list) -> None:
    """Remove the statements before `block[end]` that computed the loop's trip count from the
    tuples' `.shape` (a tuple has none) and that nothing else reads now."""
    wanted = {node.id for node in stop if isinstance(node, gast.Name)}
    for position in range(end - 1, -1, -1):
        stmt = block[position]
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id in wanted and _a_length(stmt.value)):
            continue
        name = stmt.targets[0].id
        if _read_before_bound_again(name, block[position + 1:]):
            continue
        del block[position]
        wanted |= syntax.loaded_names(stmt.value)


def _read_before_bound_again(name: str, stmts: list) -> bool:
    """Whether `stmts` read `name` before binding it again (copies of an unrolled loop each bind
    their own lengths under the same names)."""
    for stmt in stmts:
        if name in syntax.loaded_names(stmt):
            return True
        if isinstance(stmt, gast.Assign) and name in syntax.stored_names(stmt.targets):
            return False
    return False


def _a_length(value) -> bool:
    """`t.shape`, `shape[0]` or `min(a, b)`: what desugar writes for a loop's trip count."""
    if isinstance(value, gast.Attribute):
        return value.attr == "shape"
    if isinstance(value, gast.Subscript):
        return isinstance(value.slice, gast.Constant)
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and value.func.id == "min"
