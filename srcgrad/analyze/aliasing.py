"""Aliasing: which names share memory with which arrays (a second name, a row, a slice, a transpose).

numpy writes through any of these names change what the others see. Activity analysis makes
aliases share activity; reverse mode, which keeps values apart to restore them, refuses the
writes it could not replay faithfully.
"""
from __future__ import annotations

from dataclasses import dataclass

import gast

from .. import syntax
from . import kinds as K
from .dataflow import makes_new_array, own_reads


@dataclass
class View:
    """`name = <base or a view of base>` at `stmt`."""

    stmt: object
    name: str
    base: str


def views(stmts: list, kinds: dict) -> list[View]:
    """Every binding of a name to an array variable or a view of one, in `stmts` and nested blocks."""
    found = []
    for stmt in _assignments(stmts):
        base = view_base(stmt, kinds)
        if base is not None:
            found.append(View(stmt, stmt.targets[0].id, base))
    return found


class Shares(dict):
    """name -> the other names that may share its memory (second names and views, both ways);
    `scalars`: the names that hold numbers (reading an element of an array binds no view)."""

    def __init__(self, groups: dict, scalars: frozenset):
        super().__init__(groups)
        self.scalars = scalars


def sharing(stmts: list, kinds: dict) -> Shares:
    """name -> the other names that may share its memory (second names and views, both ways,
    closed under chains of views). Flow-insensitive, so tuples are left out: through every
    `h, c = cell(h, c)` of an LSTM they would join all states into one (`memory_views` follows
    them where the order of statements is known)."""
    groups = _linked((v.name, v.base) for v in views(stmts, kinds))
    scalars = frozenset(name for name, kind in kinds.items() if K.is_scalar(kind))
    return Shares({name: group - {name} for name, group in groups.items()}, scalars)


def _linked(pairs) -> dict:
    """name -> the set of names the pairs link it to, itself included (one set object per group)."""
    groups: dict = {}
    for a, b in pairs:
        group = groups.get(a, {a}) | groups.get(b, {b})
        for name in group:
            groups[name] = group
    return groups


def held_in_tuples(stmts: list, kinds: dict) -> set[str]:
    """The names a tuple holds as one of its elements somewhere (`pair = (x, w)`: x and w)."""
    return {view.base for view in memory_views(stmts, kinds) if "#" in view.name and "#" not in view.base}


def alias_pairs(stmts: list, kinds: dict) -> list[tuple]:
    """(name, other) linking the names that share memory, so that writes through one reach the
    others: a view and its base, and names bound to the same element of a tuple."""
    pairs = []
    for group in _path_groups(stmts, kinds):
        names = sorted(path for path in group if "#" not in path)
        pairs.extend((name, names[0]) for name in names[1:])
    return pairs


def _path_groups(stmts: list, kinds: dict) -> list[set]:
    """The sets of names and tuple-element paths that views link, closed under chains of views."""
    groups = _linked((view.name, view.base) for view in memory_views(stmts, kinds))
    return list({id(group): group for group in groups.values()}.values())


def view_base(stmt, kinds: dict) -> str | None:
    """The array whose memory `stmt` binds its target name to, or None."""
    target, value = stmt.targets[0], stmt.value
    if not isinstance(target, gast.Name):
        return None
    source = None
    if isinstance(value, gast.Name):
        source = value.id
    elif isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) and not K.selects_by_array(value.slice, kinds, if_unknown=False):
        result = kinds.get(target.id, K.UNKNOWN)
        source = value.value.id if K.is_array(result) or result == K.UNKNOWN else None
    elif isinstance(value, gast.Call) and getattr(getattr(value, "srcgrad_rule", None), "result", None) == "view":
        source = value.args[0].id if value.args and isinstance(value.args[0], gast.Name) else None
    if source is None or K.is_scalar(kinds.get(source, K.UNKNOWN)) or isinstance(kinds.get(source), tuple):
        return None
    return source


