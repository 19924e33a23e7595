"""Dataflow over structured gast code: upward-exposed reads, writes, and dead-code elimination.

These work on generated code as well as user code, so reverse mode can ask what a piece of
adjoint code reads before deciding what to save or checkpoint.
"""
from __future__ import annotations

import functools
from collections import Counter

import gast

import srcgrad_runtime

from .. import syntax
from ..rules import registry


def own_reads(stmt) -> set[str]:
    """Names a statement reads itself (for compound statements: their test or iterator only)."""
    if isinstance(stmt, gast.For):
        return syntax.loaded_names(stmt.iter)
    if isinstance(stmt, (gast.While, gast.If)):
        return syntax.loaded_names(stmt.test)
    if isinstance(stmt, gast.AugAssign):
        return syntax.loaded_names(stmt) | {syntax.base_name(stmt.target)}
    return syntax.loaded_names(stmt)


_SHAPE_ONLY = frozenset({"shape", "size", "ndim"})


@functools.lru_cache(maxsize=None)
def _measured_arguments(path: str) -> tuple:
    """Positions of the arguments of which a call of `path` reads only the shape: a primitive's
    registry record says so (`measures`, as len's), and so does a runtime helper that generated
    code calls by its bare name (`zeroed_like(x_bar, old)`: see srcgrad_runtime.compile_once)."""
    helper = getattr(srcgrad_runtime, path, None) if "." not in path else None
    if helper is not None:
        return getattr(helper, "measures", ())
    try:
        rule = registry.lookup(registry.resolve_path(path))
    except (AttributeError, KeyError):
        return ()
    return rule.measures if rule is not None else ()


def measured(root) -> set[int]:
    """ids of the names `root` reads only for their size (`x.shape`, `x.size`, `x.ndim`, `len(x)`,
    `zeroed_like(x_bar, x)`, and `x[i].shape`: a row's or a tuple element's shape):
    the array must exist, but neither its elements nor the object itself go anywhere."""
    return _measured_among(syntax.nodes_in(root))


def _measured_among(nodes: list) -> set[int]:
    """measured, given every node of the root."""
    found = set()
    for node in nodes:
        if isinstance(node, gast.Attribute) and node.attr in _SHAPE_ONLY:
            sized = [_sized_name(node.value)]
        elif isinstance(node, gast.Call):
            positions = _measured_arguments(syntax.dotted_name(node.func))
            sized = [_sized_name(node.args[k]) for k in positions if k < len(node.args)]
        else:
            continue
        found |= {id(name) for name in sized if name is not None}
    return found


def _sized_name(node):
    """The name whose shape a size read of `node` reads: `x`, or `x` of `x[i]` (a row's or a
    tuple element's shape); None for any other expression."""
    if isinstance(node, gast.Subscript):
        node = node.value
    return node if isinstance(node, gast.Name) else None


def _reads(stmt) -> set[str]:
    """own_reads, but a name read only for its shape (`x.shape`, `len(x)`) appears as "x.shape":
    the array must be bound there, while what its elements hold is not needed."""
    root = stmt.iter if isinstance(stmt, gast.For) else stmt.test if isinstance(stmt, (gast.While, gast.If)) else stmt
    nodes = syntax.nodes_in(root)   # one look at the nodes gives own_reads and the names read in full
    sized = _measured_among(nodes)
    names, full = set(), set()
    for n in nodes:
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            names.add(n.id)
            if id(n) not in sized:
                full.add(n.id)
        elif isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store):
            names.add(syntax.base_name(n))   # writing x[i] reads the array x, as loaded_names says
    if isinstance(stmt, gast.AugAssign):
        names.add(syntax.base_name(stmt.target))
    moved = {n for n in names if n not in full
             and not (isinstance(stmt, gast.AugAssign) and syntax.base_name(stmt.target) == n)
             and not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)
                      and syntax.base_name(stmt.targets[0]) == n)}
    return (names - moved) | {f"{n}.shape" for n in moved}


def value_reads(stmts: list) -> set[str]:
    """Names whose values `stmts` read somewhere (not only their shape)."""
    found = set()
    for node in syntax.statements_in(stmts):
        found |= {name for name in _reads(node) if not name.endswith(".shape")}
    return found


def _binding_live(names: set[str], live: set[str]) -> bool:
    return bool(names & live) or any(f"{n}.shape" in live for n in names)


def _unbound(live: set[str], names: set[str]) -> set[str]:
    return live - names - {f"{n}.shape" for n in names}


def _unbind(live: set[str], names: set[str]) -> set[str]:
    """_unbound in place: `live` itself, without the names bound and their shapes."""
    live -= names
    live.difference_update(f"{n}.shape" for n in names)
    return live


