"""Calls of a derivative again with arguments of the same kinds: looked up by a cheap signature,
and for grad / value_and_grad straight into the generated code once a first call checked them."""
import numpy as np
import pytest

import gradcheck
import srcgrad


def weighted_energy(x, w, scale):
    return scale * np.sum(w * np.sin(x) ** 2) + x[0] * w[1]


def _inputs(n, layout):
    rng = np.random.default_rng(n)
    x, w = rng.normal(size=2 * n), rng.normal(size=2 * n)
    if layout == "strided":   # every other element: not C order, a view
        return x[::2], w[::2]
    return x[:n].copy(), w[:n].copy()


@pytest.mark.parametrize("api", ["grad", "value_and_grad"])
def test_repeated_calls_agree_with_finite_differences_whatever_changes_between_them(api):
    derivative = getattr(srcgrad, api)(weighted_energy, wrt=(0, 1))
    calls = [(30, "c", 1.5), (30, "c", 1.5), (30, "strided", 1.5), (30, "c", np.float32(0.5)), (5, "c", 2.0),
             (7, "c", 2.0), (5, "strided", 2.0), (30, "c", 1.5)]
    for n, layout, scale in calls:   # lengths, layouts and number types that each take their own entry
        x, w = _inputs(n, layout)
        result = derivative(x, w, scale)
        grads = result[1] if api == "value_and_grad" else result
        expected = gradcheck.numeric_jacobian(weighted_energy, (x, w, scale), wrt=(0, 1))
        np.testing.assert_allclose(np.concatenate(grads), expected.ravel(), rtol=1e-6, atol=1e-8)
        if api == "value_and_grad":
            assert np.isclose(result[0], weighted_energy(x, w, scale))


def product_sum(x, y):
    return np.sum(x * y)


def test_a_repeated_call_that_fails_raises_what_a_first_call_would():
    x, y = np.linspace(0.0, 1.0, 20), np.linspace(1.0, 2.0, 20)
    warm = srcgrad.grad(product_sum)
    np.testing.assert_allclose(warm(x, y), y)
    np.testing.assert_allclose(warm(x, y), y)   # the generated code, called directly
    longer = np.linspace(1.0, 2.0, 30)   # the same signature: lengths this long are not part of it
    with pytest.raises(ValueError) as first:
        srcgrad.grad(product_sum)(x, longer)
    with pytest.raises(ValueError) as repeated:
        warm(x, longer)
    assert type(repeated.value) is type(first.value) and str(repeated.value) == str(first.value)