def memory_views(stmts: list, kinds: dict) -> list[View]:
    """`views`, and the bindings that reach an array through a tuple, with *paths* for a tuple's
    elements: `pair = (x, w)` binds `pair#1` to `w`; `a, b = pair` and `b = pair[1]` bind `b` to
    `pair#1` (an inlined helper returning its argument: `returned = 0.5, q; u8, u9 = returned`).
    Paths keep a tuple's arrays apart, so `h, c = step(h, c)` does not make `h` and `c` share."""
    found = []
    for stmt in _assignments(stmts):
        base = view_base(stmt, kinds)
        if base is not None:
            found.append(View(stmt, stmt.targets[0].id, base))
        else:
            found.extend(_through_tuples(stmt, kinds))
    return found


def _through_tuples(stmt, kinds: dict) -> list[View]:
    """The views `stmt` binds by building, copying, unpacking or indexing a tuple."""
    found = []

    def bind(target, value) -> None:   # value: an expression, or the path of a tuple element
        if isinstance(target, (gast.Tuple, gast.List)):
            for index, element in enumerate(target.elts):
                bind(element, _element(value, index))
        elif isinstance(target, gast.Name):
            bind_path(target.id, value)

    def bind_path(path: str, value) -> None:
        if isinstance(value, (gast.Tuple, gast.List)):
            for index, element in enumerate(value.elts):
                bind_path(f"{path}#{index}", element)
            return
        source = value if isinstance(value, str) else _tuple_path(value, kinds)
        if source is not None and not K.is_scalar(_kind_of_path(source, kinds)):
            found.append(View(stmt, path, source))

    if isinstance(stmt.targets[0], (gast.Name, gast.Tuple, gast.List)):
        bind(stmt.targets[0], stmt.value)
    return found


def _element(value, index: int):
    """Element `index` of a tuple given as an expression or a path; None where it is not known."""
    if isinstance(value, str):
        return f"{value}#{index}"
    if isinstance(value, (gast.Tuple, gast.List)):
        return value.elts[index] if index < len(value.elts) else None
    if isinstance(value, gast.Name):
        return f"{value.id}#{index}"
    return None


def _tuple_path(value, kinds: dict) -> str | None:
    """`t` for a name, `t#k` for `t[k]` of a tuple `t` with a constant index; None otherwise."""
    if isinstance(value, gast.Name):
        return value.id
    if (isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name)
            and isinstance(kinds.get(value.value.id), tuple) and isinstance(value.slice, gast.Constant)
            and type(value.slice.value) is int):
        size = len(kinds[value.value.id])
        index = value.slice.value
        return f"{value.value.id}#{index % size}" if -size <= index < size else None
    return None


def _kind_of_path(path: str, kinds: dict):
    name, *indices = path.split("#")
    kind = kinds.get(name, K.UNKNOWN)
    for index in indices:
        kind = kind[int(index)] if isinstance(kind, tuple) and int(index) < len(kind) else K.UNKNOWN
    return kind


def _variable(path: str) -> str:
    return path.split("#", 1)[0]


def _assignments(stmts):
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            yield stmt
        for block in syntax.child_blocks(stmt):
            yield from _assignments(block)


def writes_through_views(fn: gast.FunctionDef, kinds: dict):
    """(write, view) for the first element write whose array name may, on some path, still be
    bound to another array or a view of one. None when there is none."""
    bound = {id(view.stmt): view for view in views(fn.body, kinds)}
    for write, definitions in element_writes(fn.body, {}):
        through = [bound[d] for d in definitions if d in bound]
        if through:
            return write, through[0]
    return None


BEFORE = "before"   # the definition that reached the start of the analysed statements


def element_writes(stmts: list, initial: dict) -> list:
    """(write, definitions) for each element write `a[...] = v` in `stmts`: the statements (ids)
    whose binding of `a` may reach it, or BEFORE when the name's value from before `stmts` may."""
    writes = [s for s in _simple_statements(stmts) if _is_element_write(s)]
    if not writes:
        return []
    reaching = reaching_definitions(stmts, initial, {id(w) for w in writes})
    return [(w, reaching[id(w)].get(syntax.base_name(w.targets[0]), {BEFORE})) for w in writes]


