"""The derivative-rule registry: one entry per primitive, shared by forward and reverse mode.

Kinds of entry:
- ElementwiseRule: the partial derivatives, one template expression per argument. Forward mode
  emits `dy = sum(partial_i * dx_i)`, reverse mode emits `x_i_bar += partial_i * y_bar`.
- LinearRule: a map linear in some arguments. Forward mode applies the same call to the tangents;
  the entry gives, beside it, the transpose for each linear argument, which reverse mode emits.
- StructuralRule: an op (indexing, reductions that select, concatenation, ...) whose forward and
  reverse code are written as two small generators side by side.
- InactiveRule: a call whose result has zero derivative (shapes, integer rounding, constructors).
"""
from __future__ import annotations

import builtins
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import DuplicateRuleError
from .template import Template


@dataclass
class Rule:
    name: str                    # canonical spelling emitted in generated code, e.g. "np.sin"
    domain: tuple = ()           # valid input ranges per argument, for the rule tests


@dataclass
class ElementwiseRule(Rule):
    partials: Template | None = None


@dataclass
class LinearRule(Rule):
    linear_args: tuple = (0,)
    transposes: dict = field(default_factory=dict)   # arg index -> Template(g, *args, ans)


@dataclass
class BilinearRule(Rule):
    transposes: dict = field(default_factory=dict)   # arg index -> Template(g, a, b)


@dataclass
class StructuralRule(Rule):
    forward: Callable | None = None   # (emit context) -> statements
    reverse: Callable | None = None


@dataclass
class InactiveRule(Rule):
    pass


_RULES: dict = {}        # key: the callable object, or an "op:+" string for an operator


def _key(obj):
    return obj if isinstance(obj, str) else ("obj", id(obj))


def register(obj, rule: Rule) -> Rule:
    """Register `rule` for the callable `obj` (or an "op:" key); twice is an error."""
    key = _key(obj)
    if key in _RULES:
        raise DuplicateRuleError(f"a derivative rule for {rule.name} is already registered "
                                 f"(as {_RULES[key][1].name}); each primitive has exactly one rule")
    _RULES[key] = (obj, rule)
    return rule


def lookup(obj) -> Rule | None:
    entry = _RULES.get(_key(obj))
    return entry[1] if entry else None


def all_rules() -> list[tuple[object, Rule]]:
    return list(_RULES.values())


_MODULES = {"np": np, "math": math}


def _resolve_path(path: str):
    """The callable a rule path names: "np.sin", "math.sin", "abs"; "op:+" keys stay strings."""
    if path.startswith("op:"):
        return path
    head, _, rest = path.partition(".")
    if not rest:
        return getattr(builtins, head)
    obj = _MODULES[head]
    for part in rest.split("."):
        obj = getattr(obj, part)
    return obj


def elementwise(*paths: str, domain: tuple = ()):
    """Decorator: `partials(x, y, ..., ans)` returns one partial derivative per argument."""
    def wrap(fn):
        template = Template(fn)
        for path in paths:
            register(_resolve_path(path), ElementwiseRule(name=path, domain=domain, partials=template))
        return fn
    return wrap


def register_elementwise(fn, partials, name: str | None = None, domain: tuple = ()) -> Rule:
    """Register your own elementwise function (one numba can compile, e.g. an ``@njit`` function).

    Parameters
    ----------
    fn : callable
        The function user code calls, such as ``softplus(x)``.
    partials : function
        A ``def`` in a .py file with fn's parameters, returning one partial derivative per
        parameter (a tuple when there are several); it may use ``np``, ``math`` and ``ans``
        (fn's result), e.g. ``def softplus_partials(x): return 1.0 / (1.0 + np.exp(-x))``.
    name : str, optional
        The name generated code calls fn by (default: ``fn.__name__``).
    """
    rule = ElementwiseRule(name=name or getattr(fn, "__name__", "user_function"), domain=domain,
                           partials=Template(partials))
    rule.function = fn
    return register(fn, rule)


def linear(*paths: str, linear_args: tuple = (0,)):
    """Decorator: the function returns, per linear argument, its transpose applied to `g`."""
    def wrap(fn):
        template = Template(fn)
        transposes = {arg: _Indexed(template, k) for k, arg in enumerate(linear_args)}
        for path in paths:
            register(_resolve_path(path), LinearRule(name=path, linear_args=linear_args, transposes=transposes))
        return fn
    return wrap


def bilinear(*paths: str):
    """Decorator: the function returns the transposes `(a_bar, b_bar)` applied to `g`."""
    def wrap(fn):
        template = Template(fn)
        for path in paths:
            register(_resolve_path(path), BilinearRule(name=path, transposes={0: _Indexed(template, 0), 1: _Indexed(template, 1)}))
        return fn
    return wrap


def alias(obj, path: str) -> None:
    """Register `obj` under the rule already registered for `path` (same math, other spelling)."""
    register(obj, lookup(_resolve_path(path)))


def structural(*paths: str, forward: Callable, reverse: Callable):
    for path in paths:
        register(_resolve_path(path), StructuralRule(name=path, forward=forward, reverse=reverse))


def inactive(*paths: str):
    for path in paths:
        obj = _resolve_path(path)
        register(obj, InactiveRule(name=path))


class _Indexed:
    """One element of a template that returns a tuple."""

    def __init__(self, template: Template, index: int):
        self.template, self.index = template, index

    @property
    def params(self):
        return self.template.params

    def uses(self, param: str) -> bool:
        return self.template.uses(param, self.index)

    def instantiate(self, bindings):
        return self.template.instantiate(bindings, self.index)


def rule_call(path: str, *args):
    """A call node to a registered primitive, bound to its rule as the resolver would bind it."""
    from .. import syntax
    node = syntax.call(path, *args)
    node.srcgrad_rule = lookup(_resolve_path(path))
    return node
