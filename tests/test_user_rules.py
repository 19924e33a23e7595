"""Rules users register for their own functions: inlined as math or called, and checked on
registration against central differences."""
import math

import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import srcgrad
import user_rule_functions as uf
from srcgrad.rules.registry import DuplicateRuleError
from srcgrad.rules.template import CallTemplate, Template

BACKENDS = ("numba", "python")


@pytest.fixture(scope="module", autouse=True)
def registered():
    rules = {
        "softplus": srcgrad.rules.register_elementwise(uf.softplus, uf.softplus_partials),
        "smooth_step": srcgrad.rules.register_elementwise(uf.smooth_step, uf.smooth_step_partials),
        "weighted_square": srcgrad.rules.register_elementwise(uf.weighted_square, lambda a, b: (2.0 * a * b, a * a)),
    }
    return rules


def test_one_line_partials_are_inlined_others_are_called(registered):
    assert isinstance(registered["softplus"].partials, Template)
    assert isinstance(registered["smooth_step"].partials, CallTemplate)
    assert isinstance(registered["weighted_square"].partials, CallTemplate)


@pytest.mark.parametrize("backend", BACKENDS)
def test_registered_rules_in_both_modes(backend):
    x = 0.6
    want = uf.softplus_partials(x) * x + uf.softplus(x)
    assert math.isclose(srcgrad.grad(uf.uses_softplus, backend=backend)(x), want, rel_tol=1e-12)
    assert math.isclose(srcgrad.jvp(uf.uses_softplus, backend=backend)(x, 1.0)[1], want, rel_tol=1e-12)
    v = np.array([0.2, 0.5, 0.9])
    np.testing.assert_allclose(srcgrad.grad(uf.uses_smooth_step, backend=backend)(v),
                               6.0 * v * (1.0 - v) * v + uf.smooth_step(v), rtol=1e-12)
    ga, gb = srcgrad.grad(uf.uses_weighted_square, wrt=(0, 1), backend=backend)(0.7, 1.5)
    assert math.isclose(ga, 2 * 0.7 * 1.5 + 1.0) and math.isclose(gb, 0.49)


def test_registering_twice_is_an_error():
    with pytest.raises(DuplicateRuleError):
        srcgrad.rules.register_elementwise(uf.softplus, uf.softplus_partials)


def test_wrong_partials_are_refused_at_registration():
    with pytest.raises(srcgrad.SrcgradError, match="(?s)partial derivative for argument 0.*central differences"):
        srcgrad.rules.register_elementwise(uf.cube, lambda x: 2.0 * x * x)
    with pytest.raises(srcgrad.SrcgradError, match="return one partial per argument"):
        srcgrad.rules.register_elementwise(uf.cube, lambda x: (3.0 * x * x, 1.0))


def test_check_false_accepts_a_deliberate_subgradient():
    rule = srcgrad.rules.register_elementwise(uf.cube, lambda x: 0.0, check=False)
    assert rule.name == "cube"
    assert srcgrad.grad(uf.uses_cube, backend="python")(0.5) == 1.0