def reaching_definitions(stmts: list, initial: dict, wanted: set, asked=None) -> dict:
    """For each statement whose id is in `wanted`: name -> ids of the bindings that may reach it
    (BEFORE for the value from before `stmts`). Structured code; loops iterate to a fixpoint.
    `asked(stmt)`: the names wanted there, when not all are: in long code a copy of every name's
    definitions at every statement is quadratic."""
    found = {}

    def block(body, reaching: dict) -> dict:
        reaching = dict(reaching)   # this block's own: its bindings update it in place
        for stmt in body:
            reaching = statement(stmt, reaching)
        return reaching

    def seen_at(stmt, reaching: dict) -> dict:
        if asked is None:
            return dict(reaching)
        return {name: reaching[name] for name in asked(stmt) if name in reaching}

    def statement(stmt, reaching: dict) -> dict:
        if id(stmt) in wanted:
            here = seen_at(stmt, reaching)
            found[id(stmt)] = _merge(found[id(stmt)], here) if id(stmt) in found else here
        if isinstance(stmt, gast.Assign):
            if not _is_element_write(stmt):
                reaching.update({name: {id(stmt)} for name in syntax.stored_names([stmt])})
            return reaching
        if isinstance(stmt, gast.If):
            return _merge(block(stmt.body, reaching), block(stmt.orelse, reaching))
        if syntax.is_loop(stmt):
            state = reaching
            for _ in range(len(stmt.body) + 2):   # until no new definition reaches the loop head
                after = _merge(state, block(stmt.body, state))
                if after == state:
                    break
                state = after
            return state
        return reaching

    block(stmts, initial)
    return found


def _is_element_write(stmt) -> bool:
    return isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)


def _simple_statements(stmts):
    for stmt in stmts:
        if not isinstance(stmt, (gast.If, gast.For, gast.While)):
            yield stmt
        for block in syntax.child_blocks(stmt):
            yield from _simple_statements(block)


def _merge(a: dict, b: dict) -> dict:
    return {name: a.get(name, {BEFORE}) | b.get(name, {BEFORE}) for name in set(a) | set(b)}


def loop_header_of(name: str, fn: gast.FunctionDef) -> str | None:
    """The loop header (`for r in w[::-1]`) whose iterable desugar bound to `name` (a name of
    srcgrad's, which a refusal should not ask the user to change), or None."""
    for node in syntax.statements_in(fn.body):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) and node.targets[0].id == name:
            origin = getattr(node, "srcgrad_origin", "") or ""
            return origin if origin.startswith("for ") else None
    return None


def written_while_viewed(fn: gast.FunctionDef, kinds: dict):
    """(view, write) where `write` changes the array object another name shares (a second name, a
    row, a slice, a transpose) while that name is still read afterwards. Reverse mode keeps one
    adjoint per name, so the write's adjoint would not see the cotangent the other name gathers
    (and a row or slice it copies would keep the old values)."""
    return _changed_while_viewed(fn, kinds, _is_element_write)


def changed_while_listed(fn: gast.FunctionDef, kinds: dict):
    """(capture, change, list, array): `change` writes into `array`'s memory, or updates it in
    place, after the statement `capture` put it into `list` (`hist = [x]`, `hist.append(x)`,
    `hist[k] = x`, a comprehension's items): Python's list holds the array itself and sees the
    change, while srcgrad keeps a list as one array of copies of its items. A change in a later
    pass of a loop holding both counts unless the array is made anew in that pass first. None
    when nothing conflicts."""
    captures = _list_captures(fn.body, kinds)
    if not captures:
        return None
    order = linear_order(fn.body)
    memory = _Memory(fn.body, kinds, order)
    lists = {listed for _, listed, _ in captures}
    changes = [(s, names) for s in order.statements if isinstance(s, gast.Assign)
               for names in [_changes_in_place(s, kinds) - lists] if names]
    for capture, listed, array in captures:
        captured = memory.of(array, capture)
        for change, names in changes:
            shared = captured & {root for name in names for root in memory.of(name, change)}
            if shared and _reaches_captured(order, memory, shared, capture, change):
                return capture, change, listed, array
    return None


