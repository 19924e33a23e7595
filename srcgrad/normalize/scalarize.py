"""Scalarize: runs of elementwise operations on 1-D arrays become one explicit loop over elements.

    d = x[1:] - x[:-1] ** 2             n = x[1:].shape[0]
    s = np.sum(100.0 * d ** 2)    ->    s = 0.0
                                        for k in range(n):
                                            pow_1 = x[k] ** 2
                                            d = x[k + 1] - pow_1
                                            ...
                                            s = s + mul

After this pass (which needs argument kinds, so it runs once per signature), a maximal run of ANF
statements that slice 1-D arrays, combine 1-D arrays and scalars elementwise, and reduce them with
np.sum / np.mean / np.dot is a single loop: no temporary arrays, one pass over memory, and
derivative code that is a loop too (numba compiles loops fast and fuses nothing otherwise).
Arrays the rest of the function still reads are written out element by element. Operands whose
lengths differ raise UnequalLengths (a ValueError), which the API reports as a limitation.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.aliasing import sharing
from ..analyze.dataflow import mutated_arrays
from ..rules.registry import rule_call

_ELEMENTWISE_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)
_REDUCTIONS = ("sum", "mean", "dot")   # the records' `fuse` values scalarize folds into a running sum


def scalarize(fn: gast.FunctionDef, kinds: dict, names) -> bool:
    """Rewrite `fn` in place; True when anything changed (kinds must then be inferred again)."""
    pass_ = _Scalarize(fn, kinds, names)
    fn.body = pass_.block(fn.body)
    return pass_.changed


class _SameLength:
    """Groups of 1-D arrays that must share a length because the run combines them elementwise.
    Every candidate statement joins the group of the arrays it combines; the run keeps the
    statements up to the first whose group is not, by the end of the candidates, the first one's:
    a computation the run never combines with its own may have another length, and is its own loop."""

    def __init__(self):
        self.parent: dict = {}
        self.targets: list = []   # each candidate's target, in order

    def admit(self, stmt, scalarizer) -> None:
        target = stmt.targets[0].id
        self.targets.append(target)
        if scalarizer._is_view(stmt):
            self._join(target, syntax.fingerprint(stmt.value))   # two equal views share a length
            return
        arrays = [a.id for a in syntax.walk(stmt.value) if isinstance(a, gast.Name) and scalarizer.kinds.get(a.id) == "a1"]
        for array in arrays or self.targets[:1]:   # no array operand: it joins the run as it stands
            self._join(target, array)

    def kept(self) -> int:
        """How many of the candidates, from the first, share the first one's group."""
        if not self.targets:
            return 0
        run = self._root(self.targets[0])
        return next((k for k, t in enumerate(self.targets) if self._root(t) != run), len(self.targets))

    def _root(self, name):
        while self.parent.get(name, name) != name:
            name = self.parent[name]
        return name

    def _join(self, a, b) -> None:
        self.parent[self._root(a)] = self._root(b)


