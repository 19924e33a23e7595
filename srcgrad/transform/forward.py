"""Forward mode: each active variable `x` gets a tangent `dx`, updated beside it (dual numbers as code).

After this pass the function `jvp_f(*args, *tangents)` returns `(value, tangent)`; every statement
that writes an active variable is followed (or, when it overwrites its own operand, preceded) by the
statement that updates its tangent, and a comment with the user's line opens each group.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.activity import active_operands
from ..analyze.dataflow import mutated_arrays
from ..rules.registry import BilinearRule, ElementwiseRule, LinearRule, StructuralRule
from .common import Zeros, by_origin, check_arguments, elementwise_bindings, op_rule, operands, primal_calls, times


class ForwardTransform:
    """Builds the tangent function of one ANF function."""

    def __init__(self, fn: gast.FunctionDef, wrt: list[int], active: set[str], kinds: dict, names, callee,
                 location=None):
        self.fn, self.wrt, self.active, self.kinds = fn, wrt, active, kinds
        self.names, self.callee = names, callee
        self.location = location or (lambda node: None)
        self.zeros = Zeros(kinds)
        self.tangents: dict[str, str] = {}
        self.mutated = mutated_arrays(fn)
        self._result_kind = K.UNKNOWN

    def tangent(self, var: str) -> str:
        if var not in self.tangents:
            self.tangents[var] = self.names.derived(var, prefix="d")
        return self.tangents[var]

    def tangent_of(self, atom) -> gast.AST:
        """The tangent of an operand: its tangent variable, or zero when inactive."""
        if isinstance(atom, gast.Name) and atom.id in self.active:
            return syntax.name(self.tangent(atom.id))
        if isinstance(atom, (gast.Tuple, gast.List)) and syntax.names_in(atom.elts) & set(self.active):
            # sequence_args makes such an operand an array first: a zero here would be a wrong derivative
            raise AssertionError(f"a sequence of differentiated values reached a rule whole: {gast.unparse(atom).strip()}")
        return self.zeros.like(atom)

    # ----- function ------------------------------------------------------------------------
    def run(self, function_name: str) -> gast.FunctionDef:
        params = syntax.param_names(self.fn)
        tangent_params = [self.tangent(params[k]) for k in self.wrt]
        # a parameter not differentiated that later holds differentiated values starts with zero tangent
        later_active = [p for k, p in enumerate(params) if p in self.active and k not in self.wrt]
        body = [z for p in later_active for z in self._zero_tangent(p)] + self.block(self.fn.body)
        return syntax.function(function_name, params + tangent_params, body)

    def block(self, stmts) -> list:
        out = []
        for origin, group in by_origin(stmts):
            generated = [new for stmt in group for new in self.stmt(stmt)]
            if origin and len(generated) > len(group):
                generated.insert(0, syntax.comment(origin))
            out.extend(generated)
        return out

    def stmt(self, stmt) -> list:
        if isinstance(stmt, gast.Assign):
            return self.assign(stmt)
        if isinstance(stmt, gast.Return):
            return [self.return_(stmt)]
        if isinstance(stmt, (gast.For, gast.While, gast.If)):
            primal_calls(stmt.iter if isinstance(stmt, gast.For) else stmt.test, self.callee)
            stmt.body = self.block(stmt.body)
            stmt.orelse = self.block(stmt.orelse)
        return [stmt]

    # ----- statements ----------------------------------------------------------------------
    def return_(self, stmt):
        value = stmt.value
        if isinstance(value, gast.Tuple):
            tangent = syntax.tuple_([self.tangent_of(e) for e in value.elts])
        else:
            tangent = self.tangent_of(value)
        return syntax.return_(syntax.tuple_([value, tangent]))

    def assign(self, stmt) -> list:
        target, value = stmt.targets[0], stmt.value
        if isinstance(target, gast.Subscript):
            return self._element_write(stmt, target, value)
        if isinstance(target, gast.Tuple):
            return self._unpack(stmt, target, value)
        name = target.id
        if isinstance(value, gast.Call) and getattr(value, "srcgrad_user", None) is not None:
            return self._user_call(stmt, target, value)
        if name not in self.active:
            return [primal_calls(stmt, self.callee)]
        positions = active_operands(value, self.active)
        if not positions:
            return [primal_calls(stmt, self.callee)] + self._zero_tangent(name)
        return self._differentiate(stmt, name, value, positions)

    def _zero_tangent(self, name: str) -> list:
        return [syntax.assign(self.tangent(name), self.zeros.like(syntax.name(name)))]

    def _differentiate(self, stmt, name, value, positions) -> list:
        self._result_kind = self.kinds.get(name, K.UNKNOWN)
        uses_result, tangent = self.tangent_expr(name, value, positions)
        overwrites_operand = name in {a.id for a in operands(value) if isinstance(a, gast.Name)} or (
            isinstance(value, (gast.Subscript, gast.Name)) and name in syntax.loaded_names(value))
        update = syntax.assign(self.tangent(name), tangent)
        if not overwrites_operand:
            return [stmt, update]
        if not uses_result:
            return [update, stmt]
        fresh = self.names.fresh(name + "_new")
        uses_result, tangent = self.tangent_expr(fresh, value, positions)
        return [syntax.assign(fresh, stmt.value), syntax.assign(self.tangent(name), tangent), syntax.assign(name, syntax.name(fresh))]

    def tangent_expr(self, result: str, value, positions) -> tuple[bool, gast.AST]:
        """(whether it reads the result, the tangent of `result = value`)."""
        if isinstance(value, gast.Name):
            return False, self.tangent_of(value)
        if isinstance(value, gast.Subscript):
            return False, syntax.subscript(self.tangent_of(value.value), syntax.clone(value.slice))
        if isinstance(value, gast.Tuple):
            return False, syntax.tuple_([self.tangent_of(e) for e in value.elts])
        rule = op_rule(value) or getattr(value, "srcgrad_rule", None)
        check_arguments(rule, value, "forward", self.location)
        if isinstance(rule, ElementwiseRule):
            return self._elementwise(rule, result, value, positions)
        if isinstance(rule, LinearRule):
            args = [self.tangent_of(a) if k in rule.linear_args else syntax.clone(a) for k, a in enumerate(value.args)]
            call = syntax.call(syntax.clone(value.func), *args)
            call.keywords = [syntax.clone(k) for k in value.keywords]
            return False, call
        if isinstance(rule, BilinearRule):
            terms = []
            for k in positions:
                args = [self.tangent_of(a) if j == k else syntax.clone(a) for j, a in enumerate(operands(value))]
                terms.append(syntax.call(syntax.clone(value.func), *args) if isinstance(value, gast.Call)
                             else syntax.binop(args[0], "@", args[1]))
            return False, _sum(terms)
        if isinstance(rule, StructuralRule):
            return rule.forward(self, result, value, positions)
        raise AssertionError(f"no forward rule for {syntax.names_in(value)}")

    def _elementwise(self, rule, result, value, positions):
        bindings = elementwise_bindings(rule, value, result)
        uses_result = any(rule.partials.uses("ans", k) for k in positions)
        terms = [times(rule.partials.instantiate(bindings, k), self.tangent_of(operands(value)[k])) for k in positions]
        tangent = _sum(terms)
        if self._aliases_operand(tangent, value):
            tangent = syntax.call("np.copy", tangent)
        if self._may_be_smaller(tangent, value):
            # numpy broadcast an inactive operand up: the tangent must have the result's shape
            return True, syntax.call("broadcast_like", tangent, syntax.name(result))
        return uses_result, tangent

    def _array_operands(self, value) -> list:
        return [a for a in operands(value) if isinstance(a, gast.Name)
                and (K.is_array(self.kinds.get(a.id)) or self.kinds.get(a.id, K.UNKNOWN) == K.UNKNOWN)]

    def _may_be_smaller(self, tangent, value) -> bool:
        """Whether the tangent expression may have fewer elements than the operation's result:
        it leaves out an array operand that numpy broadcasts against the ones it mentions."""
        if K.is_scalar(self._result_kind):
            return False
        mentioned = syntax.names_in(tangent)
        return any(a.id not in mentioned and self.tangents.get(a.id) not in mentioned
                   for a in self._array_operands(value))

    def _aliases_operand(self, tangent, value) -> bool:
        """`y = x + 1.0` makes a new array but its tangent is `dx` itself: copy it when the
        function writes into arrays, which could otherwise change both tangents at once."""
        if not (isinstance(tangent, gast.Name) and not K.is_scalar(self._result_kind) and self.mutated):
            return False
        return any(isinstance(a, gast.Name) and self.tangents.get(a.id) == tangent.id
                   and not K.is_scalar(self.kinds.get(a.id, K.UNKNOWN)) for a in operands(value))

    def _element_write(self, stmt, target, value) -> list:
        array = syntax.base_name(target)
        if array not in self.active:
            return [stmt]
        write = syntax.assign(syntax.subscript(syntax.name(self.tangent(array)), syntax.clone(target.slice), store=True),
                              self.tangent_of(value))
        return [stmt, write]

    def _unpack(self, stmt, target, value) -> list:
        if isinstance(value, gast.Call) and getattr(value, "srcgrad_user", None) is not None:
            return self._user_call(stmt, target, value)
        names = [e.id for e in target.elts]
        if not any(n in self.active for n in names):
            return [stmt]
        tangents = syntax.tuple_([syntax.name(self.tangent(n), store=True) for n in names], store=True)
        if isinstance(value, gast.Name) and value.id in self.active:   # a tuple's parts, an array's rows
            return [stmt, syntax.assign(tangents, syntax.name(self.tangent(value.id)))]
        if not (syntax.is_atom(value) and not (isinstance(value, gast.Name) and value.id in self.active)):
            raise AssertionError(f"unpacking from a value that is not an atom: {syntax.fingerprint(value)}")
        return [stmt] + [z for n in names if n in self.active for z in self._zero_tangent(n)]

    def _user_call(self, stmt, target, call) -> list:
        positions = active_operands(call, self.active)
        targets = [target] if isinstance(target, gast.Name) else list(target.elts)
        names = [t.id for t in targets]
        if not positions:
            primal = [stmt]
            primal.extend(z for n in names if n in self.active for z in self._zero_tangent(n))
            call.func = syntax.name(self.callee(call, []))
            return primal
        function = self.callee(call, positions)
        args = [syntax.clone(a) for a in call.args] + [self.tangent_of(call.args[k]) for k in positions]
        values = syntax.as_store(target)
        tangent_names = [syntax.name(self.tangent(n), store=True) for n in names]
        tangents = tangent_names[0] if isinstance(target, gast.Name) else syntax.tuple_(tangent_names, store=True)
        return [syntax.assign(syntax.tuple_([values, tangents], store=True), syntax.call(function, *args))]


def _sum(terms: list) -> gast.AST:
    total = terms[0]
    for term in terms[1:]:
        if isinstance(term, gast.UnaryOp) and isinstance(term.op, gast.USub):
            total = syntax.binop(total, "-", term.operand)
        else:
            total = syntax.binop(total, "+", term)
    return total