def _reaches_captured(order, memory, roots: set, capture, change) -> bool:
    """Whether `change` may run on the array `capture` put into its list (`roots`: the bindings
    that made it): later in program order with none of them made again between, or in a later
    pass of a loop holding both, none of them made anew after the capture or before the change."""
    made = [memory.statements[r] for r, _ in roots if r != BEFORE and makes_new_array(memory.statements[r])]
    if order.position[id(change)] > order.position[id(capture)]:
        return not any(order.position[id(capture)] < order.position[id(m)] < order.position[id(change)] for m in made)
    common = set(order.loops[id(capture)]) & set(order.loops[id(change)])
    anew = [m for m in made if common and common <= set(order.loops[id(m)])]
    return bool(common) and not any(order.position[id(m)] > order.position[id(capture)]
                                    or order.position[id(m)] < order.position[id(change)] for m in anew)


def _list_captures(stmts: list, kinds: dict) -> list:
    """(statement, list, array) for each array variable a statement puts into a list: a literal
    bound to a name, an append, an item stored."""
    listed = {"srcgrad_runtime.empty_list", "srcgrad_runtime.appended"}
    lists = {s.targets[0].id for s in _assignments(stmts) if isinstance(s.targets[0], gast.Name)
             and isinstance(s.value, gast.Call) and (getattr(s.value, "srcgrad_list", False)
                                                     or getattr(getattr(s.value, "srcgrad_rule", None), "name", "") in listed)}
    found = []
    for stmt in _assignments(stmts):
        target, value = stmt.targets[0], stmt.value
        if isinstance(target, gast.Name) and target.id in lists and isinstance(value, gast.Call):
            items = value.args[0].elts if getattr(value, "srcgrad_list", False) and value.args \
                and isinstance(value.args[0], (gast.List, gast.Tuple)) else value.args[1:] if value.args else []
        elif isinstance(target, gast.Subscript) and syntax.base_name(target) in lists:
            items = [value]
        else:
            continue
        found += [(stmt, syntax.base_name(target), item.id) for item in items
                  if isinstance(item, gast.Name) and K.is_array(kinds.get(item.id, K.UNKNOWN))]
    return found


def _changes_in_place(stmt, kinds: dict) -> set:
    """The array names whose memory `stmt` changes: an element or slice write, an augmented update."""
    target = stmt.targets[0]
    if _is_element_write(stmt):
        return {syntax.base_name(target)}
    if getattr(stmt, "srcgrad_augmented", False) and isinstance(target, gast.Name) \
            and not K.is_scalar(kinds.get(target.id, K.UNKNOWN)):
        return {target.id}
    return set()


def updated_while_viewed(fn: gast.FunctionDef, kinds: dict):
    """(view, update) where `update` is an augmented assignment `a -= v` to an array another name
    shares, read afterwards: numpy changes the array in place, and so what the other name sees,
    while srcgrad binds `a` to a new array."""
    return _changed_while_viewed(fn, kinds, lambda s: getattr(s, "srcgrad_augmented", False)
                                 and isinstance(s.targets[0], gast.Name) and not K.is_scalar(kinds.get(s.targets[0].id, K.UNKNOWN)))


def _changed_while_viewed(fn: gast.FunctionDef, kinds: dict, changes):
    """(observer, change): the first `change` of an array's memory (through any name bound to it,
    or to a view of it, a chain of views included) after which another name for that memory is
    read. `observer.name` is that name, `observer.base` the changed one."""
    order = linear_order(fn.body)
    changed_at = [s for s in order.statements if isinstance(s, gast.Assign) and changes(s)]
    if not changed_at:
        return None
    memory = _Memory(fn.body, kinds, order)
    readers: dict = {}
    for stmt in order.statements:
        for name in own_reads(stmt) & memory.names:
            readers.setdefault(name, []).append(stmt)
    for change in changed_at:
        changed = syntax.base_name(change.targets[0])
        changed_memory = memory.of(changed, change)
        for observer in sorted(memory.names - {changed}):
            # bindings of the observer written after the change come round a loop: the arrays they
            # share were made again before this change (`u = new` after `new = np.zeros(n)`)
            shared = memory.of(observer, change, earlier_only=True) & changed_memory
            if not shared or all(memory.older_run(root, observer, changed, change) for root in shared):
                continue
            bound = memory.binding(observer, change)
            for read in readers.get(observer, []):
                later = order.position[id(read)] > order.position[id(change)]
                if (later or order.share_loop(read, change, bound)) and not _rebound_between(order, observer, change, read):
                    return View(read, observer, changed), change
    return None


