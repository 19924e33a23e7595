"""What reverse mode cannot yet do correctly is refused with a clear error, never answered wrongly;
and numba and Python backends compute the same numbers."""
import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import pass_functions as pf
import srcgrad
from corpus import CORPUS_BY_NAME


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_slice_writes_into_an_older_array_inside_a_loop(backend):
    u = np.linspace(0.0, 1.0, 6)
    eps = 1e-6
    numeric = (pf.heat_in_place(u, 0.1 + eps, 3) - pf.heat_in_place(u, 0.1 - eps, 3)) / (2 * eps)
    assert np.isclose(srcgrad.grad(pf.heat_in_place, wrt=1, backend=backend)(u, 0.1, 3), numeric, rtol=1e-6)
    value, tangent = srcgrad.jvp(pf.heat_in_place, wrt=1, backend=backend)(u, 0.1, 3, 1.0)
    assert np.isclose(tangent, numeric, rtol=1e-6)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_tuple_valued_variables_in_both_modes(backend):
    a, b = 1.5, 0.5
    ga, gb = srcgrad.grad(pf.tuple_variable, wrt=(0, 1), backend=backend)(a, b)
    assert np.isclose(ga, b * (a + b) + a * b) and np.isclose(gb, a * (a + b) + a * b)   # d(ab(a+b))
    assert np.isclose(srcgrad.jvp(pf.tuple_variable, backend=backend)(a, b, 1.0)[1], b * (a + b) + a * b)


@pytest.mark.parametrize("name", ["rosenbrock", "lorenz", "kepler", "recurrence", "mlp", "logsumexp",
                                  "break_continue", "nested_loops", "while_data", "row_ops"])
def test_numba_and_python_backends_agree(name):
    case = CORPUS_BY_NAME[name]
    args = case.args()
    wrt = case.wrt if isinstance(case.wrt, tuple) else (case.wrt,)
    for make in (srcgrad.vjp, srcgrad.jvp):
        compiled, interpreted = make(case.fn, wrt=case.wrt), make(case.fn, wrt=case.wrt, backend="python")
        extra = ((1.0 if np.ndim(case.fn(*args)) == 0 else np.ones_like(case.fn(*args))),) if make is srcgrad.vjp else \
            tuple(np.ones_like(args[w]) if isinstance(args[w], np.ndarray) else 1.0 for w in wrt)
        a, b = compiled(*args, *extra), interpreted(*args, *extra)
        np.testing.assert_allclose(gradcheck.flatten(a), gradcheck.flatten(b), rtol=1e-12, atol=1e-12)


def test_sum_over_one_axis_spreads_the_cotangent_along_that_axis():
    A, w = np.arange(12.0).reshape(3, 4) / 10, np.array([1.0, -2.0, 0.5])
    for backend in ("numba", "python"):
        dA, dw = srcgrad.grad(pf.weighted_row_norms, wrt=(0, 1), backend=backend)(A, w)
        np.testing.assert_allclose(dA, 2 * A * w[:, None] + 2 * np.sum(A, 0)[None, :], rtol=1e-12)
        np.testing.assert_allclose(dw, np.sum(A * A, axis=1), rtol=1e-12)


def test_max_along_an_axis_sends_each_cotangent_to_its_lines_peak():
    A = np.array([[0.5, 2.0, -1.0], [1.5, 0.0, 3.0]])
    for backend in ("numba", "python"):
        np.testing.assert_allclose(srcgrad.grad(pf.column_peaks, backend=backend)(A), [[0, 2, 0], [1, 0, 3]])


def test_a_reduction_over_a_tuple_of_axes_reduces_one_axis_after_another():
    """np.max over both axes (refused before): the cotangent goes to the peak, in both modes."""
    A = np.arange(6.0).reshape(2, 3)
    peak = np.zeros_like(A)
    peak[1, 2] = 1.0
    for backend in ("numba", "python"):
        np.testing.assert_array_equal(srcgrad.grad(pf.peak_over_both_axes, backend=backend)(A), peak)
        assert srcgrad.jvp(pf.peak_over_both_axes, backend=backend)(A, np.arange(6.0).reshape(2, 3) * 0.5)[1] == 2.5


def test_writes_through_aliases_are_refused():
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match="shares memory with the array `y`"):
        srcgrad.grad(pf.writes_through_alias, backend="python")(np.linspace(0.5, 1.5, 4))


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_write_into_an_argument_is_differentiated_and_kept(backend):
    # f(x) = 4 x0^2 + sum_{i>0} x_i^2, and f leaves x[0] doubled in the caller's array
    x0 = np.linspace(0.5, 1.5, 4)
    expected = 2.0 * x0 * np.array([4.0, 1.0, 1.0, 1.0])
    for make in (srcgrad.grad, srcgrad.value_and_grad):
        x = x0.copy()
        result = make(pf.writes_into_argument, backend=backend)(x)
        np.testing.assert_allclose(result if make is srcgrad.grad else result[1], expected)
        np.testing.assert_allclose(x, x0 * np.array([2.0, 1.0, 1.0, 1.0]))
    x = x0.copy()
    _, tangent = srcgrad.jvp(pf.writes_into_argument, backend=backend)(x, np.ones(4))
    assert tangent == pytest.approx(np.sum(expected))
    np.testing.assert_allclose(x, x0 * np.array([2.0, 1.0, 1.0, 1.0]))


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_jacobians_of_a_function_that_writes_into_its_argument(backend):
    # each pass starts from the caller's values; the caller's array changes as one call of f changes it
    x0 = np.array([1.0, 2.0, 3.0])
    for make in (srcgrad.jacrev, srcgrad.jacfwd):
        x = x0.copy()
        J = make(pf.doubles_first_then_squares, backend=backend)(x)
        np.testing.assert_allclose(J, np.diag([8.0, 4.0, 6.0]))
        np.testing.assert_allclose(x, [2.0, 2.0, 3.0])
