"""Small arrays: a 1-D float array of known, small length becomes one local per element.

    v = np.array((a, b, c))          v0 = a; v1 = b; v2 = c
    w = v * s                  ->    w0 = v0 * s; w1 = v1 * s; w2 = v2 * s
    t = np.dot(w, v)                 product = w0 * v0; ... ; t = partial_1 + product_2

After this pass (which needs argument kinds and the lengths of small argument arrays, so it runs
once per signature) a 1-D float array is held as scalars when its length is known when the
function compiles and at most SMALL, it shares no memory with a name written through, and every
binding of it is one of: a literal of floats, zeros / ones / empty, a copy or transpose, a constant slice,
elementwise arithmetic or an elementwise function of such arrays and scalars; element writes at
constant positions become scalar assignments. Constant indexing, len / shape / size and
np.sum / np.mean / np.dot of such arrays read the scalars. Such a parameter is read once at entry,
after a check that the caller's array has the length the code was built for. Where other code
still needs the array (a call, a return, an index only known at run time), it is built again from
the scalars: after each binding, or before each such use when its elements are written.

Small fixed-size arrays (3-vectors, state vectors) otherwise cost an allocation per temporary in
the primal and another per adjoint, many times the arithmetic they hold (GradBench ba).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import gast
import numpy as np

from .. import syntax
from ..analyze import kinds as K
from ..analyze.aliasing import held_in_tuples, sharing
from ..rules.registry import rule_call
from .scalarize import length_check, with_origin

SMALL = 16   # elements; longer arrays stay arrays (a loop over them is cheaper than its unrolled code)

_ELEMENTWISE_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)
_FILLED = {"np.zeros": 0.0, "np.ones": 1.0, "np.empty": 0.0}
_FILLED_LIKE = {"np.zeros_like": 0.0, "np.ones_like": 1.0, "np.empty_like": 0.0}
_SAME_ELEMENTS = ("np.copy", "np.transpose")   # of a vector: its elements (np.cross's rows-or-vector code)
_PENDING = object()   # a length that depends on one not yet known


def unpack_small_arrays(fn: gast.FunctionDef, kinds: dict, names, param_lengths: dict) -> set[str] | None:
    """Rewrite `fn` in place (see the module docstring).

    `param_lengths` maps 1-D float parameters to the length of the caller's array. Returns the
    parameters whose length the rewritten code relies on, or None when nothing changed.
    """
    plan = _plan(fn, kinds, param_lengths)
    if not plan.lengths:
        return None
    _Rewrite(fn, kinds, names, plan).run()
    return plan.params


def small_lengths(args: tuple) -> tuple:
    """Per argument, its length when it is a 1-D float array short enough to be held as scalars;
    None for the others. What a build may specialize on (see `unpack_small_arrays`)."""
    return tuple(len(a) if isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind == "f" and 1 <= len(a) <= SMALL
                 else None for a in args)


# ----- which arrays, and how long ----------------------------------------------------------

@dataclass
class _Plan:
    lengths: dict                                  # name -> length, for every array held as scalars
    params: set = field(default_factory=set)       # parameters among them
    rebuilt_after_binding: set = field(default_factory=set)
    rebuilt_before_use: set = field(default_factory=set)


def _plan(fn, kinds: dict, param_lengths: dict) -> _Plan:
    facts = _Facts(fn, kinds, param_lengths)
    candidates = facts.candidates()
    while True:
        lengths = _consistent_lengths(facts, candidates)
        uses = {n: facts.uses(n, lengths) for n in lengths}
        fixed = facts.fixed_by_code(lengths)
        # a parameter is held only where that saves arrays and the code itself fixes its length (a
        # 3-vector, a packed camera): the length of any other is a problem size, small by chance in
        # one call, and code tied to it would be built again for the next size
        dropped = {p for p in lengths if p in facts.params and not (uses[p][0] and p in fixed)}
        if not dropped:
            break
        candidates -= dropped   # and what was held only through them
    needs_array = {n for n in lengths if n not in facts.params and uses[n][1]}
    return _Plan(lengths, {p for p in lengths if p in facts.params},
                 needs_array - facts.written, needs_array & facts.written)


def _consistent_lengths(facts, candidates: set) -> dict:
    """The candidates (`candidates` shrinks to them) whose every binding gives one length."""
    while True:
        lengths = facts.solve(candidates)
        bad = {n for n in candidates if not facts.consistent(n, lengths, candidates)}
        if not bad:
            return {n: lengths[n] for n in candidates}
        candidates -= bad


class _Facts:
    """Bindings, element writes, sharing and uses of the function's names, and the length rules."""

    def __init__(self, fn, kinds: dict, param_lengths: dict):
        self.fn, self.kinds, self.param_lengths = fn, kinds, param_lengths
        self.params = set(syntax.param_names(fn))
        self.bindings: dict = {}    # name -> the assignments binding it
        self.stores: dict = {}      # name -> the assignments writing its elements
        self.other_bound: set = set()   # bound by a loop, an unpacking, ...: not held as scalars
        self.headers: set = set()   # read by an if, for or while header
        self.statements: list = []
        self.readers: dict = {}     # name -> the simple statements that read it
        self._collect(fn.body)
        self.written = set(self.stores) | {n for n, bs in self.bindings.items()
                                           if any(getattr(b, "srcgrad_augmented", False) for b in bs)}

    def _collect(self, stmts: list) -> None:
        for stmt in stmts:
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                self.bindings.setdefault(stmt.targets[0].id, []).append(stmt)
            elif isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript):
                self.stores.setdefault(syntax.base_name(stmt.targets[0]), []).append(stmt)
            elif isinstance(stmt, (gast.If, gast.For, gast.While)):
                header = stmt.iter if isinstance(stmt, gast.For) else stmt.test
                self.headers |= syntax.loaded_names(header)
                self.other_bound |= syntax.stored_names(stmt.target) if isinstance(stmt, gast.For) else set()
            else:   # an unpacking, ...
                self.other_bound |= {n.id for n in syntax.nodes_in(stmt) if isinstance(n, gast.Name)
                                     and isinstance(n.ctx, gast.Store)}
            self.statements.append(stmt)
            if not isinstance(stmt, (gast.If, gast.For, gast.While)):
                for name in syntax.loaded_names(stmt):
                    self.readers.setdefault(name, []).append(stmt)
            for block in syntax.child_blocks(stmt):
                self._collect(block)

    def candidates(self) -> set:
        shared = sharing(self.fn.body, self.kinds)
        held = held_in_tuples(self.fn.body, self.kinds)   # an inlined helper's `returned = 0.5, w`
        chosen = set()
        for name in set(self.bindings) | set(self.param_lengths):
            if self.kinds.get(name) != "a1" or name in self.other_bound or name in self.headers:
                continue
            if name in self.params and (name not in self.param_lengths or name in self.bindings or name in self.stores):
                continue   # a parameter written or bound again: the caller's array is what it names
            memory = {name} | shared.get(name, set())
            if memory & self.written and (shared.get(name) or memory & held):
                continue   # a write through one name would have to reach the other's (or the tuple's) scalars
            chosen.add(name)
        return chosen

    def solve(self, candidates: set) -> dict:
        """Optimistic lengths: each candidate's from the first binding whose operands are known."""
        lengths = {p: self.param_lengths[p] for p in candidates if p in self.params}
        changed = True
        while changed:
            changed = False
            for name in candidates - set(lengths):
                for binding in self.bindings.get(name, []):
                    length = self.value_length(binding.value, lengths, candidates)
                    if isinstance(length, int):
                        lengths[name] = length
                        changed = True
                        break
        return lengths

    def consistent(self, name: str, lengths: dict, candidates: set) -> bool:
        length = lengths.get(name)
        if length is None or not 1 <= length <= SMALL:
            return False
        for binding in self.bindings.get(name, []):
            if self.value_length(binding.value, lengths, candidates) != length:
                return False
            if isinstance(binding.value, gast.Subscript) and binding.value.value.id == name:
                return False   # x = x[::-1]: its elements would be overwritten while still read
        return all(_store_positions(s.targets[0], length) is not None and
                   self._stored_value_fits(s, len(_store_positions(s.targets[0], length)), lengths, candidates)
                   for s in self.stores.get(name, []))

    def _stored_value_fits(self, store, count: int, lengths: dict, candidates: set) -> bool:
        value = store.value
        if self._is_scalar(value):
            return True
        return (isinstance(store.targets[0].slice, gast.Slice) and isinstance(value, gast.Name)
                and value.id in candidates and lengths.get(value.id) in (1, count))

    def value_length(self, value, lengths: dict, candidates: set):
        """The length of the array `value` makes from held arrays and scalars; None when this
        pass does not hold it as scalars, _PENDING when an operand's length is not known yet."""
        if isinstance(value, gast.Call):
            return self._call_length(value, lengths, candidates)
        if isinstance(value, gast.BinOp) and isinstance(value.op, _ELEMENTWISE_OPS):
            return self._broadcast([value.left, value.right], lengths, candidates)
        if isinstance(value, gast.UnaryOp) and isinstance(value.op, (gast.USub, gast.UAdd)):
            return self._broadcast([value.operand], lengths, candidates)
        if isinstance(value, gast.Name):
            return self._operand_length(value, lengths, candidates)
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) and isinstance(value.slice, gast.Slice):
            base = self._operand_length(value.value, lengths, candidates)
            if not isinstance(base, int):
                return base
            positions = _slice_positions(value.slice, base)
            return len(positions) if positions else None
        return None

    def _call_length(self, call, lengths: dict, candidates: set):
        rule = getattr(call, "srcgrad_rule", None)
        if rule is None or call.keywords:
            return None
        if rule.name == "np.array" and len(call.args) == 1 and isinstance(call.args[0], (gast.Tuple, gast.List)):
            elements = call.args[0].elts
            numbers = all(self._is_number(e) for e in elements)
            return len(elements) if elements and numbers and any(self._is_float(e) for e in elements) else None
        if rule.name in _FILLED and len(call.args) == 1:
            return _constant_length(call.args[0])
        if (rule.name in _FILLED_LIKE or rule.name in _SAME_ELEMENTS) and len(call.args) == 1:
            return self._operand_length(call.args[0], lengths, candidates)
        if rule.fuse == "elementwise":
            return self._broadcast(call.args, lengths, candidates)
        return None

    def _broadcast(self, operands: list, lengths: dict, candidates: set):
        found = set()
        for operand in operands:
            if self._is_scalar(operand):
                continue
            length = self._operand_length(operand, lengths, candidates)
            if not isinstance(length, int):
                return length
            found.add(length)
        found.discard(1) if len(found) > 1 else None
        return found.pop() if len(found) == 1 else None

    def _operand_length(self, atom, lengths: dict, candidates: set):
        if not (isinstance(atom, gast.Name) and atom.id in candidates):
            return None
        return lengths.get(atom.id, _PENDING)

    def _is_scalar(self, atom) -> bool:
        if isinstance(atom, gast.Name):
            return K.is_scalar(self.kinds.get(atom.id))
        return syntax.number(atom) is not None

    def _is_number(self, atom) -> bool:
        if isinstance(atom, gast.Name):   # an int variable would make an int-typed element local
            return self.kinds.get(atom.id) == K.FLOAT
        return syntax.number(atom) is not None

    def _is_float(self, atom) -> bool:
        """A float element: numpy makes an array of ints from ints alone (an index array)."""
        if isinstance(atom, gast.Name):
            return self.kinds.get(atom.id) == K.FLOAT
        return isinstance(syntax.number(atom), float)

    def fixed_by_code(self, lengths: dict) -> set:
        """The held arrays whose length the code fixes: built by a literal, zeros(3) or a slice of
        fixed size, sliced to a fixed size, or combined elementwise (or by np.dot) with one."""
        group = {n: n for n in lengths}

        def root(name):
            while group[name] != name:
                name = group[name]
            return name

        fixed = set()
        for name in lengths:
            for binding in self.bindings.get(name, []):
                value = binding.value
                if _fixed_size(value):
                    fixed.add(name)
                if isinstance(value, gast.Subscript) and _fixed_slice(value.slice) and value.value.id in lengths:
                    fixed.add(value.value.id)   # a packed layout: cam[0:3], cam[3:6]
                for operand in _array_operands(value):
                    if lengths.get(operand) == lengths[name]:
                        group[root(operand)] = root(name)
        reads = _Reads(self.kinds, lengths)
        for stmt in self.statements:
            read = reads.scalar_read(stmt.value) if isinstance(stmt, gast.Assign) else None
            if read is not None and read[0] == "dot":
                group[root(read[1])] = root(read[2])
        roots = {root(n) for n in fixed}
        return {n for n in lengths if root(n) in roots}

    def uses(self, name: str, lengths: dict) -> tuple[bool, bool]:
        """(whether holding `name` saves work in a statement the rewrite turns into scalar code,
        whether a statement it leaves as it is reads `name`, needing the array)."""
        reads = _Reads(self.kinds, lengths)
        readers = self.readers.get(name, [])
        handled = [s for s in readers if reads.handles(s, name)]
        return any(reads.saves_an_array(s) for s in handled), len(handled) < len(readers)