class _Memory:
    """Which array each name refers to before a statement: the bindings at the root of its chain of
    views (a statement that makes a new array, or a parameter's value), as a set over paths. A
    tuple's elements are followed apart (`memory_views`); a tuple refers to all its elements' arrays."""

    def __init__(self, stmts: list, kinds: dict, order):
        self.views: dict = {}
        for view in memory_views(stmts, kinds):
            self.views.setdefault(id(view.stmt), []).append(view)
        self.names = {_variable(n) for vs in self.views.values() for v in vs for n in (v.name, v.base)}
        self.kinds = kinds
        self.reaching = reaching_definitions(stmts, {}, {id(s) for s in order.statements})
        self.statements = {id(s): s for s in order.statements}
        self.position = order.position
        self.order = order
        self._roots: dict = {}

    def binding(self, name: str, stmt):
        """A statement binding `name` that reaches `stmt`; None for a value from before the function."""
        definitions = [d for d in self.reaching[id(stmt)].get(name, {BEFORE}) if d != BEFORE]
        return self.statements[definitions[0]] if definitions else None

    def of(self, path: str, stmt, earlier_only: bool = False) -> set:
        """The roots of the array a name (or a tuple element's path) refers to before `stmt`.
        `earlier_only`: as seen by a name bound before `stmt` (an observer of a change at `stmt`):
        bindings after it, and arrays made again on every path from the observer's binding to
        `stmt`, are not the changed array."""
        definitions = self.reaching[id(stmt)].get(_variable(path), {BEFORE})
        if not earlier_only:
            return {root for d in definitions for root in self._root(d, path)}
        definitions = {d for d in definitions if d == BEFORE or self.position[d] < self.position[id(stmt)]}
        return {root for d in definitions for root in self._root(d, path)
                if not self._made_again_between(root[0], d, stmt)}

    def older_run(self, root, observer: str, changed: str, stmt) -> bool:
        """Whether `observer` holds an array an earlier run of the statement `root` made than the
        run `changed` holds at `stmt`: the statement makes a new array on every pass of a loop
        before `stmt` (`V = U.copy()` ... `V[0] = ...` ... `U = V`), the changed name reaches it
        within the pass, and the observer only round that loop (`O = U[1]` reads last pass's V)."""
        statement, path = root
        if statement == BEFORE or not makes_new_array(self.statements[statement]):
            return False
        loops = self.order.loops[statement]
        if not loops or not set(loops) <= set(self.order.loops[id(stmt)]) or not self.order.runs_before(statement, stmt):
            return False
        loop = loops[-1]
        return (self._passes(changed, stmt, root, loop) == {False}
                and self._passes(observer, stmt, root, loop) == {True})

    def _passes(self, path: str, stmt, root, loop, crossed: bool = False, depth: int = 0) -> set:
        """For each chain of bindings from `path` before `stmt` to `root`: whether it goes round
        `loop` (a binding reached from a statement it follows in that loop's body, not in a loop
        within it). The empty set when no chain reaches the root."""
        if depth > 50:   # a chain of views round a loop into itself: no answer, so not older
            return {False}
        found = set()
        for definition in self.reaching[id(stmt)].get(_variable(path), {BEFORE}):
            if definition == BEFORE:
                continue
            round_loop = crossed or (self.position[definition] >= self.position[id(stmt)]
                                     and self._innermost_common_loop(definition, id(stmt)) == loop)
            if (definition, path) == root:
                found.add(round_loop)
                continue
            for view in self.views.get(definition, ()):
                if path == view.name or path.startswith(view.name + "#"):
                    found |= self._passes(view.base + path[len(view.name):], self.statements[definition], root, loop,
                                          round_loop, depth + 1)
        return found

    def _innermost_common_loop(self, a: int, b: int):
        common = [x for x, y in zip(self.order.loops[a], self.order.loops[b]) if x == y]
        return common[-1] if common else None

    def _made_again_between(self, root, definition, stmt) -> bool:
        """Whether the statement `root` makes a new array after `definition` and before `stmt` on
        every path (`x = np.empty(n)` in a loop body, between `v = x[1:]` and a write `x[k] = ...`)."""
        if root == BEFORE or not makes_new_array(self.statements[root]):
            return False
        start = self.position[definition] if definition != BEFORE else -1
        return start < self.position[root] < self.position[id(stmt)] and self.order.runs_before(root, stmt)

    def _root(self, definition, path: str) -> frozenset:
        key = (definition, path)
        if key not in self._roots:
            self._roots[key] = frozenset([key])   # a view of itself around a loop ends here
            roots = self._followed(definition, path)
            if roots:
                self._roots[key] = frozenset(roots)
        return self._roots[key]

    def _followed(self, definition, path: str) -> set:
        """The roots reached from `path`'s binding at `definition` through views; for a tuple, its
        elements' roots. Empty where the binding makes its own array."""
        here = self.views.get(definition, ())
        for view in here:
            if path == view.name or path.startswith(view.name + "#"):
                return self.of(view.base + path[len(view.name):], view.stmt)
        kind = _kind_of_path(path, self.kinds)
        if isinstance(kind, tuple):
            return {root for index in range(len(kind)) for root in self._root(definition, f"{path}#{index}")}
        return {root for view in here if view.name.startswith(path + "#") for root in self._root(definition, view.name)}


