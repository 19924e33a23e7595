"""The primitive registry: one record per primitive, holding every fact the compiler needs about it.

A record says how to differentiate the primitive (its kind of entry, below) and, beside that:
- `kind`: its result kind from its argument kinds (a function from rules/results.py);
- `expensive`: far costlier than arithmetic (reverse mode stores it, vector mode shares it);
- `result`: "new" (a fresh array), "constant" (a fresh array of constants, zero derivative),
  "view" (may share memory with its first argument) or "value" (anything else);
- `options`: which extra arguments and keywords its derivative honours (others are refused);
- `fuse`: how scalarize may fold it into an element loop ("elementwise", "sum", "mean", "dot");
- `methods`: array methods that mean the same (`x.sum()`);
- `samples`: argument kinds on which the tests check `kind` against what numpy returns.
- `ranks`: per operand, the argument ranks it computes NumPy's result for (a composite of 3-vectors).
- `spelling`: what generated code calls instead of the primitive's name (a runtime helper, where
  numba lacks the call or compiles it slowly); `along_spelling`: the same for a call that names
  an axis (np.sum's `sum_along`: numba's own sum along an axis compiles 1.3 s of string code);
- `shape_from` and `measures`: what the result's shape is made from, and which arguments the call
  reads only for their shape (shapes.py, dataflow).

Kinds of entry:
- ElementwiseRule: the partial derivatives, one template expression per argument. Forward mode
  emits `dy = sum(partial_i * dx_i)`, reverse mode emits `x_i_bar += partial_i * y_bar`.
- LinearRule: a map linear in some arguments. Forward mode applies the same call to the tangents;
  the entry gives, beside it, the transpose for each linear argument, which reverse mode emits.
- BilinearRule: a product (dot, outer); the transpose for each factor.
- StructuralRule: an op (reductions that select, concatenation, ...) whose forward and reverse
  code are written as two small generators side by side.
- CompositeRule: a plain-Python implementation from other primitives (np.var), differentiated
  like a user function (rules/composite.py).
- InactiveRule: a call whose result has zero derivative (shapes, integer rounding, constructors).
"""
from __future__ import annotations

import builtins
import inspect
import math
import types
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.special
import srcgrad_runtime

from .. import syntax
from ..errors import DuplicateRuleError, SrcgradError
from ..frontend.parse import python_function
from . import results
from .template import CallTemplate, Template, single_return


@dataclass(frozen=True)
class Options:
    """The arguments a primitive's derivative honours beyond its operands."""

    positional: int | None = None           # most positional arguments (None: the operands only)
    keywords: frozenset = frozenset()        # keyword options honoured in both modes
    forward_any: bool = False                # forward mode applies the same call to tangents, options and all

    def problem(self, call, mode: str, operands: int) -> str | None:
        """What a derivative of `call` would ignore, or None when every option is honoured."""
        if mode == "forward" and self.forward_any:
            return None
        limit = operands if self.positional is None else self.positional
        extra = [k.arg for k in call.keywords if k.arg not in self.keywords]
        if extra:
            return ", ".join(f"{name}=" for name in extra)
        if len(call.args) > limit:
            return "an extra positional argument"
        return None


@dataclass
class Rule:
    name: str                                # canonical spelling, e.g. "np.sin"
    kind: Callable | None = None             # argument kinds -> result kind
    spelling: str = ""                       # what generated code calls, when not `name` (a runtime helper)
    along_spelling: str = ""                 # what it calls when the call names an axis (a runtime helper)
    domain: tuple = ()                       # valid input ranges per argument, for the rule tests
    expensive: bool = False
    result: str = "value"
    options: Options = Options()
    fuse: str = ""
    methods: tuple = ()
    samples: tuple = ()
    along: Callable | None = None     # (x, axis) -> the same along one axis, in Python, for calls with axis=
    repeated_by: str = ""             # the option applying the primitive that many times (np.diff's n)
    ranks: tuple = ()                 # per operand, the ranks it serves (None: any); others are refused
    shape_from: str = ""              # the result's shape: "sizes", the first argument's value (np.zeros(n));
                                      # "like", the first argument's shape (np.zeros_like(a), np.copy(a))
    measures: tuple = ()              # argument positions of which the call reads only the shape (len(a))

    @property
    def emitted(self) -> str:
        return self.spelling or self.name

    def emitted_for(self, call) -> str:
        """What generated code calls for `call`: `along_spelling` where it names an axis."""
        named_axis = results.keyword(call, "axis", 1) is not None
        return self.along_spelling if self.along_spelling and named_axis else self.emitted

    def result_kind(self, arg_kinds: list, call) -> object:
        return self.kind(arg_kinds, call)

    def refused_options(self, call, mode: str) -> str | None:
        """The options of `call` this rule's derivative would ignore in `mode`, or None."""
        return self.options.problem(call, mode, self.operand_count())

    def operand_count(self) -> int:
        return 1