def bound_names(stmt) -> set[str]:
    """Names a statement (re)binds anywhere inside it; element writes `x[i] = v` bind nothing."""
    if isinstance(stmt, gast.Assign):   # only its targets can bind: spare the look at its value
        target = stmt.targets[0]
        if len(stmt.targets) == 1 and isinstance(target, gast.Name) and isinstance(target.ctx, gast.Store):
            return {target.id}
        stmt = stmt.targets
    return {node.id for node in syntax.nodes_in(stmt) if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store)}


def mutated_arrays(stmt) -> set[str]:
    return {syntax.base_name(n) for n in syntax.nodes_in(stmt)
            if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store)}


def upward_exposed(stmts: list) -> set[str]:
    """Names read before any write on some path through `stmts`."""
    exposed, defined = set(), set()
    for stmt in stmts:
        if isinstance(stmt, gast.For):
            exposed |= own_reads(stmt) - defined
            exposed |= upward_exposed(stmt.body) - defined - {stmt.target.id}
        elif isinstance(stmt, gast.While):
            exposed |= own_reads(stmt) - defined
            exposed |= upward_exposed(stmt.body) - defined
        elif isinstance(stmt, gast.If):
            exposed |= own_reads(stmt) - defined
            exposed |= (upward_exposed(stmt.body) | upward_exposed(stmt.orelse)) - defined
            defined |= must_bind(stmt.body) & must_bind(stmt.orelse)
        else:
            exposed |= own_reads(stmt) - defined
            if isinstance(stmt, gast.Assign) and not isinstance(stmt.targets[0], gast.Subscript):
                defined |= bound_names(stmt)
    return exposed


def must_bind(stmts: list) -> set[str]:
    defined = set()
    for stmt in stmts:
        if isinstance(stmt, gast.Assign) and not isinstance(stmt.targets[0], gast.Subscript):
            defined |= bound_names(stmt)
        elif isinstance(stmt, gast.If):
            defined |= must_bind(stmt.body) & must_bind(stmt.orelse)
    return defined


def makes_new_array(stmt) -> bool:
    """An assignment whose value is a new array: arithmetic, or a call to a primitive that allocates."""
    value = stmt.value if isinstance(stmt, gast.Assign) else None
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        return True
    return getattr(getattr(value, "srcgrad_rule", None), "result", None) in ("new", "constant")


def writes_into_new_arrays(stmts: list, scalars=frozenset()) -> dict:
    """id of each element write `a[...] = v` where `a` is, on every path, an array the code made
    itself (`a = np.empty(n)`) -> the names that may share its memory there: those bound since to
    something computed from it that is not a new array (a view, a second name, a tuple holding
    it). `scalars`: names that hold numbers (an element read binds no view). Only arrays some
    statement writes into are followed: the question is asked of writes alone."""
    writes, shared_writes = {}, set()
    written = {syntax.base_name(n.targets[0]) for n in syntax.statements_in(stmts)
               if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Subscript)}
    if not written:
        return {}

    def simple(stmt, new: dict) -> dict:
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
            base = syntax.base_name(stmt.targets[0])
            if base in new:
                writes[id(stmt)] = writes.get(id(stmt), frozenset()) | new[base]
            else:
                shared_writes.add(id(stmt))
            return new
        if not isinstance(stmt, gast.Assign):   # `items.append(a)`: the array may be held elsewhere now
            mentioned = syntax.names_in(stmt)
            return {array: names for array, names in new.items()
                    if not ({array} | names) & mentioned and array not in bound_names(stmt)}
        bound = bound_names(stmt)
        read = {name for name in _reads(stmt.value) if not name.endswith(".shape")}   # a shape read shares nothing
        made = isinstance(stmt.targets[0], gast.Name) and makes_new_array(stmt)
        out = {}
        for array, names in new.items():
            if array in bound:
                continue
            kept = names - bound   # names bound anew no longer hold what they held
            if not made and ({array} | names) & read:
                kept |= bound - scalars   # ... unless bound to the array itself now (923:2224:0)
            out[array] = kept
        if made and stmt.targets[0].id in written:
            out[stmt.targets[0].id] = frozenset()
        return out

    def join(a: dict, b: dict) -> dict:
        return {name: a[name] | b[name] for name in a.keys() & b.keys()}

    def block(stmts, new: dict) -> dict:
        for stmt in stmts:
            if isinstance(stmt, gast.If):
                new = join(block(stmt.body, dict(new)), block(stmt.orelse, dict(new)))
            elif isinstance(stmt, (gast.For, gast.While)):
                target = bound_names(stmt.target) if isinstance(stmt, gast.For) else set()
                entry = {a: names - target for a, names in new.items() if a not in target}
                while True:   # a later iteration starts from what the body left
                    again = join(entry, block(stmt.body, dict(entry)))
                    if again == entry:
                        break
                    entry = again
                new = entry
            elif not syntax.is_comment(stmt):
                new = simple(stmt, new)
        return new

    block(stmts, {})
    return {k: v for k, v in writes.items() if k not in shared_writes}