class _Reads:
    """The statements the rewrite turns into scalar code, as far as one held array's reads go."""

    def __init__(self, kinds: dict, lengths: dict):
        self.kinds, self.lengths = kinds, lengths

    def handles(self, stmt, name: str) -> bool:
        if not isinstance(stmt, gast.Assign):
            return False
        target = stmt.targets[0]
        if isinstance(target, gast.Subscript):
            return syntax.base_name(target) in self.lengths   # its value is a scalar or a held array
        if not isinstance(target, gast.Name):
            return False   # an unpacking
        if target.id in self.lengths:
            return True   # a binding of a held array: its operands are held arrays or scalars
        return self.scalar_read(stmt.value) is not None

    def saves_an_array(self, stmt) -> bool:
        """Whether holding the arrays `stmt` reads saves work: it binds a held array, or reduces
        held arrays. Reading an element or the length costs the same from an array."""
        target = stmt.targets[0]
        if isinstance(target, gast.Name) and target.id in self.lengths:
            return True
        read = self.scalar_read(stmt.value) if isinstance(target, gast.Name) else None
        return read is not None and read[0] in ("sum", "mean", "dot")

    def scalar_read(self, value):
        """What a read of held arrays into a scalar or a shape is: ("element", name, position),
        ("length", n), ("shape", n), ("sum" / "mean", name) or ("dot", a, b); None otherwise."""
        if isinstance(value, gast.Subscript):
            return self._indexed(value)
        if isinstance(value, gast.Attribute) and self._held(value.value):
            return {"shape": ("shape", self.lengths[value.value.id]), "size": ("length", self.lengths[value.value.id]),
                    "ndim": ("length", 1)}.get(value.attr)
        if isinstance(value, gast.BinOp) and isinstance(value.op, gast.MatMult):
            return self._dot(value.left, value.right)
        rule = getattr(value, "srcgrad_rule", None) if isinstance(value, gast.Call) else None
        if rule is None or value.keywords:
            return None
        if rule.name == "len" and len(value.args) == 1 and self._held(value.args[0]):
            return "length", self.lengths[value.args[0].id]
        if rule.fuse in ("sum", "mean") and len(value.args) == 1 and self._held(value.args[0]):
            return rule.fuse, value.args[0].id
        if rule.fuse == "dot" and len(value.args) == 2:
            return self._dot(*value.args)
        return None

    def _indexed(self, value):
        array = value.value
        if isinstance(array, gast.Attribute) and array.attr == "shape" and self._held(array.value):
            return ("length", self.lengths[array.value.id]) if syntax.number(value.slice) in (0, -1) else None
        if not self._held(array):
            return None
        position = syntax.number(value.slice)
        length = self.lengths[array.id]
        if not isinstance(position, int) or isinstance(position, bool) or not -length <= position < length:
            return None
        return "element", array.id, position % length

    def _dot(self, a, b):
        if self._held(a) and self._held(b) and self.lengths[a.id] == self.lengths[b.id]:
            return "dot", a.id, b.id
        return None

    def _held(self, atom) -> bool:
        return isinstance(atom, gast.Name) and atom.id in self.lengths


