"""Custom derivative rules (`srcgrad.custom_vjp`, `srcgrad.custom_jvp`) and NumPy functions
without a rule called on values that carry no derivative."""
import math

import numpy as np
import pytest

from gradcheck import check_jvp, check_vjp, dot_product_test, numeric_jacobian
import srcgrad

BACKENDS = ("numba", "python")


# ----- a vjp rule standing in for a function's own derivative -----------------------------
@srcgrad.custom_vjp
def smallest_eigenvalue(S):
    return np.linalg.eigh(S)[0][0]


def smallest_eigenvalue_fwd(S):
    values, vectors = np.linalg.eigh(S)
    return values[0], vectors[:, 0].copy()


def smallest_eigenvalue_bwd(v, g):
    return (g * np.outer(v, v),)   # d(lambda_min) = v^T dS v


smallest_eigenvalue.defvjp(smallest_eigenvalue_fwd, smallest_eigenvalue_bwd)


def spectral_penalty(A, c):
    total = 0.0
    for k in range(3):
        total = total + (smallest_eigenvalue(A @ A.T + (k + c) * np.eye(3)) - 1.0) ** 2
    return total


A3 = np.array([[1.0, 0.2, 0.3], [0.1, 2.0, 0.5], [0.4, 0.3, 3.0]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_vjp_rule_stands_in_for_a_function_srcgrad_cannot_differentiate(backend):
    check_vjp(spectral_penalty, (A3, 0.5), (0, 1), backend=backend)
    g = srcgrad.grad(smallest_eigenvalue, backend=backend)   # the function itself
    S = A3 @ A3.T
    v = np.linalg.eigh(S)[1][:, 0]
    np.testing.assert_allclose(g(S), np.outer(v, v), rtol=1e-12, atol=1e-14)


def test_the_rules_are_called_not_the_function_differentiated():
    g = srcgrad.grad(spectral_penalty, backend="python")
    g(A3, 0.5)
    source = g.source
    assert "smallest_eigenvalue_vjp_rule(" in source and "eigh" in source


def test_forward_mode_without_a_jvp_rule_is_refused():
    with pytest.raises(srcgrad.SrcgradError, match=r"forward mode .* needs a jvp rule for smallest_eigenvalue"):
        srcgrad.jvp(spectral_penalty)(A3, 0.5, np.ones((3, 3)))


# ----- a rule that changes the derivative on purpose --------------------------------------
@srcgrad.custom_vjp
def clip_gradient(x, bound):
    return x


def clip_gradient_fwd(x, bound):
    return x, bound


def clip_gradient_bwd(bound, g):
    return (np.clip(g, -bound, bound), 0.0)


clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)


def clipped_energy(x):
    y = clip_gradient(x * x, 1.0) + clip_gradient(bound=0.5, x=x)   # keywords too
    return np.sum(3.0 * y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_clipping(backend):
    x = np.array([0.1, -0.4, 2.0])
    np.testing.assert_allclose(srcgrad.grad(clipped_energy, backend=backend)(x), np.clip(3.0, -1, 1) * 2.0 * x + 0.5)


# ----- a jvp rule: forward mode calls it, reverse mode transposes it -------------------------
@srcgrad.custom_jvp
def log1pexp(x):
    return np.log1p(np.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    x, = primals
    dx, = tangents
    return log1pexp(x), dx / (1.0 + np.exp(-x))   # stable where exp(x) overflows


def uses_log1pexp(x, w):
    return np.sum(w * log1pexp(x * w)) + log1pexp(x[0])


X = np.array([0.3, -1.2, 0.8])
W = np.array([1.5, 0.5, -2.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_jvp_rule_in_both_modes(backend):
    check_jvp(uses_log1pexp, (X, W), (0, 1), backend=backend)
    check_vjp(uses_log1pexp, (X, W), (0, 1), backend=backend)
    dot_product_test(uses_log1pexp, (X, W), (0, 1), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_jvp_rule_is_used_where_the_function_overflows(backend):
    assert srcgrad.derivative(log1pexp, backend=backend)(1000.0) == 1.0
    assert srcgrad.grad(log1pexp, backend=backend)(1000.0) == 1.0


# ----- both rules, several arguments and results, second order -----------------------------
@srcgrad.custom_vjp
def polar(r, theta):
    return r * np.cos(theta), r * np.sin(theta)


def polar_fwd(r, theta):
    c, s = np.cos(theta), np.sin(theta)
    return (r * c, r * s), (r, c, s)


def polar_bwd(residuals, cotangents):
    r, c, s = residuals
    gx, gy = cotangents
    return (gx * c + gy * s, r * (gy * c - gx * s))


polar.defvjp(polar_fwd, polar_bwd)


@polar.defjvp
def polar_jvp(primals, tangents):
    r, theta = primals
    dr, dtheta = tangents
    c, s = math.cos(theta), math.sin(theta)
    return (r * c, r * s), (dr * c - r * s * dtheta, dr * s + r * c * dtheta)


def distance_moved(r, theta):
    x, y = polar(r, theta)
    return (x - 1.0) ** 2 + (y * y - 0.5) ** 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_both_rules_several_arguments_and_a_tuple_result(backend):
    check_jvp(distance_moved, (1.3, 0.4), (0, 1), backend=backend)
    check_vjp(distance_moved, (1.3, 0.4), (0, 1), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_hessian_through_the_rules(backend):
    H = srcgrad.hessian(distance_moved, wrt=(0, 1), backend=backend)(1.3, 0.4)
    gradient = srcgrad.grad(distance_moved, wrt=(0, 1), backend="python")
    fd = numeric_jacobian(lambda r, t: np.array(gradient(r, t)), (1.3, 0.4), (0, 1))
    np.testing.assert_allclose(np.array(H, dtype=float).reshape(2, 2), fd, rtol=1e-6, atol=1e-8)


# ----- mistakes in the rules get errors, not wrong derivatives -----------------------------
@srcgrad.custom_vjp
def square(x):
    return x * x


def square_fwd(x):
    return x * x, x


def square_bwd_without_a_tuple(x, g):
    return 2.0 * x * g


def uses_square(x):
    return np.sum(square(x))


def test_a_bwd_rule_must_return_a_tuple():
    square.defvjp(square_fwd, square_bwd_without_a_tuple)
    with pytest.raises(srcgrad.SrcgradError, match="must return a tuple with one cotangent per argument"):
        srcgrad.grad(uses_square, backend="python")(np.ones(3))


@srcgrad.custom_vjp
def no_rule_yet(x):
    return 2.0 * x


def calls_no_rule_yet(x):
    return no_rule_yet(x) * x


def test_a_function_without_rules_says_which_to_add():
    with pytest.raises(srcgrad.SrcgradError, match=r"no_rule_yet.defvjp\(fwd, bwd\)"):
        srcgrad.grad(calls_no_rule_yet)(0.5)


# ----- NumPy functions without a rule on values that carry no derivative -------------------
def rotated_into_singular_basis(A, K):
    left, values, right = np.linalg.svd(K)
    return np.sum(left.T @ A @ right) + values[0] * A[0, 0] + np.linalg.det(K) * A[1, 1]


def singular_value_of_the_input(A):
    return np.linalg.svd(A @ A.T)[1][0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_numpy_function_without_a_rule_on_constants(backend):
    K = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 3.0]])
    check_vjp(rotated_into_singular_basis, (A3, K), 0, backend=backend)
    check_jvp(rotated_into_singular_basis, (A3, K), 0, backend=backend)


def test_a_numpy_function_without_a_rule_on_the_input_is_refused():
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match=r"(?s)np.linalg.svd.*srcgrad.custom_vjp"):
        srcgrad.grad(singular_value_of_the_input)(A3)