def eliminate_dead_code(stmts: list, live: set[str], essential=lambda stmt: False, shares=None) -> list:
    """Drop assignments whose values are never read afterwards, and loops/ifs left empty.

    Backward liveness over structured code. `live`: names read after `stmts`; `essential(stmt)`:
    statements kept regardless (tape pushes and pops). Return statements make their names live.
    `shares`: array name -> other names for its memory (views); a write into an array is kept
    while any of them is read later (of an array the code just made, only its own views count).
    """
    essential = _Essential(essential, shares or {},
                           writes_into_new_arrays(stmts, getattr(shares, "scalars", frozenset())))
    kept, _ = _live_block(stmts, set(live), essential)
    return _drop_orphan_comments(kept)


def _live_block(stmts, live, essential):
    """(statements kept, names live before them), given the names live after them.

    `live` belongs to this walk and changes in place: in long straight-line code it holds
    thousands of names, and a new set per statement made the pass quadratic."""
    kept = []
    for stmt in reversed(stmts):
        new, live = _live_stmt(stmt, live, essential)
        if new is not None:
            kept.append(new)
    return kept[::-1], live


def _live_stmt(stmt, live, essential):
    if syntax.is_comment(stmt):
        return stmt, live
    if getattr(stmt, "srcgrad_check_replayed", False):
        return None, live   # a length check the reverse sweep's replay makes again
    if isinstance(stmt, gast.If):
        body, live_body = _live_block(stmt.body, set(live), essential)
        orelse, live_else = _live_block(stmt.orelse, set(live), essential)
        body, orelse = _drop_orphan_comments(body), _drop_orphan_comments(orelse)
        if not body and not orelse and not essential(stmt):
            return None, live
        if not essential.dry:
            stmt.body, stmt.orelse = body or [gast.Pass()], orelse
        return stmt, live_body | live_else | essential.reads(stmt)
    if isinstance(stmt, (gast.For, gast.While)):
        return _live_loop(stmt, live, essential)
    if isinstance(stmt, gast.Return):
        return stmt, set(essential.reads(stmt))
    # a simple statement: `live` is the caller's own set (see _live_block) and changes in place
    if isinstance(stmt, (gast.Break, gast.Continue, gast.Expr)) or essential(stmt):
        _unbind(live, _killed(stmt)).update(essential.reads(stmt))
        return stmt, live
    if isinstance(stmt, (gast.Assign, gast.AugAssign)):
        target = stmt.targets[0] if isinstance(stmt, gast.Assign) else stmt.target
        if isinstance(target, gast.Subscript) or isinstance(stmt, gast.AugAssign):
            base = syntax.base_name(target)
            if not ({base} | essential.sharing(base, stmt)) & live:
                return None, live   # the elements it writes are never read (a shape read needs none)
            live.update(essential.reads(stmt))
            return stmt, live
        bound = bound_names(stmt)
        if not _binding_live(bound, live):
            return None, live
        if _only_shape_live(stmt, live):
            _unbind(live, bound).update(f"{name}.shape" for name in syntax.loaded_names(stmt.value))
            return stmt, live
        _unbind(live, bound).update(essential.reads(stmt))
        return stmt, live
    live.update(essential.reads(stmt))
    return stmt, live


def _only_shape_live(stmt, live: set[str]) -> bool:
    """`a = b`, `a = b + c` (elementwise arithmetic of names), `t = b, c` or `a, b = t` where later
    code reads only the shapes of what it binds: those follow from the operands' shapes, so their
    elements are not needed."""
    value, target = stmt.value, stmt.targets[0]
    operands = [value] if isinstance(value, gast.Name) else \
        [value.left, value.right] if isinstance(value, gast.BinOp) and not isinstance(value.op, gast.MatMult) else \
        list(value.elts) if isinstance(value, gast.Tuple) else []
    targets = [target] if isinstance(target, gast.Name) else \
        list(target.elts) if isinstance(target, gast.Tuple) and isinstance(value, gast.Name) else []
    if not (targets and operands and all(isinstance(t, gast.Name) for t in targets)
            and all(isinstance(o, (gast.Name, gast.Constant)) for o in operands)):
        return False
    # a binding writes no memory: other names sharing the operands' memory keep what they read live themselves
    return not any(t.id in live for t in targets)


