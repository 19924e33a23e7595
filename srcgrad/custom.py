"""Custom derivative rules for user functions: `custom_vjp` and `custom_jvp`, spelled as in JAX.

A function with a custom rule is never inlined and its own source is never differentiated: its
derivatives are small Python functions written around the user's rules (in a generated module, so
that srcgrad reads them like any user function and numba compiles them with the rest):

- reverse mode, `defvjp(fwd, bwd)`: `bwd(fwd(*args)[1], out_bar)`, the cotangents of `wrt`;
- forward mode, `defjvp(jvp)`: `jvp(args, tangents)`, zeros for the arguments not differentiated;
- reverse mode with only a jvp rule: the reverse derivative of the rule's tangent output with
  respect to the tangents (linear in them, so its transpose is the vjp), as JAX does;
- forward mode with only a vjp rule: refused, as in JAX (the rule may exist because the
  function's own derivative is wrong or unwanted, e.g. gradient clipping).

The rules are plain Python (or `@njit`) that srcgrad can compile: they are differentiated in
turn when a derivative of a derivative needs it (a Hessian of code that calls the function).
"""
from __future__ import annotations

import functools
import inspect
from typing import Callable

from .errors import SrcgradError

_RULE_NAMES = {"primal", "custom_fwd", "custom_bwd", "custom_jvp_rule", "zeros_like"}


class CustomDerivative:
    """A function whose derivatives come from rules its author wrote (see `custom_vjp`)."""

    def __init__(self, fn: Callable):
        if not callable(fn):
            raise SrcgradError(f"custom_vjp/custom_jvp decorate a function, not {fn!r}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.fwd = self.bwd = self.jvp = None
        self._modules: dict = {}

    @property
    def py_func(self) -> Callable:
        """The function itself, which srcgrad reads for the values it computes (never for its derivative)."""
        return self.fn

    def __call__(self, *args):
        return self.fn(*args)

    def defvjp(self, fwd: Callable, bwd: Callable) -> "CustomDerivative":
        """Set the reverse-mode rule: ``fwd(*args) -> (output, residuals)`` and
        ``bwd(residuals, output_cotangent) -> (one cotangent per argument,)``."""
        self.fwd, self.bwd, self._modules = fwd, bwd, {}
        return self

    def defjvp(self, jvp: Callable) -> Callable:
        """Set the forward-mode rule ``jvp(primals, tangents) -> (output, output_tangent)``, both
        arguments tuples with one entry per argument; usable as a decorator."""
        self.jvp, self._modules = jvp, {}
        return jvp

    @property
    def name(self) -> str:
        return getattr(self.fn, "__name__", "custom")

    def params(self) -> list:
        parameters = list(inspect.signature(self.fn).parameters.values())
        if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) or p.default is not p.empty for p in parameters):
            raise SrcgradError(f"{self.name} has a custom derivative rule, so it must take plain positional "
                               "parameters (no defaults, *args or keywords): pass every argument at the call.")
        names = [p.name for p in parameters]
        clashes = set(names) & (_RULE_NAMES | {f"d{n}" for n in names})
        return names if not clashes else [f"arg{k}" for k in range(len(names))]

    def rules_module(self, positions: tuple = ()):
        """The generated module of the functions srcgrad differentiates in place of this one, for
        derivatives with respect to the parameters at `positions`."""
        if positions not in self._modules:
            from .emit.module import load_module
            source, constants = _rules_source(self, positions)
            self._modules[positions] = load_module(source, constants)[0]
        return self._modules[positions]

    def called(self) -> Callable:
        """`def f_called(*args): return f(*args)`: what a derivative of the function itself differentiates."""
        return getattr(self.rules_module(), f"{self.name}_called")

    def reverse_rule(self, positions: tuple) -> Callable:
        if self.fwd is None:
            raise SrcgradError(f"reverse mode needs a rule for {self.name}, which has {self._rules_named()}: add a vjp "
                               f"rule with `{self.name}.defvjp(fwd, bwd)` (or a jvp rule with `@{self.name}.defjvp`, "
                               "which reverse mode transposes).")
        return getattr(self.rules_module(positions), f"{self.name}_vjp_rule")

    def forward_rule(self, positions: tuple) -> Callable:
        self._require_jvp()
        return getattr(self.rules_module(positions), f"{self.name}_jvp_rule")

    def tangent_output(self) -> Callable:
        """`(*args, *tangents) -> the jvp rule's output tangent`, linear in the tangents."""
        self._require_jvp()
        return getattr(self.rules_module(), f"{self.name}_tangent")

    def _require_jvp(self) -> None:
        if self.jvp is None:
            raise SrcgradError(
                f"forward mode (jvp, jacfwd, derivative, hessian) needs a jvp rule for {self.name}, which has "
                f"{self._rules_named()}. The function's own derivative is not used in its place, because the rule "
                f"may exist to change it. Add one with `@{self.name}.defjvp`, or differentiate in reverse mode only.")

    def _rules_named(self) -> str:
        named = [n for n, rule in (("a vjp rule", self.fwd), ("a jvp rule", self.jvp)) if rule is not None]
        return " and ".join(named) or "no rule yet"


