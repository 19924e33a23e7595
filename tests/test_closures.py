"""Helpers defined inside the function that read its variables (closures), as scientists write a
model's right-hand side over its parameters: lifted out of the body with those variables as
parameters that each call passes, in both modes and on both backends, against central finite
differences; what a closure reads is its value at the call, as in Python; errors inside one name
the user's file and line."""
import inspect

import numpy as np
import pytest

from gradcheck import check_jvp, check_vjp

import srcgrad

BACKENDS = ("numba", "python")


def lotka_volterra(theta, z0):
    def rhs(z):
        return np.array([theta[0] * z[0] - theta[1] * z[0] * z[1], -theta[2] * z[1] + theta[3] * z[0] * z[1]])

    z = z0.copy()
    h = 0.05
    total = 0.0
    for _ in range(20):
        k1 = rhs(z)
        k2 = rhs(z + 0.5 * h * k1)
        k3 = rhs(z + 0.5 * h * k2)
        k4 = rhs(z + h * k3)
        z = z + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        total += z[0] * z[1]
    return total


def read_when_called(x):
    # the closure reads `scale` when it is called: 1.5 at the first call, 2.5 at the second
    scale = 1.5

    def scaled_sine(v):
        return scale * np.sin(v)

    first = scaled_sine(x)
    scale = 2.5
    return first + scaled_sine(x * x)


def writes_into_an_enclosing_array(x, k):
    # a subroutine over the enclosing work array: the writes land in `out`, as in Python
    out = np.zeros(x.shape[0])

    def relax(i):
        out[i] = k * x[i] + out[i - 1] * 0.5

    for i in range(1, x.shape[0]):
        relax(i)
    return np.sum(out ** 2)


def two_closures(x, a, b):
    def damped(v):
        return np.exp(-a * v) * v

    def forced(v):   # a closure calling another: it passes on what that one reads
        return b * np.cos(v) + 0.1 * damped(v)

    total = 0.0
    for i in range(x.shape[0]):
        total = total + damped(x[i]) * forced(x[i])
    return total


CASES = [
    (lotka_volterra, (np.array([1.1, 0.4, 0.4, 0.1]), np.array([10.0, 5.0])), (0, 1)),
    (read_when_called, (0.7,), 0),
    (writes_into_an_enclosing_array, (np.array([0.3, -0.5, 0.9, 0.2, 1.1]), 0.8), (0, 1)),
    (two_closures, (np.array([0.3, -0.5, 0.9]), 0.7, 1.3), (0, 1, 2)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn, args, wrt", CASES, ids=[fn.__name__ for fn, _, _ in CASES])
def test_closure_against_finite_differences(fn, args, wrt, backend):
    check_vjp(fn, args, wrt, backend=backend)
    check_jvp(fn, args, wrt, backend=backend)


def test_the_value_read_is_the_one_at_the_call():
    x = 0.7
    by_hand = 1.5 * np.cos(x) + 2.5 * np.cos(x * x) * 2.0 * x
    np.testing.assert_allclose(srcgrad.grad(read_when_called, backend="python")(x), by_hand, rtol=1e-12)


def closure_with_an_unsupported_call(x):
    def spectrum(v):
        return np.linalg.svd(v)[1]  # marker

    return np.sum(spectrum(np.outer(x, x)))


def test_an_error_inside_a_closure_names_its_line():
    lines, start = inspect.getsourcelines(closure_with_an_unsupported_call)
    line = start + next(k for k, text in enumerate(lines) if "# marker" in text)
    with pytest.raises(srcgrad.SrcgradError) as error:
        srcgrad.grad(closure_with_an_unsupported_call, backend="python")(np.array([0.3, 0.5]))
    assert f"test_closures.py:{line}" in str(error.value)
    assert "np.linalg.svd" in str(error.value)