# ----- the rewrite ---------------------------------------------------------------------------

class _Rewrite:
    def __init__(self, fn, kinds: dict, names, plan: _Plan):
        self.fn, self.kinds, self.names, self.plan = fn, kinds, names, plan
        self.reads = _Reads(kinds, plan.lengths)
        self.element_names: dict = {}

    def run(self) -> None:
        body = self.block(self.fn.body)
        self.fn.body = self._parameters_read(body) + body

    def element(self, name: str, position: int) -> str:
        key = (name, position)
        if key not in self.element_names:
            separator = "_" if name[-1].isdigit() else ""
            self.element_names[key] = self.names.fresh(f"{name}{separator}{position}")
        return self.element_names[key]

    def block(self, stmts: list) -> list:
        out = []
        for stmt in stmts:
            for block in syntax.child_blocks(stmt):
                block[:] = self.block(block) or [gast.Pass()]
            out.extend(with_origin(new, stmt) for new in self.statement(stmt))
        return out

    def statement(self, stmt) -> list:
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
            target = stmt.targets[0].id
            if target in self.plan.lengths:
                return self._binding(target, stmt.value)
            read = self.reads.scalar_read(stmt.value)
            if read is not None:
                return self._scalar_read(target, read)
        if (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)
                and syntax.base_name(stmt.targets[0]) in self.plan.lengths):
            return self._element_write(stmt.targets[0], stmt.value)
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            return [stmt]
        return self._with_arrays_rebuilt(stmt)

    def _with_arrays_rebuilt(self, stmt) -> list:
        """stmt reading, for each written held array it needs whole, a copy built just before it.
        Each copy gets a name of its own: rebinding the array's name here would make it bound only
        on the paths that pass a use, and reverse mode saves a rebound name where it may be unbound."""
        rebuilt = sorted(syntax.loaded_names(stmt) & self.plan.rebuilt_before_use)
        if not rebuilt:
            return [stmt]
        copies = {name: self.names.fresh(f"{name}_array") for name in rebuilt}
        return ([self._rebuilt(name, copies[name]) for name in rebuilt]
                + [syntax.substitute(stmt, {name: syntax.name(copy) for name, copy in copies.items()})])

    # a binding of a held array: one assignment per element
    def _binding(self, target: str, value) -> list:
        length = self.plan.lengths[target]
        out = [syntax.assign(self.element(target, k), self._element_value(value, k, length)) for k in range(length)]
        if target in self.plan.rebuilt_after_binding:
            out.append(self._rebuilt(target))
        return out

    def _element_value(self, value, k: int, length: int):
        if isinstance(value, gast.Call):
            name = value.srcgrad_rule.name
            if name == "np.array":
                return _as_float(value.args[0].elts[k])
            if name in _FILLED:
                return syntax.const(_FILLED[name])
            if name in _FILLED_LIKE:
                return syntax.const(_FILLED_LIKE[name])
            if name in _SAME_ELEMENTS:
                return self._operand(value.args[0], k)
            call = syntax.clone(value)
            call.args = [self._operand(a, k) for a in value.args]
            return call
        if isinstance(value, gast.BinOp):
            return gast.BinOp(left=self._operand(value.left, k), op=value.op, right=self._operand(value.right, k))
        if isinstance(value, gast.UnaryOp):
            return gast.UnaryOp(op=value.op, operand=self._operand(value.operand, k))
        if isinstance(value, gast.Name):
            return self._operand(value, k)
        base = value.value.id   # a constant slice
        return syntax.name(self.element(base, _slice_positions(value.slice, self.plan.lengths[base])[k]))

    def _operand(self, atom, k: int):
        """Element k of an operand: a scalar as it is, a held array's (broadcast when of length 1)."""
        if isinstance(atom, gast.Name) and atom.id in self.plan.lengths:
            return syntax.name(self.element(atom.id, k if self.plan.lengths[atom.id] > 1 else 0))
        return syntax.clone(atom)

    def _element_write(self, target, value) -> list:
        name = target.value.id
        positions = _store_positions(target, self.plan.lengths[name])
        return [syntax.assign(self.element(name, p), self._operand(value, j)) for j, p in enumerate(positions)]

    # reads of held arrays into scalars
    def _scalar_read(self, target: str, read) -> list:
        what = read[0]
        if what == "element":
            return [syntax.assign(target, syntax.name(self.element(read[1], read[2])))]
        if what == "length":
            return [syntax.assign(target, syntax.const(read[1]))]
        if what == "shape":
            return [syntax.assign(target, syntax.tuple_([syntax.const(read[1])]))]
        if what == "dot":
            a, b = read[1], read[2]
            products, out = [], []
            for k in range(self.plan.lengths[a]):
                product = self.names.fresh("product")
                out.append(syntax.assign(product, syntax.binop(syntax.name(self.element(a, k)), "*",
                                                               syntax.name(self.element(b, k)))))
                products.append(product)
            return out + self._total(target, products)
        terms = [self.element(read[1], k) for k in range(self.plan.lengths[read[1]])]
        if what == "sum":
            return self._total(target, terms)
        total = self.names.fresh("total")
        return self._total(total, terms) + [syntax.assign(target, syntax.binop(syntax.name(total), "/",
                                                                                  syntax.const(float(len(terms)))))]

    def _total(self, target: str, terms: list) -> list:
        """target = terms[0] + terms[1] + ..., one addition per statement, left to right as np.sum."""
        if len(terms) == 1:
            return [syntax.assign(target, syntax.name(terms[0]))]
        out, partial = [], terms[0]
        for k, term in enumerate(terms[1:], start=2):
            name = target if k == len(terms) else self.names.fresh("partial")
            out.append(syntax.assign(name, syntax.binop(syntax.name(partial), "+", syntax.name(term))))
            partial = name
        return out

    def _rebuilt(self, name: str, target: str | None = None):
        elements = [syntax.name(self.element(name, k)) for k in range(self.plan.lengths[name])]
        return syntax.assign(target or name, rule_call("np.array", syntax.tuple_(elements)))

    def _parameters_read(self, body: list) -> list:
        """For each held parameter: the length check, then its elements the code reads."""
        out = []
        read = syntax.loaded_names(body)
        for param in syntax.param_names(self.fn):
            if param not in self.plan.params:
                continue
            length = self.plan.lengths[param]
            out += _length_check(param, length, self.names)
            out += [syntax.assign(self.element(param, k), syntax.subscript(syntax.name(param), syntax.const(k)))
                    for k in range(length) if self.element(param, k) in read]
        return out


