"""A row written from an elementwise expression (`err[i] = points[i] - hand_point`) is written by
scalarize's element loop directly, with no array for the expression: values, derivatives in
every mode, the cases where the loop must not write the row in place, and the row-length check."""
import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import pass_functions as pf
import srcgrad
from gradcheck import check_jvp, check_vjp
from srcgrad_runtime import UnequalLengths


def _inputs(seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=3), rng.normal(size=(4, 3)), rng.normal(size=(5, 2))


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_residual_rows_derivatives_match_finite_differences(backend):
    args = _inputs()
    check_vjp(pf.residual_rows, args, (0, 1, 2), backend=backend)
    check_jvp(pf.residual_rows, args, (0, 1, 2), backend=backend)


def test_residual_rows_are_written_by_the_element_loop():
    args = _inputs()
    jacobian = srcgrad.jacfwd(pf.residual_rows, wrt=(0, 1))
    J_x, J_V = jacobian(*args)
    step = 1e-6
    for k in range(3):
        bumped = list(args)
        bumped[0] = args[0] + step * np.eye(3)[k]
        column = (pf.residual_rows(*bumped) - pf.residual_rows(*args)) / step
        assert np.allclose(J_x[..., k], column, atol=1e-5)
    assert J_V.shape == (5, 3, 4, 3)
    gradient = srcgrad.grad(lambda x, V, u: np.sum(pf.residual_rows(x, V, u) ** 2))
    gradient(*args)
    for derivative in (gradient, jacobian):
        source = srcgrad.source(derivative)
        assert "err[i, k] = " in source, source   # the row's elements, in the loop
        assert "np.empty(n)" not in source, source   # no array for the expression


@pytest.mark.parametrize("fn", [pytest.param(pf.rows_from_rows, marks=pytest.mark.slow), pf.planes])
def test_rows_the_loop_reads_keep_numpy_values_and_derivatives(fn):
    x = np.array([0.3, -0.7, 1.1])
    value, _ = srcgrad.value_and_grad(lambda x: np.sum(fn(x, 4) ** 2))(x)
    assert np.isclose(value, np.sum(fn(x, 4) ** 2))
    check_vjp(lambda x: fn(x, 4), (x,), 0)
    check_jvp(lambda x: fn(x, 4), (x,), 0)


def test_rows_read_through_a_view_keep_numpy_values():
    """Forward mode differentiates it (reverse mode refuses the write while the view is used)."""
    x = np.array([0.3, -0.7, 1.1])
    check_jvp(lambda x: pf.rows_through_a_view(x, 4), (x,), 0)
    check_jvp(lambda x: pf.rows_through_a_view(x, 4), (x,), 0, backend="python")


def test_a_row_of_another_length_raises_before_any_write():
    def short_rows(x, V):
        err = np.zeros((V.shape[0], V.shape[1] + 1))
        for i in range(V.shape[0]):
            err[i] = x * V[i]
        return np.sum(err)

    x, V = np.ones(3), np.ones((4, 3))
    with pytest.raises(ValueError):   # numpy: could not broadcast (3,) into (4,)
        short_rows(x, V)
    for derivative in (srcgrad.grad(short_rows), srcgrad.jacfwd(short_rows)):
        with pytest.raises(UnequalLengths):
            derivative(x, V)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_row_the_loop_reads_through_a_flat_view_is_written_after_the_reads(backend):
    """Writing the row in place would read its new first element as flat[3] (-0.231, not 1.1)."""
    x = np.array([0.3, -0.7, 1.1])
    value, _ = srcgrad.jvp(pf.rows_overlapping_flat, backend=backend)(x, np.ones(3))
    assert np.allclose(value, pf.rows_overlapping_flat(x))
    check_jvp(pf.rows_overlapping_flat, (x,), 0, backend=backend)