@dataclass
class ElementwiseRule(Rule):
    partials: Template | CallTemplate | None = None

    def operand_count(self) -> int:
        return len(self.partials.params)


@dataclass
class LinearRule(Rule):
    linear_args: tuple = (0,)
    transposes: dict = field(default_factory=dict)   # arg index -> Template(g, *args, ans)
    broadcasts: bool = False     # operands broadcast to the result: transposes are result-shaped
    spread: str = ""             # with axis=: "sum" or "mean" spreads the cotangent back along it

    def operand_count(self) -> int:
        return len(next(iter(self.transposes.values())).params) - 1


@dataclass
class BilinearRule(Rule):
    transposes: dict = field(default_factory=dict)   # arg index -> Template(g, a, b)

    def operand_count(self) -> int:
        return 2


@dataclass
class CompositeRule(Rule):
    """A primitive written in plain Python from other primitives (np.var from np.mean): srcgrad
    differentiates the implementation as it does a user function, so there is no derivative here."""
    implementation: Callable | None = None
    specialize: Callable | None = None   # (call) -> (implementation, operands), when constants pick the code

    def operand_count(self) -> int:
        return len(inspect.signature(self.implementation).parameters)


@dataclass
class StructuralRule(Rule):
    forward: Callable | None = None   # (emit context) -> statements
    reverse: Callable | None = None


@dataclass
class ByKindRule(Rule):
    """A builder that is one of the other primitives, which one depending on its pieces' kinds
    (np.hstack: np.concatenate of vectors, along axis 1 of matrices). Per signature, once kinds
    are known, each call becomes a call of the chosen primitive; no transform sees it."""
    choose: Callable | None = None    # (kinds of the pieces) -> (path of the primitive, keyword constants)

    def operand_count(self) -> int:
        return 1


@dataclass
class InactiveRule(Rule):
    # False when the result does depend smoothly on its arguments (np.arange's start and step):
    # then an argument that carries a derivative is refused instead of silently dropped
    zero_derivative: bool = True
    advice: str = "build the values another way (for np.arange: start + step * np.arange(n))."

    def refused_options(self, call, mode: str) -> str | None:
        return None   # no derivative to get wrong


_RULES: dict = {}        # key: the callable object, or an "op:+" string for an operator


def _key(obj):
    return obj if isinstance(obj, str) else ("obj", id(obj))


def register(obj, rule: Rule) -> Rule:
    """Register `rule` for the callable `obj` (or an "op:" key); twice is an error."""
    key = _key(obj)
    if key in _RULES:
        raise DuplicateRuleError(f"a derivative rule for {rule.name} is already registered "
                                 f"(as {_RULES[key][1].name}); each primitive has exactly one rule")
    if rule.kind is None:
        raise SrcgradError(f"the rule for {rule.name} has no result kind: pass kind= (see srcgrad/rules/results.py)")
    for name in rule.methods:
        if method(name) not in (None, rule):
            raise DuplicateRuleError(f"the array method .{name}() already means {method(name).name}")
    _RULES[key] = (obj, rule)
    return rule


_CONSTANT_ONLY: dict = {}


def constant_only(obj) -> Rule | None:
    """A record for a `math` function or numpy ufunc that has no derivative rule: it may be called on
    values that carry no derivative (`math.lgamma(0.5 * n)` in a normalizing constant), and an
    argument that does carry one is refused, naming how to register the rule. None for anything else."""
    name = getattr(obj, "__name__", "")
    if isinstance(obj, np.ufunc) and getattr(np, name, None) is obj:
        spelling, kind = f"np.{name}", results.float_broadcast
    elif isinstance(obj, types.BuiltinFunctionType) and getattr(math, name, None) is obj:
        spelling, kind = f"math.{name}", results.math_float
    else:
        return None
    if spelling not in _CONSTANT_ONLY:
        _CONSTANT_ONLY[spelling] = InactiveRule(
            name=spelling, kind=kind, zero_derivative=False,
            advice=f"it has no derivative rule. If its argument should carry a derivative, register "
                   f"the partial derivatives: `srcgrad.rules.register_elementwise({spelling}, partials)`.")
    return _CONSTANT_ONLY[spelling]