def _length_check(param: str, length: int, names) -> list:
    size = syntax.subscript(syntax.Attribute(value=syntax.name(param), attr="shape", ctx=gast.Load()), syntax.const(0))
    message = (f"this code was built for `{param}` of length {length} (srcgrad holds small arrays as scalars); "
               "call compiled_for again with an example of the length you pass")
    return length_check(gast.Compare(left=size, ops=[gast.NotEq()], comparators=[syntax.const(length)]), message, names)


def _fixed_size(value) -> bool:
    """A literal, zeros / ones / empty of a constant length, or a slice of constant bounds."""
    if isinstance(value, gast.Subscript):
        return _fixed_slice(value.slice)
    rule = getattr(value, "srcgrad_rule", None) if isinstance(value, gast.Call) else None
    if rule is None:
        return False
    return rule.name == "np.array" or (rule.name in _FILLED and bool(value.args) and _constant_length(value.args[0]) is not None)


def _fixed_slice(index) -> bool:
    """[a:b] with constant a >= 0 (or none) and b >= 0: the same elements of any long enough array."""
    if not isinstance(index, gast.Slice) or index.upper is None:
        return False
    bounds = [syntax.number(index.upper)] + ([0] if index.lower is None else [syntax.number(index.lower)])
    step = 1 if index.step is None else syntax.number(index.step)
    return all(isinstance(b, int) and b >= 0 for b in bounds) and isinstance(step, int) and step > 0


