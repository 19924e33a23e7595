"""np.atleast_3d, np.interp, np.tile of matrices, np.vstack of a matrix and a vector, np.squeeze,
np.diff of higher order, index arrays computed with integer arithmetic, masks combined with & and ~, np.median,
np.pad, np.convolve, np.var/np.std with ddof=, np.trapezoid with x= or dx=, np.swapaxes, np.moveaxis,
np.linalg.eigvalsh, scipy.linalg.solve_triangular, np.cross of rows:
each through forward and reverse mode on both backends, against central finite differences and
the dot-product test, at the shapes NumPy gives them; and the calls srcgrad refuses, with errors
that name the construct and the line."""
import os

import numpy as np
import pytest
import scipy.linalg

from gradcheck import check_jvp, check_vjp, dot_product_test, numeric_jacobian

import srcgrad

BACKENDS = ("numba", "python")
THIS_FILE = os.path.basename(__file__)
XP = np.array([0.0, 0.5, 1.25, 2.0])   # breakpoints of np.interp, read as a global constant


# ---------------------------------------------------------------------------- functions


def lifted_to_3d(x):
    # a float, a vector, a matrix or a 3-D array, each made 3-D and weighted by position
    y = np.atleast_3d(x)
    return np.sin(y) * np.arange(1.0, y.size + 1.0).reshape(y.shape)


def lifted_to_3d_sum(x):
    return np.sum(np.atleast_3d(x * x) ** 3)


def interpolated_at_points(x, fp):
    # x inside and outside [XP[0], XP[-1]]: the ends clamp to fp[0] and fp[-1]
    return np.interp(x, XP, fp) ** 2 + x


def interpolated_at_number(s, fp):
    return np.interp(s * s, XP, fp) * s


def interpolated_with_breakpoints(x, xp, fp):
    return np.interp(x, xp, fp)


def tiled_by_pair(A):
    return np.sin(np.tile(A, (2, 3))) * np.tile(A, 2)[0, 0]


def tiled_by_int(A, n):
    return np.tile(A * A, n)


def vector_tiled_into_matrix(x):
    return np.tile(x, (3, 2)) ** 2


def stacked_matrix_and_row(M, v):
    return np.sin(np.vstack((M, v))) + np.vstack((v, M * v, 2.0 * v))[1:]


def stacked_with_literal_row(M, s):
    return np.vstack((M, [s, s * s, 1.0]))


def squeezed(x):
    # (3, 1, 4) -> (3, 4) by the function, (3, 1) -> (3,) along a negative axis, and the method
    a = np.squeeze(x, axis=1)
    b = np.squeeze(a[:, :1], -1)
    return np.sum(np.sin(a), axis=1) * b + x.squeeze(axis=1)[:, 2]


def profile_model(T, heights, w):
    # a scientist's model: temperatures interpolated from a table, stacked with a baseline row,
    # tiled over a grid and lifted to 3-D for a broadcast against per-layer weights
    profile = np.interp(T, XP, heights)
    table = np.vstack((np.outer(profile, w), profile[:2] * 0.5))
    grid = np.tile(table, (1, 2))
    layers = np.atleast_3d(grid) * np.array([1.0, 0.5])
    return np.sum(np.tanh(layers)) + np.sum(np.squeeze(grid[:1], axis=0) ** 2)


def smoothness_penalty(y):
    # second and third differences, as a spline fit's roughness term: np.diff(y, n) is n np.diffs
    return np.sum(np.diff(y, 2) ** 2) + np.sum(np.diff(y, n=3) * y[:-3]) + np.sum(np.diff(y, 1) ** 3)


def row_curvature(M):
    return np.sum(np.sin(np.diff(M, 2)))


def piecewise_linear(knots_y, xs):
    # knots found by np.searchsorted, their neighbours by integer arithmetic on the index array:
    # `idx + 1` was typed as a float array, which no array can be indexed with
    knots_x = np.linspace(0.0, 1.0, knots_y.shape[0])
    idx = np.clip(np.searchsorted(knots_x, xs) - 1, 0, knots_y.shape[0] - 2)
    t = (xs - knots_x[idx]) / (knots_x[idx + 1] - knots_x[idx])
    return np.sum(((1.0 - t) * knots_y[idx] + t * knots_y[idx + 1] - np.sin(3.0 * xs)) ** 2)