_OPAQUE: dict = {}
_NUMPY_NAMESPACES = ("", "linalg.", "fft.")


def opaque_numpy(obj, advice: str) -> Rule | None:
    """A record for a NumPy function that has no rule (np.linalg.eigh, np.fft.fft): called as it is
    on values that carry no derivative, refused with `advice` when an argument carries one. Its
    result kind is read from a call on sample arguments of the call's kinds. None when no `np.`
    path spells the function, so generated code could not call it."""
    name = getattr(obj, "__name__", "")
    path = next((f"np.{space}{name}" for space in _NUMPY_NAMESPACES
                 if _numpy_attribute(f"{space}{name}") is obj), None)
    if path is None:
        return None
    if path not in _OPAQUE:
        _OPAQUE[path] = InactiveRule(name=path, kind=results.sampled(obj), zero_derivative=False, advice=advice)
    return _OPAQUE[path]


def _numpy_attribute(path: str):
    obj = np
    for part in path.split("."):
        obj = getattr(obj, part, None)
    return obj


def lookup(obj) -> Rule | None:
    entry = _RULES.get(_key(obj))
    return entry[1] if entry else None


def all_rules() -> list[tuple[object, Rule]]:
    return list(_RULES.values())


def method(name: str) -> Rule | None:
    """The rule of the numpy function that the array method `name` (`sum`, `T`...) means."""
    return next((rule for _, rule in _RULES.values() if name in rule.methods), None)


_MODULES = {"np": np, "math": math, "scipy": scipy, "srcgrad_runtime": srcgrad_runtime}


def resolve_path(path: str):
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


def _elementwise_kind(path: str):
    """Default result kind of an elementwise primitive: math.* give floats, numpy broadcasts."""
    return results.math_float if path.startswith("math.") else results.float_broadcast


def elementwise(*paths: str, domain: tuple = (), kind: Callable | None = None, fuse: str | None = None, **facts):
    """Decorator: `partials(x, y, ..., ans)` returns one partial derivative per argument. NumPy's
    ufuncs fuse into element loops; `fuse="elementwise"` says so of another elementwise function."""
    def wrap(fn):
        template = Template(fn)
        for path in paths:
            obj = resolve_path(path)
            fused = fuse if fuse is not None else "elementwise" if isinstance(obj, np.ufunc) else ""
            register(obj, ElementwiseRule(name=path, domain=domain, partials=template,
                                          kind=kind or _elementwise_kind(path), fuse=fused, **facts))
        return fn
    return wrap


def linear(*paths: str, linear_args: tuple = (0,), **facts):
    """Decorator: the function returns, per linear argument, its transpose applied to `g`."""
    def wrap(fn):
        template = Template(fn)
        transposes = {arg: _Indexed(template, k) for k, arg in enumerate(linear_args)}
        for k, path in enumerate(paths):
            register(resolve_path(path), LinearRule(name=path, linear_args=linear_args, transposes=transposes,
                                                    **_first_only(facts, k)))
        return fn
    return wrap


def bilinear(*paths: str, **facts):
    """Decorator: the function returns the transposes `(a_bar, b_bar)` applied to `g`."""
    def wrap(fn):
        template = Template(fn)
        transposes = {0: _Indexed(template, 0), 1: _Indexed(template, 1)}
        for k, path in enumerate(paths):
            register(resolve_path(path), BilinearRule(name=path, transposes=transposes, **_first_only(facts, k)))
        return fn
    return wrap


def alias(obj, path: str) -> None:
    """Register `obj` under the rule already registered for `path` (same math, other spelling)."""
    register(obj, lookup(resolve_path(path)))


def structural(*paths: str, forward: Callable, reverse: Callable, **facts):
    for k, path in enumerate(paths):
        register(resolve_path(path), StructuralRule(name=path, forward=forward, reverse=reverse, **_first_only(facts, k)))


def by_kind(path: str, **facts):
    register(resolve_path(path), ByKindRule(name=path, **facts))


def inactive(*paths: str, **facts):
    for k, path in enumerate(paths):
        register(resolve_path(path), InactiveRule(name=path, **_first_only(facts, k)))


def _first_only(facts: dict, position: int) -> dict:
    """An array method means one function: the first path a decorator names gets `methods`."""
    return facts if position == 0 else {k: v for k, v in facts.items() if k != "methods"}


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
    node = syntax.call(path, *args)
    node.srcgrad_rule = lookup(resolve_path(path))
    return node