def _array_operands(value) -> list:
    """The names a held binding combines element by element with its target."""
    if isinstance(value, gast.Call):
        operands = value.args
    elif isinstance(value, gast.BinOp):
        operands = [value.left, value.right]
    elif isinstance(value, gast.UnaryOp):
        operands = [value.operand]
    else:
        operands = [value] if isinstance(value, gast.Name) else []
    return [a.id for a in operands if isinstance(a, gast.Name)]


# ----- constants ---------------------------------------------------------------------------

def _as_float(atom):
    number = syntax.number(atom)
    return syntax.const(float(number)) if number is not None else syntax.clone(atom)


def _constant_length(atom):
    """n in np.zeros(n) or np.zeros((n,)), when a constant."""
    if isinstance(atom, gast.Tuple) and len(atom.elts) == 1:
        atom = atom.elts[0]
    n = syntax.number(atom)
    return n if isinstance(n, int) else None


def _slice_positions(index, length: int):
    """The positions a constant slice selects from an array of `length`, or None."""
    bounds = []
    for bound in (index.lower, index.upper, index.step):
        value = None if bound is None else syntax.number(bound)
        if bound is not None and not isinstance(value, int):
            return None
        bounds.append(value)
    if bounds[2] == 0:
        return None
    return list(range(length)[slice(*bounds)])


def _store_positions(target, length: int):
    """The positions `array[index] = ...` writes, when constant and in range; else None."""
    if isinstance(target.slice, gast.Slice):
        return _slice_positions(target.slice, length)
    position = syntax.number(target.slice)
    if not isinstance(position, int) or not -length <= position < length:
        return None
    return [position % length]