class _Essential:
    """The statements dead-code elimination keeps regardless, and which names share memory."""

    def __init__(self, keep, shares: dict, into_new_arrays: dict):
        self.keep, self.shares, self.into_new_arrays = keep, shares, into_new_arrays
        self.dry = False        # a loop's fixpoint iteration: compute liveness, change nothing
        self._reads: dict = {}  # id(statement) -> what it reads (DCE never changes that)
        self.answered: dict = {}   # (id(loop), names live after it) -> its dry result: nests stay linear

    def __call__(self, stmt) -> bool:
        return self.keep(stmt)

    def sharing(self, array: str, write) -> set[str]:
        """The other names the element write `write` into `array` may change."""
        if id(write) in self.into_new_arrays:
            return self.into_new_arrays[id(write)]
        return self.shares.get(array, set())

    def reads(self, stmt) -> set[str]:
        if id(stmt) not in self._reads:
            self._reads[id(stmt)] = (stmt, _reads(stmt))   # the statement too: its id stays taken
        return self._reads[id(stmt)][1]


def _killed(stmt):
    if isinstance(stmt, gast.Assign) and not isinstance(stmt.targets[0], gast.Subscript):
        return bound_names(stmt)
    return set()


def _live_loop(loop, live_after, essential):
    if essential.dry:   # an enclosing loop's fixpoint: the same question again gets the same answer
        key = (id(loop), frozenset(live_after))
        if key not in essential.answered:
            kept, live = _live_loop_once(loop, live_after, essential)
            essential.answered[key] = kept, frozenset(live)
        kept, live = essential.answered[key]
        return kept, set(live)   # a set of the caller's own, which it changes in place
    return _live_loop_once(loop, live_after, essential)


def _live_loop_once(loop, live_after, essential):
    # arrays each iteration overwrites whole before reading them (work arrays): dead at its start
    overwritten = getattr(loop, "srcgrad_overwritten", frozenset())
    body_out = set(live_after)
    was_dry, essential.dry = essential.dry, True
    while True:
        _, body_in = _live_block(loop.body, set(body_out), essential)
        body_in = body_in - overwritten
        if isinstance(loop, gast.For):
            body_in = _unbound(body_in, {loop.target.id})
        new_out = body_out | body_in | (essential.reads(loop) if isinstance(loop, gast.While) else set())
        if new_out == body_out:
            break
        body_out = new_out
    essential.dry = was_dry
    body, body_in = _live_block(loop.body, set(body_out), essential)
    body = _drop_orphan_comments(body)
    if not body:
        return None, live_after
    if not essential.dry:
        loop.body = body
    body_in = body_in - overwritten
    if isinstance(loop, gast.For):
        body_in = _unbound(body_in, {loop.target.id})
    return loop, live_after | body_in | essential.reads(loop)


def _drop_orphan_comments(stmts):
    """A comment heads the code below it; drop comments whose code was removed."""
    out = []
    for k, stmt in enumerate(stmts):
        if syntax.is_comment(stmt):
            following = stmts[k + 1] if k + 1 < len(stmts) else None
            if following is None or syntax.is_comment(following) or isinstance(following, gast.Return):
                continue
        out.append(stmt)
    return out


def values_bound_once(tree) -> dict:
    """name -> the value of its one binding, for the names `tree` binds exactly once, by an
    assignment to the name alone (a parameter, a loop's target, an augmented assignment or an
    unpacking count as bindings too, so their names are left out)."""
    nodes = list(syntax.walk(tree))
    bindings = Counter(n.id for n in nodes if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Param, gast.Del)))
    return {n.targets[0].id: n.value for n in nodes if isinstance(n, gast.Assign) and len(n.targets) == 1
            and isinstance(n.targets[0], gast.Name) and bindings[n.targets[0].id] == 1}


def sum_into(stmt) -> str | None:
    """`s` for `s = s + v`, `s = s - v` or `s += v` (v not reading s), else None."""
    if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name) and isinstance(stmt.op, (gast.Add, gast.Sub)):
        name, value = stmt.target.id, stmt.value
    elif isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.BinOp) \
            and isinstance(stmt.value.op, (gast.Add, gast.Sub)) and isinstance(stmt.value.left, gast.Name) \
            and stmt.value.left.id == stmt.targets[0].id:
        name, value = stmt.targets[0].id, stmt.value.right
    else:
        return None
    return name if name not in syntax.loaded_names(value) else None


def only_summed(loop, name: str) -> bool:
    """Whether `loop` touches `name` only in sums into it (`s = s + v`, `s += v`), at any depth: then
    the order of its iterations does not matter to `name`, and no iteration needs its value."""
    for stmt in (n for n in syntax.walk(gast.Module(body=loop.body, type_ignores=[])) if isinstance(n, gast.stmt)):
        if isinstance(stmt, (gast.For, gast.While, gast.If)):
            header = stmt.iter if isinstance(stmt, gast.For) else stmt.test
            if name in syntax.names_in(header):
                return False
        elif name in syntax.names_in(stmt) and sum_into(stmt) != name:
            return False
    return True