# ----- rules users register ---------------------------------------------------------------

def register_elementwise(fn, partials, name: str | None = None, domain: tuple = (), check: bool = True) -> Rule:
    """Register your own elementwise function (one numba can compile, e.g. an ``@njit`` function).

    Parameters
    ----------
    fn : callable
        The function user code calls, such as ``softplus(x)``: a Python function (srcgrad compiles
        it with numba), an ``@njit`` function, or a math/numpy function numba supports.
    partials : callable
        Takes fn's parameters and returns one partial derivative per parameter (a tuple when there
        are several). A ``def`` whose body is one ``return`` of math on its parameters, ``np``,
        ``math`` and ``ans`` (fn's result) is written into the generated code as math, e.g.
        ``def softplus_partials(x): return 1.0 / (1.0 + np.exp(-x))``; any other callable numba
        can compile (a lambda, a longer def, an ``@njit`` function) is called from it.
    name : str, optional
        The name generated code calls fn by (default: ``fn.__name__``).
    domain : tuple of (low, high), optional
        Valid input range per parameter, used by the check below (default: (0.2, 1.8) each).
    check : bool
        Compare the partials with central differences of fn at a few points of the domain now,
        and refuse the rule when they disagree (pass False for a deliberate subgradient).
    """
    spelling = name or getattr(fn, "__name__", "user_function")
    count = _arity(fn, partials)
    template = _partials_template(partials, spelling, count)
    if check:
        _check_partials(fn, partials, count, domain or ((0.2, 1.8),) * count, spelling)
    rule = ElementwiseRule(name=spelling, domain=domain, partials=template, kind=results.float_broadcast)
    rule.function = _numba_callable(fn)
    return register(fn, rule)


def _arity(fn, partials) -> int:
    """How many arguments fn takes: a ufunc's inputs, a function's parameters, else the partials'."""
    if isinstance(fn, np.ufunc):
        return fn.nin
    for candidate in (python_function(fn), partials):
        try:
            return len(inspect.signature(candidate).parameters)
        except (TypeError, ValueError):
            continue
    return 1


def _partials_template(partials, spelling: str, count: int):
    """Inline math when `partials` is one return of math on what generated code can name; else a call."""
    returned = single_return(partials)
    if returned is not None:
        allowed = set(inspect.signature(partials).parameters) | {"np", "math", "M", "ans"}
        if syntax.names_in(returned) <= allowed:
            return Template(partials)
    return CallTemplate(_numba_callable(partials), f"{spelling}_partials", count)


def _numba_callable(fn):
    """What generated code binds for `fn`: numba dispatchers and builtins as they are, plain Python
    functions (lambdas too) compiled with numba when first called."""
    import numba
    if isinstance(fn, types.FunctionType):
        return numba.njit(fn)
    return fn


def _check_partials(fn, partials, count: int, domain: tuple, spelling: str) -> None:
    """Central differences of fn against `partials` at three points of the domain."""
    for fraction in (0.3, 0.55, 0.8):
        point = [low + fraction * (high - low) for low, high in domain]
        try:
            given = partials(*point)
            given = tuple(given) if isinstance(given, (tuple, list)) else (given,)
            float(fn(*point))
        except Exception as exc:
            raise SrcgradError(f"register_elementwise({spelling}): calling it or its partials at {point} failed "
                               f"({type(exc).__name__}: {exc}); pass domain= with ranges where both are defined") from None
        if len(given) != count:
            raise SrcgradError(f"register_elementwise({spelling}): the partials return {len(given)} value(s), "
                               f"but {spelling} takes {count} argument(s): return one partial per argument")
        for k in range(count):
            numeric = _central_difference(fn, point, k)
            if not math.isclose(float(given[k]), numeric, rel_tol=1e-4, abs_tol=1e-6):
                raise SrcgradError(
                    f"register_elementwise({spelling}): the partial derivative for argument {k} is "
                    f"{float(given[k])!r} at {point}, but central differences of {spelling} give {numeric!r}. "
                    "Fix the partials, pass domain= if this point is outside where they hold, or "
                    "check=False for a deliberate subgradient.")


def _central_difference(fn, point: list, k: int) -> float:
    h = 1e-6 * max(1.0, abs(point[k]))
    up, down = list(point), list(point)
    up[k] += h
    down[k] -= h
    return (float(fn(*up)) - float(fn(*down))) / (2 * h)
