"""Activity: which variables depend on a differentiated input and so carry a tangent or adjoint.

Flow-insensitive: a variable is active if any assignment to it reads an active value through an
operation whose derivative is not identically zero. Conditions, shapes, integer rounding and
array constructors are never active.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..rules.registry import InactiveRule, LinearRule


def active_variables(fn: gast.FunctionDef, wrt_names: set[str]) -> set[str]:
    active = set(wrt_names)
    changed = True
    while changed:
        changed = False
        for stmt in _assignments(fn.body):
            target, value = stmt.targets[0], stmt.value
            if not is_active_expr(value, active):
                continue
            for name in _target_names(target):
                if name not in active:
                    active.add(name)
                    changed = True
    return active


def _assignments(stmts):
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            yield stmt
        for block in syntax.child_blocks(stmt):
            yield from _assignments(block)


def _target_names(target):
    if isinstance(target, gast.Name):
        return [target.id]
    if isinstance(target, gast.Tuple):
        return [e.id for e in target.elts]
    if isinstance(target, gast.Subscript):
        return [syntax.base_name(target)]
    return []


def is_active_atom(node, active: set[str]) -> bool:
    return isinstance(node, gast.Name) and node.id in active


def active_operands(node, active: set[str]) -> list[int]:
    """Positions of the operands of an ANF operation that carry derivatives into its result."""
    if isinstance(node, gast.Call):
        rule = getattr(node, "srcgrad_rule", None)
        if getattr(node, "srcgrad_user", None) is not None:
            return [k for k, a in enumerate(node.args) if is_active_atom(a, active)]
        if rule is None or isinstance(rule, InactiveRule):
            return []
        positions = range(len(node.args))
        if isinstance(rule, LinearRule):
            positions = [p for p in rule.linear_args if p < len(node.args)]
        return [k for k in positions if _arg_active(node.args[k], active)]
    if isinstance(node, gast.BinOp):
        if isinstance(node.op, gast.FloorDiv):
            return []
        return [k for k, a in enumerate((node.left, node.right)) if is_active_atom(a, active)]
    if isinstance(node, gast.UnaryOp):
        return [0] if not isinstance(node.op, gast.Not) and is_active_atom(node.operand, active) else []
    if isinstance(node, gast.Subscript):
        return [0] if is_active_atom(node.value, active) else []
    if isinstance(node, gast.Tuple):
        return [k for k, e in enumerate(node.elts) if is_active_atom(e, active)]
    if isinstance(node, gast.Name):
        return [0] if node.id in active else []
    return []


def _arg_active(arg, active):
    if isinstance(arg, (gast.Tuple, gast.List)):
        return any(is_active_atom(e, active) for e in arg.elts)
    return is_active_atom(arg, active)


def is_active_expr(node, active: set[str]) -> bool:
    return bool(active_operands(node, active))