def _rebound_between(order, name: str, write, read) -> bool:
    """Whether `name` is bound again after the write and before the read (a fresh binding)."""
    low, high = order.position[id(write)], order.position[id(read)]
    return any(isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and s.targets[0].id == name
               and low < order.position[id(s)] < high for s in order.statements)


class LinearOrder:
    """Statements in program order, with the loops enclosing each."""

    def __init__(self):
        self.statements: list = []
        self.position: dict = {}
        self.loops: dict = {}
        self.block: dict = {}    # id -> (id of the statement list holding it, index there)
        self.parent: dict = {}   # id -> id of the compound statement holding it, or None

    def runs_before(self, first: int, stmt) -> bool:
        """Whether the statement with id `first` runs on every path into `stmt` from before it in
        its block: `stmt` follows it in the same block, or inside a statement that does."""
        block, index = self.block[first]
        node = id(stmt)
        while node is not None:
            if self.block[node][0] == block:
                return self.block[node][1] > index
            node = self.parent[node]
        return False

    def encloses(self, block, stmt_id: int) -> bool:
        """Whether the block (the id of a statement list, or "function") holds the statement."""
        node = stmt_id
        while node is not None:
            if block == "function" or self.block[node][0] == block:
                return True
            node = self.parent[node]
        return False

    def share_loop(self, a, b, outside) -> bool:
        """Whether a and b run in one loop that does not contain `outside` (so b runs before a
        again in the next iteration)."""
        common = set(self.loops[id(a)]) & set(self.loops[id(b)])
        return bool(common - set(self.loops[id(outside)] if outside is not None else ()))


def linear_order(stmts) -> LinearOrder:
    order = LinearOrder()

    def visit(block, loops, parent):
        for index, stmt in enumerate(block):
            order.position[id(stmt)] = len(order.statements)
            order.loops[id(stmt)] = loops
            order.block[id(stmt)] = (id(block), index)
            order.parent[id(stmt)] = parent
            order.statements.append(stmt)
            inner = loops + (id(stmt),) if syntax.is_loop(stmt) else loops
            for child in syntax.child_blocks(stmt):
                visit(child, inner, id(stmt))

    visit(stmts, (), None)
    return order