def interleaved_products(x):
    # index arrays from np.arange and integer arithmetic: np.arange of ints was typed a float array
    even = np.arange(x.shape[0] // 2) * 2
    odd = even + 1
    return np.sum(x[even] * x[odd]) + np.sum(x[even] / (even + 1))


def laplacian_by_index(x, k):
    centers = np.arange(1, x.shape[0] - 1)
    lap = x[centers - 1] - 2.0 * x[centers] + x[centers + 1]
    return k * np.sum(lap ** 2) + np.sum(x[centers] * (centers % 3))


def band_energy(x, c):
    # comparisons of arrays combined by & and ~, and scaled by a number: arrays of bools, not a bool
    # (`(x > c) * 1.0` was typed a number, and the jvp's value came back as an array)
    above = (x > c) * 1.0
    band = (x > -0.6) & (x < 0.6)
    weights = np.where(band, 1, 0) * 2 + 1
    return np.sum(above * x ** 2) + np.sum(x[band] ** 3) + np.sum(np.where(~band, x, 0.0)) + np.sum(weights * x)


def medians(x, M):
    # np.median of an odd and an even count of elements, and of a matrix (all its elements)
    return np.median(x * x) + np.median(np.sin(x[:4])) + np.median(M) * np.sum(M)


def heat_step_with_edges(u, alpha):
    # a 2-D explicit diffusion step with zero-flux walls: the edge values repeated by np.pad
    p = np.pad(u, 1, mode="edge")
    lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4.0 * u
    return u + alpha * lap


def padded_every_way(x):
    return (np.sum(np.pad(x, (2, 1), mode="wrap") ** 3) + np.sum(np.sin(np.pad(x, 3, mode="reflect")))
            + np.sum(np.pad(x, (1, 4), "symmetric") * np.arange(1.0, x.shape[0] + 6.0))
            + np.sum(np.pad(x, 2, constant_values=0.5) ** 2))


def reflected_single_element(x):
    return np.sum(np.pad(x[:1], 2, mode="reflect") * np.arange(1.0, 6.0))   # numpy repeats the one element


def padded_per_axis(A):
    return np.cos(np.pad(A * A, ((0, 2), (1, 1)), mode="constant", constant_values=-0.25))


def smoothed(x, kernel):
    return np.convolve(x, kernel, mode="same") ** 2 + 0.1 * np.convolve(kernel, x, "valid")[0]


def convolved_full(x, kernel):
    return np.sin(np.convolve(x, kernel))


def sample_statistics(x):
    return np.var(x, ddof=1) * np.std(x, ddof=1) + x.var(ddof=0)


def integrals(y, x, dx):
    return np.trapezoid(y * y, x) + np.trapezoid(np.sin(y), dx=dx) + np.trapezoid(y, None, 0.5)


def axes_moved(x):
    T = x.reshape(2, 3, 4)
    P, Q = T.transpose(1, 0, 2), np.transpose(T, (2, 0, 1))   # permutations: swaps of axes in both modes
    return (np.sum(np.swapaxes(T, 0, 2)[1] ** 2) + np.sum(np.moveaxis(T, 0, -1)[2] ** 3) + np.sum(np.swapaxes(T, -1, 1)[0] * T[1].T)
            + np.sum(P[0] * P[2]) + np.sum(np.sin(Q[1]) * Q[3]))


def spectrum(A):
    w = np.linalg.eigvalsh(A + A.T)
    return np.sum(w ** 2) + w[-1]


def triangular_solves(A, b):
    L = np.tril(A) + 3.0 * np.eye(A.shape[0])
    y = scipy.linalg.solve_triangular(L, b, lower=True)
    return scipy.linalg.solve_triangular(L.T, y) + scipy.linalg.solve_triangular(A + 4.0 * np.eye(3), y, lower=False)


def torques(R, F):
    return np.cross(R, F) + np.cross(R[0], F)


def norms_of_every_order(x, A):
    return (np.linalg.norm(x, 1) + np.linalg.norm(x, np.inf) + np.linalg.norm(A, "fro") + np.linalg.norm(x, ord=3)
            + np.linalg.norm(x, -np.inf) + np.linalg.norm(x, 2) + np.linalg.norm(A) + np.linalg.norm(x, ord=0.5))


def least_squares_by_vandermonde(x, y):
    V = np.vander(x, 3)
    coefficients = np.linalg.solve(V.T @ V, V.T @ y)
    return np.sum(coefficients ** 2) + np.sum(np.vander(x, increasing=True)[:, 1:] ** 2)


def beta_and_clip(a, x):
    return np.sum(scipy.special.betaln(a, 1.5 + x ** 2)) + np.sum(x.clip(-0.5, 0.5) ** 2)


def features_stacked_along_columns(x):
    # a list filled in a loop, stacked along axis 1: the rows of the cotangent with that axis in front
    features = []
    for k in range(1, 4):
        features.append(x ** k)
    F = np.stack(features, axis=1)
    pair = (np.sin(x), x * x)
    return np.trace(np.linalg.inv(F.T @ F + np.eye(3))) + np.sum(np.stack(pair, axis=1) ** 2)


def field_history(u0, alpha):
    # a list of 2-D fields, one appended per step (numba's appended took numbers and vectors only)
    u, history = u0.copy(), []
    for _ in range(3):
        u = u + alpha * np.sin(u)
        history.append(u.copy())
    H = np.array(history)
    return np.sum(H[-1] * H[0]) + np.sum(np.mean(H, axis=0) ** 2)


def column_and_row_medians(A):
    return np.sum(np.median(A, axis=0) ** 2) + np.sum(np.median(A, axis=1, keepdims=True) * A) + np.median(A[:, :3], axis=-1)[0]


def pairwise_spring_energy(X):
    # the (n, n, d) differences of rows: a length-one axis spread back by sum_to on numba
    D = X[:, None, :] - X[None, :, :]
    r = np.sqrt(np.sum(D ** 2, axis=2) + 1e-9)
    return np.sum((r - 1.0) ** 2)



def row_and_column_sums(q):
    # sums along each axis, as keyword, method and positional axis (sum_along in generated code)
    s = np.sum(q, axis=1)
    t = q.sum(axis=0)
    return np.sum(s ** 2) + np.sum(np.sin(t)) + np.sum(q * q, 0)[1]

CASES = [
    (lifted_to_3d, (0.7,), 0),
    (lifted_to_3d, (np.array([0.3, -1.1, 0.8]),), 0),
    (lifted_to_3d, (np.array([[0.3, -1.1, 0.8], [0.2, 0.5, -0.4]]),), 0),
    (lifted_to_3d, (np.linspace(-1.0, 1.0, 12).reshape(2, 3, 2),), 0),
    (lifted_to_3d_sum, (0.7,), 0),
    (lifted_to_3d_sum, (np.array([[0.3, -1.1], [0.8, 0.2]]),), 0),
    (interpolated_at_points, (np.array([-0.4, 0.1, 0.7, 1.3, 1.9, 2.6]), np.array([1.0, -0.5, 2.0, 0.25])), (0, 1)),
    (interpolated_at_number, (0.8, np.array([1.0, -0.5, 2.0, 0.25])), (0, 1)),
    (interpolated_at_number, (1.6, np.array([1.0, -0.5, 2.0, 0.25])), (0, 1)),   # s * s beyond XP[-1]
    (interpolated_with_breakpoints, (np.array([0.2, 0.9, 1.7]), np.array([0.0, 0.5, 1.25, 2.0]),
                                     np.array([1.0, -0.5, 2.0, 0.25])), (0, 1, 2)),
    (tiled_by_pair, (np.array([[0.3, -1.1, 0.8], [0.2, 0.5, -0.4]]),), 0),
    (tiled_by_int, (np.array([[0.3, -1.1, 0.8], [0.2, 0.5, -0.4]]), 3), 0),
    (tiled_by_int, (np.array([0.3, -1.1, 0.8]), 2), 0),
    (vector_tiled_into_matrix, (np.array([0.3, -1.1, 0.8]),), 0),
    (stacked_matrix_and_row, (np.array([[0.3, -1.1, 0.8], [0.2, 0.5, -0.4]]), np.array([0.6, -0.2, 1.3])), (0, 1)),
    (stacked_with_literal_row, (np.array([[0.3, -1.1, 0.8], [0.2, 0.5, -0.4]]), 0.9), (0, 1)),
    (squeezed, (np.linspace(-1.0, 1.2, 12).reshape(3, 1, 4),), 0),
    (profile_model, (np.array([0.2, 0.9, 1.6, 2.3]), np.array([1.0, -0.5, 2.0, 0.25]), np.array([0.5, -1.0])), (0, 1, 2)),
    (smoothness_penalty, (np.array([0.3, -0.5, 0.9, 0.2, 1.1, -0.7, 0.4]),), 0),
    (row_curvature, (np.linspace(-1.0, 1.2, 12).reshape(2, 6),), 0),
    (piecewise_linear, (np.array([0.0, 0.5, 0.9, 0.4, -0.3, -0.8]), np.linspace(0.03, 0.97, 11)), (0, 1)),
    (interleaved_products, (np.array([0.3, -0.5, 0.9, 0.2, 1.1, -0.7, 0.4, 0.6]),), 0),
    (laplacian_by_index, (np.array([0.3, -0.5, 0.9, 0.2, 1.1, -0.7, 0.4]), 0.8), (0, 1)),
    (band_energy, (np.array([0.3, -0.5, 0.9, 0.2, 1.1, -0.7]), 0.25), (0, 1)),
    (medians, (np.array([0.3, -0.5, 0.9, 0.2, 1.1]), np.arange(12.0).reshape(3, 4) * 0.37 % 1.3), (0, 1)),
    (heat_step_with_edges, (np.arange(20.0).reshape(4, 5) * 0.37 % 1.3, 0.2), (0, 1)),
    (padded_every_way, (np.array([0.3, -0.5, 0.9, 0.2, 1.1]),), 0),
    (padded_per_axis, (np.arange(6.0).reshape(3, 2) * 0.41 % 1.1 - 0.4,), 0),
    (reflected_single_element, (np.array([0.7, 0.2]),), 0),
    (smoothed, (np.array([0.3, -0.5, 0.9, 0.2, 1.1, -0.7]), np.array([0.25, 0.5, 0.25])), (0, 1)),
    (convolved_full, (np.array([0.3, -0.5]), np.array([0.2, 0.9, -0.4, 0.7])), (0, 1)),
    (sample_statistics, (np.array([0.3, -0.5, 0.9, 0.2, 1.1]),), 0),
    (integrals, (np.array([0.3, -0.5, 0.9, 0.2, 1.1]), np.array([0.0, 0.1, 0.35, 0.4, 0.9]), 0.3), (0, 1, 2)),
    (axes_moved, (np.linspace(-1.0, 1.3, 24),), 0),
    (spectrum, (np.arange(9.0).reshape(3, 3) * 0.37 % 1.3,), 0),
    (triangular_solves, (np.arange(9.0).reshape(3, 3) * 0.37 % 1.3, np.array([0.5, -1.0, 0.25])), (0, 1)),
    (torques, (np.arange(12.0).reshape(4, 3) * 0.3 - 1.1, np.cos(np.arange(12.0)).reshape(4, 3)), (0, 1)),
    (norms_of_every_order, (np.array([0.3, -1.2, 0.7, 2.1]), np.arange(6.0).reshape(2, 3) * 0.3 - 0.4), (0, 1)),
    (least_squares_by_vandermonde, (np.array([0.3, -1.2, 0.7, 2.1, 0.1]), np.array([1.0, 0.2, -0.3, 0.8, 0.5])), (0, 1)),
    (beta_and_clip, (1.3, np.array([0.3, -1.2, 0.7, 0.1])), (0, 1)),
    (pairwise_spring_energy, (np.cos(np.arange(8.0)).reshape(4, 2),), 0),
    (features_stacked_along_columns, (np.array([0.3, -0.5, 0.9, 0.2]),), 0),
    (field_history, (np.arange(6.0).reshape(2, 3) * 0.3 - 0.4, 0.2), (0, 1)),
    (column_and_row_medians, (np.cos(np.arange(20.0)).reshape(4, 5) + 0.01 * np.arange(20.0).reshape(4, 5),), 0),
    (row_and_column_sums, (np.cos(np.arange(12.0)).reshape(4, 3),), 0),
]
IDS = [f"{f.__name__}-{np.shape(args[0])}-{k}" for k, (f, args, _) in enumerate(CASES)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn,args,wrt", CASES, ids=IDS)
def test_forward_reverse_and_finite_differences(fn, args, wrt, backend):
    fd = numeric_jacobian(fn, args, wrt)
    check_jvp(fn, args, wrt, backend, fd_jacobian=fd)
    check_vjp(fn, args, wrt, backend, fd_jacobian=fd)
    dot_product_test(fn, args, wrt, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_and_shapes_are_numpys(backend):
    M, v = np.arange(6.0).reshape(2, 3), np.array([7.0, 8.0, 9.0])
    for x in (0.5, v, M, M[None]):
        value, _ = srcgrad.jvp(lifted_to_3d, backend=backend)(x, np.ones_like(x) if np.ndim(x) else 1.0)
        assert value.shape == np.atleast_3d(x).shape
    value, _ = srcgrad.jvp(stacked_matrix_and_row, wrt=(0, 1), backend=backend)(M, v, np.ones_like(M), np.ones(3))
    np.testing.assert_allclose(value, np.sin(np.vstack((M, v))) + np.vstack((v, M * v, 2.0 * v))[1:])
    value, _ = srcgrad.jvp(vector_tiled_into_matrix, backend=backend)(v, np.ones(3))
    np.testing.assert_allclose(value, np.tile(v, (3, 2)) ** 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_interp_derivative_in_x_is_the_slope_inside_and_zero_outside(backend):
    fp = np.array([1.0, -0.5, 2.0, 0.25])
    x = np.array([-0.4, 0.1, 0.7, 1.3, 2.6])
    jacobian = srcgrad.jacfwd(interpolated_with_breakpoints, wrt=0, backend=backend)(x, XP, fp)
    slopes = np.array([0.0, -3.0, 2.5 / 0.75, -1.75 / 0.75, 0.0])
    np.testing.assert_allclose(jacobian, np.diag(slopes), atol=1e-12)


def tiled_and_interpolated(w):
    return np.sum(np.tile(w, (2, 1)) ** 3) + np.interp(w[0] * w[1], XP, np.array([1.0, -0.5, 2.0, 0.25])) * w[2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_derivatives_through_interp_and_tile(backend):
    w = np.array([0.6, 0.9, -0.3])
    hessian = srcgrad.hessian(tiled_and_interpolated, backend=backend)(w)
    numeric = numeric_jacobian(srcgrad.grad(tiled_and_interpolated, backend=backend), (w,), 0)
    np.testing.assert_allclose(hessian, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sums_along_an_axis_call_the_runtimes_compiled_once_helper(backend):
    """numba's np.sum along an axis compiles string code for its axis error, 1.3 s in each process
    (GradBench gmm's first call): generated code calls srcgrad_runtime.sum_along, in both modes
    and in the derivative of a derivative."""
    q = np.cos(np.arange(12.0)).reshape(4, 3)
    for api in (srcgrad.grad, srcgrad.jvp):
        source = api(row_and_column_sums, backend=backend).source
        code = [line for line in source.splitlines() if not line.strip().startswith("#")]
        assert any("sum_along(q, axis=1)" in line for line in code)
        assert not any("np.sum(q, axis" in line for line in code)
    hessian = srcgrad.hessian(row_and_column_sums, backend=backend)(q)
    numeric = numeric_jacobian(srcgrad.grad(row_and_column_sums, backend=backend), (q,), 0)
    np.testing.assert_allclose(hessian.reshape(numeric.shape), numeric, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- refused calls


def squeeze_without_axis(x):
    return np.sum(np.squeeze(x) ** 2)  # marker


def squeeze_method_without_axis(x):
    return np.sum(x.squeeze() ** 2)  # marker


def squeeze_with_computed_axis(x):
    k = x.ndim - 1
    return np.sum(np.squeeze(x, axis=k) ** 2)  # marker


def vstack_of_a_tuple_variable(M, v):
    pieces = (M, v)
    return np.sum(np.vstack(pieces))  # marker


def interp_with_left_value(x, fp):
    return np.sum(np.interp(x, XP, fp, left=0.0))  # marker


def diff_of_a_computed_order(x, k):
    return np.sum(np.diff(x, k))  # marker


def pad_of_a_stack(x):
    stack = x[0] * np.ones((2, 2, 2))
    return np.sum(np.pad(stack, 1))  # marker


def pad_with_computed_widths(x):
    k = x.shape[0] // 2
    return np.sum(np.pad(x, k))  # marker


def convolve_of_a_matrix(A):
    return np.sum(np.convolve(A, np.ones(2)))  # marker


def cross_of_a_stack(x):
    return np.sum(np.cross(x[0] * np.ones((2, 2, 3)), np.ones(3)))  # marker


def var_with_ddof_along_an_axis(A):
    return np.sum(np.var(A, axis=0, ddof=1))  # marker


def trapezoid_of_a_matrix(A):
    return np.sum(np.trapezoid(A))  # marker


def batched_matmul(x):
    B = x.reshape(2, 2, 2)
    return np.sum(B @ B)  # marker


def dot_with_a_number(x, s):
    return np.sum(np.dot(x, s))  # marker


def determinants_of_a_stack(x):
    return np.sum(np.linalg.det(x.reshape(2, 2, 2)))  # marker


def random_numbers_drawn_inside(x):
    noise = np.random.default_rng(0).normal(size=3)  # marker
    return np.sum(x * noise)


def spectral_norm_of_a_matrix(A):
    return np.linalg.norm(A, 2)  # marker


REFUSED = [
    (squeeze_without_axis, (np.ones((3, 1)),), ["np.squeeze", "axis="]),
    (squeeze_method_without_axis, (np.ones((3, 1)),), ["np.squeeze", "axis="]),
    (squeeze_with_computed_axis, (np.ones((3, 1)),), ["np.squeeze", "written"]),
    (vstack_of_a_tuple_variable, (np.ones((2, 3)), np.ones(3)), ["np.vstack", "np.vstack((a, b))"]),
    (interp_with_left_value, (np.array([0.3]), np.ones(4)), ["np.interp", "left="]),
    (diff_of_a_computed_order, (np.array([0.3, 0.1, 0.4]), 2.0), ["np.diff", "n=", "written positive integer"]),
    (pad_of_a_stack, (np.array([0.3, 0.1]),), ["np.pad", "3-D array", "vectors (1-D arrays) or matrices"]),
    (pad_with_computed_widths, (np.array([0.3, 0.1]),), ["np.pad", "widths written as integers"]),
    (convolve_of_a_matrix, (np.ones((2, 2)),), ["np.convolve", "of a matrix", "for vectors"]),
    (cross_of_a_stack, (np.array([0.3, 0.1]),), ["np.cross", "3-D array"]),
    (var_with_ddof_along_an_axis, (np.ones((2, 2)),), ["np.var", "axis="]),
    (trapezoid_of_a_matrix, (np.ones((2, 2)),), ["np.trapezoid", "of a matrix", "for vectors"]),
    (batched_matmul, (np.arange(8.0),), ["`@` of a 3-D array", "a loop over"]),
    (dot_with_a_number, (np.arange(3.0), 2.0), ["`np.dot` of a number (argument 2)", "written with `*`"]),
    (determinants_of_a_stack, (np.arange(8.0),), ["`np.linalg.det` of a 3-D array"]),
    (random_numbers_drawn_inside, (np.arange(3.0),), ["np.random.default_rng", "pass them in as an argument"]),
    (spectral_norm_of_a_matrix, (np.ones((2, 2)),), ["`np.linalg.norm` of a matrix", "for vectors"]),
]


def _marker_line(fn) -> int:
    import inspect
    lines, start = inspect.getsourcelines(fn)
    return start + next(k for k, line in enumerate(lines) if "# marker" in line)


@pytest.mark.parametrize("api", ["jvp", "grad"])
@pytest.mark.parametrize("fn,args,words", REFUSED, ids=[f.__name__ for f, _, _ in REFUSED])
def test_refused_with_the_construct_and_its_line(fn, args, words, api):
    tangents = tuple(np.ones_like(a) for a in args) if api == "jvp" else ()
    wrt = tuple(range(len(args))) if api == "jvp" else 0
    with pytest.raises(srcgrad.SrcgradError) as error:
        getattr(srcgrad, api)(fn, wrt=wrt, backend="python")(*args, *tangents)
    message = str(error.value)
    assert f"{THIS_FILE}:{_marker_line(fn)}" in message
    for word in words:
        assert word in message


def tiled_into_3d(A):
    return np.sum(np.tile(A, (2, 1, 1)))


def test_a_tile_numba_cannot_compile_is_a_compilation_error():
    A = np.ones((2, 3))
    np.testing.assert_allclose(srcgrad.grad(tiled_into_3d, backend="python")(A), 2.0 * np.ones((2, 3)))
    with pytest.raises(srcgrad.CompilationError):
        srcgrad.grad(tiled_into_3d)(A)