def custom_vjp(fn: Callable) -> CustomDerivative:
    """Give `fn` a reverse-mode rule of your own, as `jax.custom_vjp` does.

    Examples
    --------
    >>> @srcgrad.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> def clip_fwd(x):
    ...     return x, None
    >>> def clip_bwd(residuals, g):
    ...     return (np.clip(g, -1.0, 1.0),)
    >>> clip_gradient.defvjp(clip_fwd, clip_bwd)

    ``fwd`` returns the output and what ``bwd`` needs (any value: an array, a tuple, None);
    ``bwd`` returns one cotangent per argument, in a tuple. Both are plain Python that numba
    compiles. Forward mode needs a jvp rule too (`defjvp`).
    """
    return fn if isinstance(fn, CustomDerivative) else CustomDerivative(fn)


def custom_jvp(fn: Callable) -> CustomDerivative:
    """Give `fn` a forward-mode rule of your own, as `jax.custom_jvp` does: decorate the rule with
    ``@fn.defjvp``; it takes ``(primals, tangents)`` and returns ``(output, output_tangent)``.
    Reverse mode transposes the rule (it must be linear in the tangents)."""
    return fn if isinstance(fn, CustomDerivative) else CustomDerivative(fn)


def _rules_source(custom: CustomDerivative, positions: tuple) -> tuple[str, dict]:
    """The rules module's text and the functions bound into it when it loads."""
    name, params = custom.name, custom.params()
    args = ", ".join(params)
    packed = f"({args},)"
    parts = [f'"""srcgrad: the derivative rules of {custom.__module__}.{custom.__qualname__}, as functions srcgrad '
             'differentiates in its place. Generated; do not edit."""\n'
             "from srcgrad_runtime import zeros_like\n\n"
             "primal = None  # the function, bound when srcgrad loads this module\n"
             "custom_fwd = custom_bwd = custom_jvp_rule = None  # its rules, bound likewise",
             f"def {name}_called({args}):\n    return primal({args})"]
    if custom.fwd is not None and positions:
        picked = " ".join(f"cotangents[{p}]," for p in positions)
        parts.append(f"def {name}_vjp_rule({args}, out_bar):\n"
                     f"    # what the fwd rule keeps for the bwd rule, then the bwd rule's cotangents\n"
                     f"    residuals = custom_fwd({args})[1]\n"
                     f"    cotangents = custom_bwd(residuals, out_bar)\n"
                     f"    return ({picked})")
    if custom.jvp is not None and positions:
        tangents = " ".join(f"d{p}," if k in positions else f"zeros_like({p})," for k, p in enumerate(params))
        given = ", ".join(f"d{params[k]}" for k in positions)
        parts.append(f"def {name}_jvp_rule({args}, {given}):\n"
                     f"    return custom_jvp_rule({packed}, ({tangents}))")
    if custom.jvp is not None:
        all_tangents = ", ".join(f"d{p}" for p in params)
        parts.append(f"def {name}_tangent({args}, {all_tangents}):\n"
                     f"    return custom_jvp_rule({packed}, ({all_tangents},))[1]")
    constants = {"primal": custom, "custom_fwd": custom.fwd, "custom_bwd": custom.bwd, "custom_jvp_rule": custom.jvp}
    return "\n\n\n".join(parts) + "\n", {k: v for k, v in constants.items() if v is not None}


def is_custom(fn) -> bool:
    return isinstance(fn, CustomDerivative)


__all__ = ["CustomDerivative", "custom_vjp", "custom_jvp", "is_custom"]
