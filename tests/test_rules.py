"""Every registered rule against central finite differences on its valid domain (hypothesis inputs).

Each elementwise rule is called from a one-line generated module, so the rule goes through the
whole pipeline: forward mode checks the tangent, reverse mode the gradient, both against the
numeric derivative, and the registry refuses a second registration.
"""
import importlib
import math
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import srcgrad
from srcgrad.errors import DuplicateRuleError
from srcgrad.rules import registry
from srcgrad.rules.registry import ElementwiseRule

ELEMENTWISE = sorted({(obj if isinstance(obj, str) else rule.name): rule for obj, rule in registry.all_rules()
                      if isinstance(rule, ElementwiseRule) and rule.domain}.items())
OPERATORS = {"op:+": "a + b", "op:-": "a - b", "op:*": "a * b", "op:/": "a / b", "op:**": "a ** b",
             "op:%": "a % b", "op:unary-": "-a", "op:unary+": "+a"}


def _expression(name: str, arity: int) -> str:
    if name in OPERATORS:
        return OPERATORS[name]
    return f"{name}({', '.join('abc'[:arity])})"


@pytest.fixture(scope="module")
def rule_module(tmp_path_factory):
    """One module with a function per rule, written to a real file so srcgrad can read its source."""
    directory = tmp_path_factory.mktemp("rules")
    lines = ["import math", "import numpy as np", "import scipy.special", ""]
    for k, (name, rule) in enumerate(ELEMENTWISE):
        arity = len(rule.partials.params)
        lines += [f"def rule_{k}({', '.join('abc'[:arity])}):", f"    return {_expression(name, arity)}", ""]
    (directory / "rule_functions.py").write_text("\n".join(lines))
    sys.path.insert(0, str(directory))
    yield importlib.import_module("rule_functions")
    sys.path.remove(str(directory))


def _inside(domain, fractions):
    return [lo + (hi - lo) * f for (lo, hi), f in zip(domain, fractions)]


def _numeric_partials(fn, args, eps=1e-6):
    out = []
    for k in range(len(args)):
        up, down = list(args), list(args)
        up[k] += eps
        down[k] -= eps
        out.append((fn(*up) - fn(*down)) / (2 * eps))
    return out


def _one_sided(fn, args, eps):
    out = []
    for k in range(len(args)):
        moved = list(args)
        moved[k] += eps
        out.append((fn(*moved) - fn(*args)) / eps)
    return out


def _smooth_at(fn, args) -> bool:
    """A kink (max at a tie, clip at a bound) has no derivative: one-sided differences disagree there."""
    return np.allclose(_one_sided(fn, args, 1e-5), _one_sided(fn, args, -1e-5), rtol=1e-3, atol=1e-3)


def _check_rule(fn, domain, fractions, backend):
    args = _inside(domain, fractions)
    wrt = tuple(range(len(args)))
    expected = _numeric_partials(fn, args)
    assert _smooth_at(fn, args), f"the fixed check point {args} is at a kink"
    for k in wrt:
        tangents = [1.0 if j == k else 0.0 for j in wrt]
        value, tangent = srcgrad.jvp(fn, wrt=wrt, backend=backend)(*args, *tangents)
        assert math.isclose(value, fn(*args), rel_tol=1e-12, abs_tol=1e-12)
        assert math.isclose(tangent, expected[k], rel_tol=1e-5, abs_tol=1e-6), (k, tangent, expected[k])
    grads = srcgrad.grad(fn, wrt=wrt, backend=backend)(*args)
    np.testing.assert_allclose(grads, expected, rtol=1e-5, atol=1e-6)


FRACTIONS = st.lists(st.floats(0.05, 0.95), min_size=3, max_size=3)


@pytest.mark.parametrize("index", range(len(ELEMENTWISE)), ids=[name for name, _ in ELEMENTWISE])
@settings(max_examples=15, deadline=None)
@given(fractions=FRACTIONS)
def test_rule_matches_finite_differences(rule_module, index, fractions):
    name, rule = ELEMENTWISE[index]
    fn = getattr(rule_module, f"rule_{index}")
    assume(_smooth_at(fn, _inside(rule.domain, fractions)))
    _check_rule(fn, rule.domain, fractions, "python")


@pytest.mark.parametrize("index", range(len(ELEMENTWISE)), ids=[name for name, _ in ELEMENTWISE])
def test_rule_compiles_with_numba(rule_module, index):
    """Also on floats where numba's own function takes arrays only (np.clip)."""
    name, rule = ELEMENTWISE[index]
    _check_rule(getattr(rule_module, f"rule_{index}"), rule.domain, [0.37, 0.61, 0.52], "numba")


def test_every_elementwise_rule_is_tested():
    assert len(ELEMENTWISE) >= 40
    names = {name for name, _ in ELEMENTWISE}
    assert {"math.sin", "np.arctan2", "op:**", "np.clip", "max", "abs"} <= names


def test_registering_a_primitive_twice_is_an_error():
    with pytest.raises(DuplicateRuleError, match="already registered"):
        registry.register(math.sin, ElementwiseRule(name="math.sin"))