class _Scalarize:
    def __init__(self, fn, kinds, names):
        self.fn, self.kinds, self.names = fn, kinds, names
        self.changed = False

    def block(self, stmts: list) -> list:
        for stmt in stmts:
            for block in syntax.child_blocks(stmt):
                block[:] = self.block(block)
        out, k = [], 0
        while k < len(stmts):
            end, hoisted = self._run(stmts, k)
            group = [stmts[i] for i in range(k, end) if i not in hoisted]
            if group and any(self._is_elementwise(s) for s in group) and self._length_source(group):
                out.extend(stmts[i] for i in sorted(hoisted))
                out.extend(self._loop(group))
                self.changed = True
                k = end
            else:
                out.append(stmts[k])
                k += 1
        return out

    # ----- which statements belong to a run --------------------------------------------------
    def _run(self, stmts, start) -> tuple[int, set]:
        """(the end of the run from `start`, the positions of statements between that it moves
        before its loop: numbers and rows it reads, computed from nothing the run computes, as
        `u0 = u[0]` and `row = V[j]` between the elementwise lines of one expression)."""
        chain: set[str] = set()
        reduced: set[str] = set()   # a total is complete only after the loop
        lengths = _SameLength()     # arrays numpy requires to have one length
        read_before: set[str] = set()   # names the run reads before (or without) defining them
        members, hoisted, hoisted_targets = [], [], set()
        end = start
        while end < len(stmts):
            stmt = stmts[end]
            if self._fits(stmt, chain) and not (syntax.loaded_names(stmt) & reduced):
                target = stmt.targets[0].id
                if (target in read_before and not self._rebindable(target)) or target in reduced \
                        or target in hoisted_targets:
                    break   # the loop would overwrite a value an earlier element of the run still reads
                lengths.admit(stmt, self)
                read_before |= syntax.loaded_names(stmt.value) - chain - reduced
                (reduced if self._is_reduction(stmt) else chain).add(target)
                members.append(end)
            elif members and syntax.is_comment(stmt):
                hoisted.append(end)   # an inlined call's `# inlined: f(x)`: the loop it goes before holds its body
            elif members and self._independent(stmt, chain | reduced, read_before | hoisted_targets):
                hoisted.append(end)
                hoisted_targets.add(stmt.targets[0].id)
            else:
                break
            end += 1
        members = members[:lengths.kept()]
        while members and self._is_view(stmts[members[-1]]):   # trailing views serve no loop
            members.pop()
        if not members:
            return start, set()
        end = members[-1] + 1
        hoisted = {i for i in hoisted if i < end}
        if end < len(stmts) and self._row_store(stmts[end], chain, stmts[start:end]):
            end += 1
        return end, hoisted

    def _row_store(self, stmt, chain: set[str], run: list) -> bool:
        """Whether `rows[i] = y` (or `a[i, j] = y`, a 3-D array), right after the run that makes
        `y`, joins it: the loop writes y's elements into the row, with no array for y where y
        means nothing else. Right where the run cannot see the row change: it reads neither
        `rows` nor a name that may share its memory, and `rows` is no parameter (a caller may
        pass one array for two)."""
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Subscript)
                and isinstance(stmt.targets[0].value, gast.Name) and isinstance(stmt.value, gast.Name)
                and stmt.value.id in chain):
            return False
        if not any(isinstance(s.targets[0], gast.Name) and s.targets[0].id == stmt.value.id
                   and self._is_elementwise(s, chain) for s in run if isinstance(s, gast.Assign)):
            return False   # a view of an array from outside, not a value the loop computes
        rows, parts = stmt.targets[0].value.id, syntax.index_parts(stmt.targets[0])
        if K.ndim(self.kinds.get(rows)) != len(parts) + 1 or not all(self._is_position(p) for p in parts):
            return False
        parameters = {a.id for a in self.fn.args.args}
        memory = {rows} | sharing(self.fn.body, self.kinds).get(rows, set())
        read = set().union(*(syntax.loaded_names(s) for s in run))
        return rows not in parameters and not (memory & read)

    def _is_position(self, atom) -> bool:
        if isinstance(atom, gast.Name):
            return self.kinds.get(atom.id) == K.INT
        return isinstance(atom, gast.Constant) and type(atom.value) is int

    @staticmethod
    def _is_row_store(stmt) -> bool:
        return isinstance(stmt.targets[0], gast.Subscript)

    def _independent(self, stmt, defined: set[str], taken: set[str]) -> bool:
        """A binding that reads nothing the run defines and binds no name the run reads or moved
        earlier: it may run before the loop. Calls stay in place (one may write into an array)."""
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)):
            return False
        if any(isinstance(n, gast.Call) for n in syntax.walk(stmt.value)):
            return False
        target = stmt.targets[0].id
        return not (syntax.loaded_names(stmt.value) & defined) and target not in defined | taken

    def _fits(self, stmt, chain) -> bool:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            return False
        if stmt.targets[0].id in chain or stmt.targets[0].id in syntax.loaded_names(stmt.value):
            return False
        if self._is_view(stmt) and stmt.value.value.id in chain:
            return False   # a view of a view: the inner one is a statement of its own, before the loop
        return self._is_view(stmt) or self._is_elementwise(stmt, chain) or self._is_reduction(stmt, chain)

    def _rebindable(self, name: str) -> bool:
        """Whether the run may bind anew an array it read before (`c = c * f + i * g`): the loop
        reads the old array's elements and writes the new ones to an array of another name, bound
        to `name` after the loop, which is right when nothing writes into `name`'s elements."""
        return self.kinds.get(name) == "a1" and name not in mutated_arrays(self.fn)

    def _second_name(self, stmt, array: str) -> bool:
        """Whether `name = array` (an inlined callee's result taken by the caller's name) may join
        the run as an elementwise copy: nothing writes into either name's elements, so no code can
        tell the two arrays the loop writes out from one array under two names; and `name` is bound
        nowhere else (a returned value's name, bound on each path to a return, stays a second name:
        its elements written in a loop would make reverse mode keep its value from before the loop)."""
        name = stmt.targets[0].id
        written = mutated_arrays(self.fn)
        return name not in written and array not in written and not self._bound_elsewhere(name, stmt)

    def _is_view(self, stmt) -> bool:
        value = stmt.value
        if not (isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name)
                and self.kinds.get(value.value.id) == "a1" and isinstance(value.slice, gast.Slice)):
            return False
        step = value.slice.step
        return step is None or (isinstance(step, gast.Constant) and step.value == 1)

    def _is_elementwise(self, stmt, chain=frozenset()) -> bool:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)) \
                or self.kinds.get(stmt.targets[0].id) != "a1":
            return False
        value = stmt.value
        if isinstance(value, gast.Name):
            return value.id in chain and self._second_name(stmt, value.id)
        if isinstance(value, gast.BinOp):
            ok = isinstance(value.op, _ELEMENTWISE_OPS)
            operands = [value.left, value.right]
        elif isinstance(value, gast.UnaryOp):
            ok, operands = isinstance(value.op, (gast.USub, gast.UAdd)), [value.operand]
        elif isinstance(value, gast.Call):
            rule = getattr(value, "srcgrad_rule", None)
            ok = rule is not None and rule.fuse == "elementwise" and not value.keywords
            operands = list(value.args)
        else:
            return False
        return ok and all(self._operand_ok(a) for a in operands)

    def _operand_ok(self, atom) -> bool:
        if isinstance(atom, gast.Name):
            return self.kinds.get(atom.id) in ("a1", K.FLOAT, K.INT)
        return syntax.is_atom(atom)

    def _is_reduction(self, stmt, chain=None) -> bool:
        value = stmt.value
        if not (isinstance(value, gast.Call) and getattr(value, "srcgrad_rule", None) is not None
                and value.srcgrad_rule.fuse in _REDUCTIONS and not value.keywords):
            return False
        needed = 2 if value.srcgrad_rule.fuse == "dot" else 1
        args = value.args
        return (len(args) == needed and all(isinstance(a, gast.Name) and self.kinds.get(a.id) == "a1" for a in args)
                and (chain is None or any(a.id in chain for a in args)))

    # ----- the loop ------------------------------------------------------------------------
    def _length_source(self, group):
        """An array from outside the run (or a view of one) that its element loop runs over."""
        views = self._used_views(group)
        for name in self._arrays_from_outside(group):
            return syntax.clone(views[name]) if name in views else syntax.name(name)
        return None

    def _used_views(self, group) -> dict:
        """The views of the run that its elementwise operations and reductions read: name -> slice."""
        read = set(self._arrays_read(group))
        return {s.targets[0].id: s.value for s in group if self._is_view(s) and s.targets[0].id in read}

    def _defined(self, group) -> set[str]:
        return {s.targets[0].id for s in group if not self._is_row_store(s)}

    def _loop(self, group) -> list:
        index = self.names.fresh("k")
        length = self.names.fresh("n")
        views = self._used_views(group)
        arrays = [v for v in self._arrays_from_outside(group) if v not in views]
        kept = self._used_later(group)
        before = [syntax.assign(length, syntax.Attribute(value=self._length_source(group), attr="shape", ctx=gast.Load()))]
        before[0].value = syntax.subscript(before[0].value, syntax.const(0))
        before += self._length_checks(length, self._length_source(group), views, arrays)
        body, after, scalar_of = [], [], {}
        self._reads, self._read_stmts, self._index = {}, body, index
        self._origin = getattr(group[0], "srcgrad_origin", None)
        read_so_far: set[str] = set()   # arrays the run has read so far, under their names before the run
        for stmt in group:
            self._origin = getattr(stmt, "srcgrad_origin", self._origin)   # a read is the first reader's
            if self._is_row_store(stmt):
                before += self._row_length_check(stmt, length)
                body.append(with_origin(self._row_element_store(stmt, scalar_of, index), stmt))
                continue
            target = stmt.targets[0].id
            rebound = target in read_so_far
            read_so_far |= syntax.loaded_names(stmt.value) - set(scalar_of)
            if self._is_view(stmt):
                if target in kept:
                    before.append(stmt)
                continue
            if self._is_reduction(stmt):
                before.append(with_origin(syntax.assign(target, syntax.const(0.0)), stmt))
                body.append(with_origin(syntax.assign(target, syntax.binop(syntax.name(target), "+", self._reduced(stmt, views, scalar_of, index))), stmt))
                if stmt.value.srcgrad_rule.fuse == "mean":
                    after.append(with_origin(syntax.assign(target, syntax.binop(syntax.name(target), "/", syntax.name(length))), stmt))
                continue
            # the element keeps the array's name only where that name means nothing else; a name
            # bound elsewhere stays an array here too, whose shape later code may read (21:3053:0)
            written_out = target in kept or self._bound_elsewhere(target, stmt)
            scalar = self.names.fresh(target + "_k") if written_out or rebound else target
            value = self._elementwise_value(stmt.value, views, scalar_of, index)
            scalar_of[target] = scalar
            body.append(with_origin(syntax.assign(scalar, value), stmt))
            if written_out:
                # an array the loop still reads under this name gets its new elements under another
                array = self.names.fresh(target + "_new") if rebound else target
                before.append(with_origin(syntax.assign(array, rule_call("np.empty", syntax.name(length))), stmt))
                body.append(with_origin(syntax.assign(syntax.subscript(syntax.name(array), syntax.name(index), store=True),
                                                        syntax.name(scalar)), stmt))
                if rebound:
                    after.append(with_origin(syntax.assign(target, syntax.name(array)), stmt))
        loop = syntax.for_range(index, [syntax.name(length)], body)
        return before + [loop] + after

    def _row_element_store(self, stmt, scalar_of, index):
        """`rows[i, k] = y_k`: element k of the row a row store writes."""
        target = stmt.targets[0]
        position = syntax.tuple_([syntax.clone(p) for p in syntax.index_parts(target)] + [syntax.name(index)])
        return syntax.assign(syntax.subscript(syntax.name(target.value.id), position, store=True),
                             syntax.name(scalar_of[stmt.value.id]))

    def _row_length_check(self, stmt, length) -> list:
        """The row a row store writes has the run's length (numpy would broadcast a length-1 run)."""
        target = stmt.targets[0]
        size = syntax.length_along(syntax.name(target.value.id), len(syntax.index_parts(target)))
        test = gast.Compare(left=size, ops=[gast.NotEq()], comparators=[syntax.name(length)])
        # guards the write: the forward sweep keeps it, as its loop would write past a short row
        return length_check(test, "could not broadcast the operands into the row they are written to", self.names,
                            guards_write=True)

    def _element(self, atom, views, scalar_of, index):
        """Element k of an operand: a scalar stays, a chain array is its scalar, an array is indexed."""
        if not isinstance(atom, gast.Name) or self.kinds.get(atom.id) != "a1":
            return syntax.clone(atom)
        if atom.id in scalar_of:
            return syntax.name(scalar_of[atom.id])
        if atom.id in views:
            view = views[atom.id]
            lower = view.slice.lower
            starts_at_zero = isinstance(lower, gast.Constant) and lower.value == 0
            return self._read(view.value.id, None if starts_at_zero else lower)
        return self._read(atom.id, None)

    def _read(self, array: str, offset):
        """The name holding array[k + offset] this iteration; the read is emitted once per iteration."""
        spelled = "" if offset is None else (str(offset.value) if isinstance(offset, gast.Constant) else
                                             "_" + "_".join(sorted(syntax.names_in(offset))))
        key = (array, spelled)
        if key not in self._reads:
            position = syntax.name(self._index)
            if offset is not None:
                shifted = self.names.fresh(f"{self._index}{spelled}")
                self._read_stmts.append(self._at_origin(syntax.assign(shifted, syntax.binop(syntax.name(self._index), "+", syntax.clone(offset)))))
                position = syntax.name(shifted)
            element = self.names.fresh(f"{array}_{position.id}")
            self._read_stmts.append(self._at_origin(syntax.assign(element, syntax.subscript(syntax.name(array), position))))
            self._reads[key] = element
        return syntax.name(self._reads[key])

    def _elementwise_value(self, value, views, scalar_of, index):
        if isinstance(value, gast.Name):
            return self._element(value, views, scalar_of, index)
        value = syntax.clone(value)
        if isinstance(value, gast.BinOp):
            value.left = self._element(value.left, views, scalar_of, index)
            value.right = self._element(value.right, views, scalar_of, index)
        elif isinstance(value, gast.UnaryOp):
            value.operand = self._element(value.operand, views, scalar_of, index)
        else:
            value.args = [self._element(a, views, scalar_of, index) for a in value.args]
        return value

    def _reduced(self, stmt, views, scalar_of, index):
        """The atom summed into a reduction this iteration (np.dot's product gets its own name)."""
        args = [self._element(a, views, scalar_of, index) for a in stmt.value.args]
        if len(args) == 1:
            return args[0]
        product = self.names.fresh("product")
        self._read_stmts.append(with_origin(syntax.assign(product, syntax.binop(args[0], "*", args[1])), stmt))
        return syntax.name(product)

    def _arrays_from_outside(self, group) -> list:
        """The arrays and views the run reads before it binds them, if it does (`c = c * f`):
        those it takes from the code before the loop, whose lengths it checks."""
        seen, defined = [], set()
        for stmt in group:
            if not (self._is_view(stmt) or self._is_row_store(stmt)):   # a view stands for the array it is taken from
                seen += [a for a in self._arrays_read([stmt]) if a not in defined and a not in seen]
                defined.add(stmt.targets[0].id)
        return seen

    def _arrays_read(self, group) -> list:
        seen = []
        for stmt in group:
            if self._is_view(stmt):
                continue
            for atom in syntax.walk(stmt.value):
                if isinstance(atom, gast.Name) and self.kinds.get(atom.id) == "a1" and atom.id not in seen:
                    seen.append(atom.id)
        return seen

    def _length_checks(self, length, source, views, arrays) -> list:
        """Every array and view the loop reads has the length of the one it runs over (`source`)."""
        operands = {syntax.fingerprint(v): v for v in views.values()}
        operands.update({syntax.fingerprint(syntax.name(a)): syntax.name(a) for a in arrays if a not in views})
        operands.pop(syntax.fingerprint(source), None)
        sizes = [syntax.length_along(syntax.clone(v), 0) for v in operands.values()]
        if not sizes:
            return []
        tests = [gast.Compare(left=s, ops=[gast.NotEq()], comparators=[syntax.name(length)]) for s in sizes]
        test = tests[0] if len(tests) == 1 else gast.BoolOp(op=gast.Or(), values=tests)
        return length_check(test, "operands could not be broadcast together", self.names)

    def _bound_elsewhere(self, name: str, stmt) -> bool:
        return any(isinstance(n, gast.Assign) and n is not stmt and name in syntax.stored_names([n])
                   for n in syntax.walk(self.fn))

    def _used_later(self, group) -> set[str]:
        """Arrays of the run that code outside the run reads: these are still written out."""
        inside = {id(n) for s in group for n in syntax.walk(s)}
        outside = {n.id for n in syntax.walk(self.fn) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)
                   and id(n) not in inside}
        return self._defined(group) & outside

    def _at_origin(self, new):
        new.srcgrad_origin = self._origin
        return new


def with_origin(new, old):
    """`new`, a statement written in place of `old`, with old's origin (its `# d(...)` comment)."""
    new.srcgrad_origin = getattr(old, "srcgrad_origin", None)
    return new


def length_check(test, message: str | tuple, names, guards_write: bool = False) -> list:
    """`mismatch = test; if mismatch: raise UnequalLengths(message)`: a length the generated code
    relies on differs at run time. `message` may be (construct, advice), which the API reports.
    `guards_write`: the check stands before a write that a wrong length would make wrong."""
    mismatch = names.fresh("mismatch")
    parts = message if isinstance(message, tuple) else (message,)
    error = gast.Raise(exc=syntax.call("UnequalLengths", *[syntax.const(p) for p in parts]), cause=None)
    error.srcgrad_guards_write = guards_write
    return [syntax.assign(mismatch, test), syntax.if_(syntax.name(mismatch), [error])]
