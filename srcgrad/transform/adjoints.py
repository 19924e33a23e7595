"""Adjoint code for one ANF assignment: how the result's adjoint flows back into its operands.

Every statement `y = op(a, b)` becomes, in the reverse sweep,
    a_bar += partial_a * y_bar      (summed back to a's shape when a was broadcast)
    b_bar += partial_b * y_bar
    y_bar = 0.0                     (y's earlier value did not depend on y_bar)
using the same registry entry as forward mode.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.activity import active_operands
from ..errors import UnsupportedSyntaxError
from ..rules.registry import BilinearRule, ElementwiseRule, LinearRule, StructuralRule
from .common import Zeros, check_arguments, elementwise_bindings, op_rule, operands, times


class Adjoints:
    """Generates adjoint statements; also the context structural rules call back into."""

    def __init__(self, active: set, kinds: dict, names, callee, location=lambda node: None):
        self.active, self.kinds, self.names, self.callee = active, kinds, names, callee
        self.location = location
        self._statement = None
        self.zeros = Zeros(kinds)
        self.bars: dict[str, str] = {}
        self.old_shapes: set = set()   # (statement id, name): see kill
        self.callee_options: dict = {}  # what a called function's reverse mode inherits (its memory budget)

    # ----- names -----------------------------------------------------------------------------
    def adjoint(self, var: str) -> str:
        if var not in self.bars:
            self.bars[var] = self.names.derived(var, suffix="_bar")
        return self.bars[var]

    def element_adjoints(self, var: str) -> list[str]:
        """Adjoints of a tuple variable, one name per element."""
        kind = self.kinds.get(var)
        names = []
        for k in range(len(kind)):
            key = (var, k)
            if key not in self.bars:
                self.bars[key] = self.names.fresh(f"{var}_bar_{k}")
            names.append(self.bars[key])
        return names

    def is_tuple(self, var: str) -> bool:
        return isinstance(self.kinds.get(var), tuple)

    def init(self, var: str) -> list:
        """`x_bar = 0` statements shaped like `var`."""
        if self.is_tuple(var):
            kinds = self.kinds[var]
            return [syntax.assign(name, self.zeros.of_kind(syntax.subscript(syntax.name(var), syntax.const(k)), kinds[k]))
                    for k, name in enumerate(self.element_adjoints(var))]
        return [syntax.assign(self.adjoint(var), self.zeros.like(syntax.name(var)))]

    def cotangent(self, var: str) -> gast.AST:
        """The adjoint of `var` as one expression: a name, or a tuple of names for a tuple."""
        if self.is_tuple(var):
            return syntax.tuple_([syntax.name(n) for n in self.element_adjoints(var)])
        return syntax.name(self.adjoint(var))

    def kill(self, var: str, stmt=None, before: dict | None = None) -> list:
        """Reset `var`'s adjoint when `stmt` binds `var` again: in place (reading `var` here would
        make it a value the reverse sweep must keep), or shaped like the value it replaces where
        the shapes may differ (`old_shapes`, whose old values the reverse sweep keeps)."""
        if self.is_tuple(var):
            return [s for bar, kind in zip(self.element_adjoints(var), self.kinds[var]) for s in _zero_in_place(bar, kind)]
        if stmt is not None and (id(stmt), var) in self.old_shapes:
            old = syntax.name((before or {}).get(var, var))
            return [syntax.assign(self.adjoint(var), syntax.call("zeroed_like", syntax.name(self.adjoint(var)), old))]
        return _zero_in_place(self.adjoint(var), self.kinds.get(var, K.UNKNOWN))


    # ----- accumulation ----------------------------------------------------------------------
    def accumulate(self, atom, contribution, contribution_kind=None) -> list:
        """`atom_bar += contribution`, summing broadcast dimensions away when shapes may differ."""
        if not (isinstance(atom, gast.Name) and atom.id in self.active):
            return []
        if self.is_tuple(atom.id):
            return [s for k, (bar, kind) in enumerate(zip(self.element_adjoints(atom.id), self.kinds[atom.id]))
                    for s in self.add_to_item(bar, syntax.subscript(syntax.clone(contribution), syntax.const(k)), kind)]
        contribution = self.shaped_like(syntax.name(atom.id), self.kinds.get(atom.id, K.UNKNOWN),
                                        contribution, contribution_kind)
        return [syntax.aug_assign(self.adjoint(atom.id), "+", contribution)]

    def shaped_like(self, value, target, contribution, contribution_kind=None):
        """`contribution` summed to the shape of `value` (of kind `target`) where they may differ."""
        kind = target if contribution_kind is None else contribution_kind
        if kind != target or target == K.UNKNOWN or target == "a?":
            if K.is_scalar(target) and K.is_array(kind):
                return syntax.call("np.sum", contribution)
            if not (K.is_scalar(target) and K.is_scalar(kind)):
                return syntax.call("sum_to", contribution, value)
        return contribution

    def add_to_item(self, bar: str, contribution, kind) -> list:
        """`bar += contribution` for the adjoint of one item of a tuple; an item that is a tuple
        itself is added item by item (`+=` would concatenate the tuples)."""
        if isinstance(kind, tuple):
            return [syntax.assign(bar, _itemwise_sum(syntax.name(bar), contribution, kind))]
        return [syntax.aug_assign(bar, "+", contribution)]

    # ----- statements ------------------------------------------------------------------------
    def statement(self, stmt, before: dict | None = None) -> list:
        """Adjoint of one ANF assignment. `before`: operand name -> name holding its old value."""
        self._statement = stmt   # where a refusal points when the part it names has no position
        target, value = stmt.targets[0], stmt.value
        if isinstance(target, gast.Subscript):
            return self._element_write(target, value)
        if isinstance(value, gast.Call) and getattr(value, "srcgrad_user", None) is not None:
            return self._user_call(stmt, target, value, before or {})
        if isinstance(target, gast.Tuple):
            return self._unpack(stmt, target, value, before or {})
        y = target.id
        if y not in self.active:
            return []
        if isinstance(value, gast.Tuple) and not self.is_tuple(y):
            raise UnsupportedSyntaxError("a value that is a tuple on one path and something else (or a tuple of "
                                         "another length) on another, in reverse mode", self.location(stmt),
                                         "Return (or assign) the same structure on every path.")
        positions = active_operands(value, self.active)
        if not positions:
            return self.kill(y, stmt, before)
        if y in syntax.loaded_names(value) and _flows_as_statements(value):
            return self._rebinding(stmt, before or {})
        evaluated = syntax.substitute(value, {k: syntax.name(v) for k, v in (before or {}).items()})
        flows = self.flows(y, value, evaluated, positions)   # [(operand atom, contribution, kind)]
        into_self = [(c, k) for atom, c, k in flows if isinstance(atom, gast.Name) and atom.id == y]
        out = [s for atom, c, k in flows if not (isinstance(atom, gast.Name) and atom.id == y)
               for s in (self.accumulate(atom, c, k) if not isinstance(c, list) else c)]
        if into_self:
            total = into_self[0][0]
            for c, _ in into_self[1:]:
                total = syntax.binop(total, "+", c)
            target = self.kinds.get(y, K.UNKNOWN)
            kinds = {k if k is not None else target for _, k in into_self}
            total = self.shaped_like(syntax.name((before or {}).get(y, y)), target, total,
                                     kinds.pop() if len(kinds) == 1 else K.UNKNOWN)
            if isinstance(total, gast.Name) and total.id == self.adjoint(y):
                return out   # y = y + ...: y's adjoint passes through unchanged
            return out + [syntax.assign(self.adjoint(y), total)]
        return out + self.kill(y, stmt, before)

    def _rebinding(self, stmt, before: dict) -> list:
        """Adjoint of a statement that binds a name it reads, `x = x[1:]` or `xs = np.concatenate((xs,
        v))`, whose adjoint is statements adding into the operands' adjoints: the result's adjoint
        moves to its own name, and the name's adjoint restarts as zeros shaped like its old value
        (which may differ from the new one's shape)."""
        y = stmt.targets[0].id
        result = self.names.fresh(f"{y}_result")
        self.kinds[result] = self.kinds.get(y, K.UNKNOWN)
        self.active.add(result)
        old = syntax.name(before.get(y, y))
        code = [syntax.assign(self.adjoint(result), self.cotangent(y)),
                syntax.assign(self.adjoint(y), self.zeros.of_kind(old, self.kinds[result]))]
        renamed = syntax.assign(result, syntax.clone(stmt.value))
        reset = {syntax.fingerprint(s) for s in self.kill(result)}   # the result has no earlier value
        adjoint = [s for s in self.statement(renamed, {}) if syntax.fingerprint(s) not in reset]
        # y is still the new value here (code that reads the result, np.max's `ans`, reads y);
        # the operand y is its old value
        return code + syntax.rename(adjoint, {y: old.id, result: y})

    def flows(self, y, value, evaluated, positions) -> list:
        """(operand, contribution to its adjoint, kind of the contribution) for each active operand."""
        g = self.cotangent(y)
        result_kind = self.kinds.get(y, K.UNKNOWN)
        if isinstance(value, gast.Name):
            return [(value, g, result_kind)]
        if isinstance(value, gast.Subscript):
            return [(value.value, self._read_back(value, g), None)]
        if isinstance(value, gast.Tuple):
            parts = self.element_adjoints(y)
            return [(elt, syntax.name(parts[k]), K.UNKNOWN if not isinstance(result_kind, tuple) else result_kind[k])
                    for k, elt in enumerate(value.elts) if k in positions]
        rule = op_rule(value) or getattr(value, "srcgrad_rule", None)
        check_arguments(rule, value, "reverse", self.location)
        ops, evaluated_ops = operands(value), operands(evaluated)
        if isinstance(rule, ElementwiseRule):
            bindings = elementwise_bindings(rule, evaluated, y)
            # two array operands may broadcast ((3, 1) * (3, 3)) although their ranks agree: then
            # each contribution is summed back to its operand's shape
            arrays = sum(1 for op in ops if not K.is_scalar(K.of_atom(op, self.kinds)))
            kind = result_kind if arrays < 2 else K.UNKNOWN
            return [(ops[k], times(rule.partials.instantiate(bindings, k), syntax.clone(g)), kind) for k in positions]
        if isinstance(rule, (LinearRule, BilinearRule)):
            kind = result_kind if getattr(rule, "broadcasts", False) else None
            return [(ops[k], self._transpose(rule, k, g, evaluated_ops, y, value), kind) for k in positions]
        if isinstance(rule, StructuralRule):
            return [(None, rule.reverse(self, y, evaluated, positions), None)]
        raise UnsupportedSyntaxError(f"`{syntax.names_in(value)}` in reverse mode", self.location(value),
                                     "This operation has no reverse rule yet.")

    def _transpose(self, rule, k, g, args, y, call=None):
        axis = _axis_argument(call) if call is not None and getattr(rule, "spread", "") else None
        if axis is not None:   # sum/mean over one axis: spread the cotangent back along it
            reduces_a_vector = K.ndim(K.of_atom(args[0], self.kinds)) == 1   # to a number: it spreads as is
            spread = syntax.clone(g) if reduces_a_vector else syntax.call("np.expand_dims", syntax.clone(g), syntax.clone(axis))
            if rule.spread == "mean":
                size = syntax.subscript(gast.Attribute(value=syntax.clone(args[0]), attr="shape", ctx=gast.Load()),
                                        syntax.clone(axis))
                spread = syntax.binop(spread, "/", size)
            return spread
        template = rule.transposes[k]
        params = template.params
        bindings = {"g": syntax.clone(g), "ans": syntax.name(y)}
        bindings.update({p: syntax.clone(a) for p, a in zip(params[1:], args)})
        return template.instantiate(bindings)

    def _read_back(self, value, g):
        """Adjoint of `y = x[index]`: `x_bar[index] += y_bar` (a statement, not an expression)."""
        array = value.value.id
        if self.is_tuple(array):
            index = value.slice
            if not (isinstance(index, gast.Constant) and isinstance(index.value, int)):
                raise UnsupportedSyntaxError("indexing a tuple with a variable in reverse mode",
                                             self.location(value) or self.location(self._statement),
                                             "Unpack the tuple: `a, b = t`.")
            return self.add_to_item(self.element_adjoints(array)[index.value], g, self.kinds[array][index.value])
        if K.selects_by_array(value.slice, self.kinds, if_unknown=True):   # an index may repeat: add once per occurrence
            return [gast.Expr(value=syntax.call("scatter_add", syntax.name(self.adjoint(array)),
                                                syntax.index_value(value.slice), g))]
        target = syntax.subscript(syntax.name(self.adjoint(array)), syntax.clone(value.slice), store=True)
        return [syntax.aug_assign(target, "+", g)]

    def _element_write(self, target, value) -> list:
        array = syntax.base_name(target)
        if array not in self.active:
            return []
        slot = syntax.subscript(syntax.name(self.adjoint(array)), syntax.clone(target.slice))
        clear = syntax.assign(syntax.as_store(syntax.clone(slot)), syntax.const(0.0))
        if K.selects_by_array(target.slice, self.kinds, if_unknown=True):   # of repeated elements only the last write is kept
            slot = syntax.call("kept_slots", syntax.name(self.adjoint(array)), syntax.index_value(target.slice))
        # a bool index is a mask (`u[u0 > 0.5] = c`: c is spread over the slots it selects)
        masked = any(K.of_atom(p, self.kinds) == K.BOOL for p in syntax.index_parts(target))
        kind = K.FLOAT if K.selects_element(target, self.kinds) and not masked else K.UNKNOWN
        if isinstance(value, gast.Name) and value.id == array:   # a[s] = a: take the slot's adjoint before clearing it
            taken = self.names.fresh(f"{array}_bar_slot")
            return [syntax.assign(taken, syntax.call("np.copy", slot)), clear] + self.accumulate(value, syntax.name(taken), kind)
        return self.accumulate(value, slot, kind) + [clear]

    def _unpack(self, stmt, target, value, before: dict) -> list:
        names = [e.id for e in target.elts]
        out = []
        if isinstance(value, gast.Name) and value.id in self.active and self.is_tuple(value.id):
            for name, bar, kind in zip(names, self.element_adjoints(value.id), self.kinds[value.id]):
                if name in self.active:
                    out.extend(self.add_to_item(bar, self.cotangent(name), kind))
        elif isinstance(value, gast.Name) and value.id in self.active:   # the rows of an array
            for k, name in enumerate(names):
                if name in self.active:
                    row = syntax.subscript(syntax.name(self.adjoint(value.id)), syntax.const(k), store=True)
                    out.append(syntax.aug_assign(row, "+", syntax.name(self.adjoint(name))))
        for name in names:
            if name in self.active:
                out += self.kill(name, stmt, before)
        return out

    def _user_call(self, stmt, target, call, before) -> list:
        positions = active_operands(call, self.active)
        targets = [target] if isinstance(target, gast.Name) else list(target.elts)
        results = [t.id for t in targets]
        if not positions or not any(r in self.active for r in results):
            return []
        function = self.callee(call, positions, mode="reverse", with_value=False, **self.callee_options)
        cotangents = [self.cotangent(r) if r in self.active else self.zeros.like(syntax.name(r)) for r in results]
        cotangent = cotangents[0] if isinstance(target, gast.Name) else syntax.tuple_(cotangents)
        args = [syntax.name(before.get(a.id, a.id)) if isinstance(a, gast.Name) else syntax.clone(a) for a in call.args]
        parts = [self.names.fresh(f"{call.args[k].id}_bar_from_{call.func.id.strip('_')}") for k in positions]
        grads = syntax.call(function, *args, cotangent)   # the callee returns a tuple of gradients
        if len(parts) == 1:
            out = [syntax.assign(parts[0], syntax.subscript(grads, syntax.const(0)))]
        else:
            out = [syntax.assign(syntax.tuple_([syntax.name(p, store=True) for p in parts], store=True), grads)]
        for k, part in zip(positions, parts):
            arg = call.args[k]
            if arg.id in results:
                continue
            out += self.accumulate(arg, syntax.name(part))
        for r in results:
            if r in self.active:
                out += self.kill(r, stmt, before)
        for k, part in zip(positions, parts):   # an argument the call also overwrites
            if call.args[k].id in results:
                out.append(syntax.aug_assign(self.adjoint(call.args[k].id), "+", syntax.name(part)))
        return out


def _itemwise_sum(a, b, kind):
    if isinstance(kind, tuple):
        return syntax.tuple_([_itemwise_sum(_item(a, k), _item(b, k), item) for k, item in enumerate(kind)])
    return syntax.binop(a, "+", b)


def _item(value, k: int):
    """Item k of a tuple: of a tuple written out, that item itself."""
    if isinstance(value, gast.Tuple):
        return syntax.clone(value.elts[k])
    return syntax.subscript(syntax.clone(value), syntax.const(k))


def _flows_as_statements(value) -> bool:
    """True when the adjoint of `value` is statements adding into its operands' adjoints rather
    than one expression per operand (a subscript read, a structural rule)."""
    return isinstance(value, gast.Subscript) or isinstance(getattr(value, "srcgrad_rule", None), StructuralRule)


def _zero_in_place(bar: str, kind) -> list:
    if K.is_scalar(kind):
        return [syntax.assign(bar, syntax.const(0.0))]
    # an array of unknown or zero rank may be a number at run time (an array on one path and a
    # number on another; numpy's arithmetic on 0-d arrays returns scalars): `zeroed` takes either
    if K.is_array(kind) and K.ndim(kind):
        everything = gast.Constant(value=Ellipsis, kind=None)
        return [syntax.assign(syntax.subscript(syntax.name(bar), everything, store=True), syntax.const(0.0))]
    return [syntax.assign(bar, syntax.call("zeroed", syntax.name(bar)))]


def _axis_argument(call):
    for keyword in call.keywords:
        if keyword.arg == "axis":
            return keyword.value
    return call.args[1] if len(call.args) > 1 else None
