"""The elementwise functions the generator calls, read from srcgrad's rule registry with their domains.

Every elementwise rule (operators aside, which the generator writes as operators) is called on its
declared ``domain``: one (lo, hi) range per argument, the inputs the rule's own tests use. The
generator wraps an arbitrary expression into that range before passing it (``ExprGen.wrap``).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

REAL, POSITIVE, UNIT = (-2.0, 2.0), (0.1, 3.0), (-0.9, 0.9)   # the registry's common domains
GROW = "grow"   # REAL for a function that grows fast (exp, sinh, ...): its argument is squashed first
GROWING = {"exp", "exp2", "expm1", "sinh", "cosh", "rad2deg", "degrees"}
# Piecewise-constant functions (zero derivative) the generator scales into float terms.
ROUNDING = ("np.floor", "np.ceil", "np.round", "np.rint", "np.trunc", "np.sign", "math.floor", "math.ceil",
            "math.trunc", "round", "int", "bool")
# Spellings bound to another spelling's rule (registered under that name), if this Python has them.
ALIASES = {f"math.{name}": f"np.{name}" for name in ("exp2", "cbrt") if hasattr(math, name)}


@dataclass(frozen=True)
class Fn:
    spelling: str        # as written in generated code: "np.sin", "math.sin", "abs"
    domains: tuple       # per argument: a (lo, hi) range, or GROW
    arrays: bool = True  # numpy functions take arrays; math.* and builtins take scalars only


@functools.lru_cache(maxsize=None)
def elementwise() -> tuple:
    """Every registered elementwise function with a domain, plus the aliases, sorted by spelling."""
    from srcgrad.rules import registry

    rules = {rule.name: rule for _, rule in registry.all_rules()
             if isinstance(rule, registry.ElementwiseRule) and rule.domain and not rule.name.startswith("op:")}
    rules.update({alias: rules[target] for alias, target in ALIASES.items() if target in rules})
    return tuple(_fn(name, rules[name].domain) for name in sorted(rules))


@functools.lru_cache(maxsize=None)
def rounding() -> tuple:
    """The registered piecewise-constant functions."""
    from srcgrad.rules import registry

    registered = {rule.name for _, rule in registry.all_rules() if isinstance(rule, registry.InactiveRule)}
    return tuple(_fn(name, (REAL,)) for name in ROUNDING if name in registered)


def _fn(name: str, domain: tuple) -> Fn:
    base = name.rpartition(".")[2]
    domains = tuple(GROW if d == REAL and base in GROWING else tuple(d) for d in domain)
    return Fn(name, domains, arrays=name.startswith(("np.", "scipy.")))


def spellings() -> list:
    return [fn.spelling for fn in elementwise() + rounding()]
