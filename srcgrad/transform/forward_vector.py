"""Vector forward mode: every tangent carries all m directions at once, for jacfwd in one pass.

After this pass `jvpv_f(*args, *tangents)` takes each differentiated argument's tangent with an
extra last axis of m directions (a float's tangent is a length-m vector, an array's has shape
(n, m)) and returns `(value, tangent)` with that axis too. Each tangent update is a loop over the
directions writing into a buffer allocated once, so a Jacobian costs one primal pass plus m cheap
tangent updates per statement, instead of m full passes.

It applies to scalar code: arithmetic and elementwise functions on floats, element reads of the
differentiated arrays and element writes into 1-D arrays the function creates, any control flow.
Code without transcendental functions to share (where m compiled passes are faster) raises
OnlyArithmetic and jacfwd runs one pass per direction; other code goes to forward_vector_arrays.py.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..errors import SrcgradError
from ..analyze import kinds as K
from ..analyze.activity import active_operands
from ..rules.registry import ElementwiseRule, InactiveRule
from .direction_locals import localize_float_tangents
from .common import allocates, is_expensive, op_rule
from .forward import ForwardTransform

class NotVectorizable(SrcgradError):
    """The function uses an operation vector mode does not handle; jacfwd then uses one pass per
    direction (never reaches the user)."""


class OnlyArithmetic(NotVectorizable):
    """Scalar code without work for the directions to share: passes per direction are faster."""


class VectorForwardTransform(ForwardTransform):
    """Forward mode over m directions at once, for scalar-style code."""

    def run(self, function_name: str) -> gast.FunctionDef:
        params = syntax.param_names(self.fn)
        for k in self.wrt:
            if self.kinds.get(params[k]) not in (K.FLOAT, "a1"):
                raise NotVectorizable(f"argument {params[k]} is neither a float nor a 1-D array")
        self._check(self.fn.body)
        if any(K.is_array(self.kinds.get(p)) for p in (set(params) & self.active) - {params[k] for k in self.wrt}):
            raise NotVectorizable("an array argument not differentiated receives differentiated values")
        if not self._shares_expensive_work():
            raise OnlyArithmetic("only arithmetic: one compiled pass per direction is faster")
        # named once the function qualifies: the array form is built with the same name generator
        self.direction, self.count = self.names.fresh("direction"), self.names.fresh("directions")
        first = params[self.wrt[0]]
        axis = 0 if self.kinds.get(first) == K.FLOAT else 1
        count = syntax.assign(self.count, syntax.subscript(
            gast.Attribute(value=syntax.name(self.tangent(first)), attr="shape", ctx=gast.Load()), syntax.const(axis)))
        differentiated = {params[k] for k in self.wrt}
        buffers = [syntax.assign(self.tangent(v), syntax.call("np.zeros", syntax.name(self.count)))
                   for v in sorted(self.active) if self.kinds.get(v) in (K.FLOAT, K.INT) and v not in differentiated]
        tangent_params = [self.tangent(params[k]) for k in self.wrt]
        body = [count] + buffers + self.block(self.fn.body)
        generated = syntax.function(function_name, params + tangent_params, body)
        localize_float_tangents(generated, self.direction, {b.targets[0].id for b in buffers})
        return generated

    # ----- which functions qualify --------------------------------------------------------
    def _check(self, stmts) -> None:
        for stmt in stmts:
            if isinstance(stmt, gast.Assign):
                self._check_assign(stmt)
            elif isinstance(stmt, gast.Return):
                value = stmt.value
                if isinstance(value, gast.Tuple) or self.kinds.get(getattr(value, "id", None), K.FLOAT) not in (K.FLOAT, K.INT, "a1"):
                    raise NotVectorizable("the function returns a tuple or an array of rank > 1")
            for block in syntax.child_blocks(stmt):
                self._check(block)

    def _check_assign(self, stmt) -> None:
        target, value = stmt.targets[0], stmt.value
        if isinstance(target, gast.Subscript):
            if syntax.base_name(target) in self.active and not K.selects_element(target, self.kinds):
                raise NotVectorizable("a slice or row write into a differentiated array")
            return
        if isinstance(target, gast.Tuple):
            if any(e.id in self.active for e in target.elts):
                raise NotVectorizable("tuple unpacking of differentiated values")
            return
        if target.id not in self.active:
            return
        kind = self.kinds.get(target.id)
        if kind == "a1" and self._is_allocation(value):
            return
        if kind not in (K.FLOAT, K.INT):
            raise NotVectorizable(f"the differentiated array variable {target.id}")
        if not active_operands(value, self.active) or isinstance(value, gast.Name):
            return
        if isinstance(value, gast.Subscript) and K.selects_element(value, self.kinds):
            return
        rule = op_rule(value) or getattr(value, "srcgrad_rule", None)
        if not isinstance(rule, (ElementwiseRule, InactiveRule)) or getattr(value, "srcgrad_user", None):
            raise NotVectorizable("an operation other than scalar arithmetic")

    def _shares_expensive_work(self) -> bool:
        """Whether the active computation calls transcendental functions, whose one evaluation all
        directions then share. Measured here: with sin/cos per step (a pendulum) one vector pass is
        2.6x faster than 4 passes; with arithmetic only (Lorenz) 6 passes beat one vector pass by 1.5x."""
        return any(isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name) and n.targets[0].id in self.active
                   and is_expensive(getattr(n.value, "srcgrad_rule", None)) for n in syntax.walk(self.fn))

    def _is_allocation(self, value) -> bool:
        return allocates(value, ("constant",))

    # ----- tangents of one direction -------------------------------------------------------
    def tangent_of(self, atom) -> gast.AST:
        """Direction `direction` of an operand's tangent; 0.0 when the operand is inactive."""
        if isinstance(atom, gast.Name) and atom.id in self.active:
            return syntax.subscript(syntax.name(self.tangent(atom.id)), syntax.name(self.direction))
        return syntax.const(0.0)

    def _each_direction(self, target, value) -> gast.For:
        write = syntax.assign(syntax.as_store(target), value)
        return syntax.for_range(self.direction, [syntax.name(self.count)], [write])

    def assign(self, stmt) -> list:
        target = stmt.targets[0]
        if isinstance(target, gast.Name) and target.id in self.active and self.kinds.get(target.id) == "a1":
            length = syntax.subscript(gast.Attribute(value=syntax.name(target.id), attr="shape", ctx=gast.Load()),
                                      syntax.const(0))
            shape = syntax.tuple_([length, syntax.name(self.count)])
            return [stmt, syntax.assign(self.tangent(target.id), syntax.call("np.zeros", shape))]
        return super().assign(stmt)

    def _differentiate(self, stmt, name, value, positions) -> list:
        # One loop over directions; each direction only reads its own components, so writing the
        # tangent before the primal statement is always right.
        _, tangent = self.tangent_expr(name, value, positions)
        if self.tangent_uses_result(value, positions):
            fresh = self.names.fresh(name + "_new")
            _, tangent = self.tangent_expr(fresh, value, positions)
            return [syntax.assign(fresh, stmt.value), self._each_direction(self._slot(name), tangent),
                    syntax.assign(name, syntax.name(fresh))]
        return [self._each_direction(self._slot(name), tangent), stmt]

    def tangent_uses_result(self, value, positions) -> bool:
        rule = op_rule(value) or getattr(value, "srcgrad_rule", None)
        return isinstance(rule, ElementwiseRule) and any(rule.partials.uses("ans", k) for k in positions)

    def tangent_expr(self, result, value, positions):
        if isinstance(value, gast.Subscript):
            parts = [syntax.clone(p) for p in syntax.index_parts(value)] + [syntax.name(self.direction)]
            return False, syntax.subscript(syntax.name(self.tangent(value.value.id)), syntax.tuple_(parts))
        return super().tangent_expr(result, value, positions)

    def _slot(self, name):
        return syntax.subscript(syntax.name(self.tangent(name)), syntax.name(self.direction))

    def _zero_tangent(self, name) -> list:
        return [self._each_direction(self._slot(name), syntax.const(0.0))]

    def _element_write(self, stmt, target, value) -> list:
        array = syntax.base_name(target)
        if array not in self.active:
            return [stmt]
        parts = [syntax.clone(p) for p in syntax.index_parts(target)] + [syntax.name(self.direction)]
        slot = syntax.subscript(syntax.name(self.tangent(array)), syntax.tuple_(parts))
        return [stmt, self._each_direction(slot, self.tangent_of(value))]

    def return_(self, stmt):
        value = stmt.value
        if isinstance(value, gast.Name) and value.id in self.active:
            return syntax.return_(syntax.tuple_([value, syntax.name(self.tangent(value.id))]))
        shape = syntax.name(self.count)
        if isinstance(value, gast.Name) and self.kinds.get(value.id) == "a1":
            length = syntax.subscript(gast.Attribute(value=syntax.name(value.id), attr="shape", ctx=gast.Load()), syntax.const(0))
            shape = syntax.tuple_([length, shape])
        return syntax.return_(syntax.tuple_([value, syntax.call("np.zeros", shape)]))
