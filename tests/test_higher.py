"""Second and third derivatives: hvp and hessian (reverse mode over the generated jvp), and
derivatives of the derivative functions srcgrad returns, against finite differences of gradients."""
import math

import numpy as np
import pytest

import srcgrad
from corpus import CORPUS
from gradcheck import flatten

FD_STEP = 1e-6


def _scalar_output(case) -> bool:
    value = case.fn(*case.args())
    return not isinstance(value, tuple) and np.ndim(value) == 0


SCALAR_CASES = [c for c in CORPUS if _scalar_output(c)]


def _full_hessian(blocks, wrt_tuple, args):
    """The blocks of a tuple-wrt Hessian as one matrix over the flattened arguments."""
    sizes = [np.size(args[w]) for w in wrt_tuple]
    return np.block([[np.reshape(blocks[i][j], (sizes[i], sizes[j])) for j in range(len(sizes))]
                     for i in range(len(sizes))])


def _hessian_by_differences(fn, args, wrt_tuple, backend):
    """Central differences of srcgrad's gradient (itself checked by the rest of the suite)."""
    g = srcgrad.grad(fn, wrt=wrt_tuple, backend=backend)
    columns = []
    for k, w in enumerate(wrt_tuple):
        for m in range(np.size(args[w])):
            def shifted(step):
                moved = list(args)
                if isinstance(args[w], np.ndarray):
                    moved[w] = args[w].copy()
                    moved[w].flat[m] += step
                elif isinstance(args[w], tuple):
                    moved[w] = tuple(a + step * (k == m) for k, a in enumerate(args[w]))
                else:
                    moved[w] = args[w] + step
                return np.concatenate([np.ravel(part) for part in g(*moved)])
            h = FD_STEP * max(1.0, abs(np.ravel(args[w])[m]))
            columns.append((shifted(h) - shifted(-h)) / (2 * h))
    return np.array(columns).T


def check_hessian(fn, args, wrt, backend):
    wrt_tuple = wrt if isinstance(wrt, tuple) else (wrt,)
    H = srcgrad.hessian(fn, wrt=wrt_tuple, backend=backend)(*args)
    H = _full_hessian(H, wrt_tuple, args)
    want = _hessian_by_differences(fn, args, wrt_tuple, backend)
    scale = 1.0 + np.max(np.abs(want))
    assert np.allclose(H, want, rtol=1e-5, atol=1e-6 * scale), f"max |H - FD| {np.max(np.abs(H - want)):.3e}"
    assert np.allclose(H, H.T, rtol=1e-9, atol=1e-10 * scale), "the Hessian is not symmetric"
    return H


# second derivatives srcgrad has only to first order inside: refused with a clear error
BEYOND = {"log_densities": "gammaln", "linear_algebra": "cholesky", "row_softmax_and_axis_reductions": "np.prod"}


@pytest.mark.parametrize("case", SCALAR_CASES, ids=[c.name for c in SCALAR_CASES])
def test_hessian_of_the_corpus(case):
    if case.name in BEYOND:
        with pytest.raises(srcgrad.NoRuleError, match=f"(?s)again.*{BEYOND[case.name]}"):
            srcgrad.hessian(case.fn, wrt=case.wrt, backend="python")(*case.args())
        return
    check_hessian(case.fn, case.args(), case.wrt, "python")


def test_hessian_through_arrays_written_into_views():
    """The jvp writes `S[i] = h` as `copy_into(S[i], h)` (transform/slice_updates.py), which reverse
    mode then reads back as the write (an expression statement it refused before)."""
    import regression_functions as rf
    x, W = np.array([0.3, -0.5, 0.9, 0.2]), np.random.default_rng(3).standard_normal((3, 4))
    check_hessian(rf.rows_of_a_work_matrix, (x, W), (0, 1), "python")


# ----- both backends, on the shapes scientists write ------------------------------------------

def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def newton_sqrt_loss(a, x):
    # a while loop whose iteration count depends on the value: Newton's iteration for sqrt(a)
    r = a
    k = 0
    while abs(r * r - a) > 1e-12 and k < 50:
        r = 0.5 * (r + a / r)
        k += 1
    return np.sum((x - r) ** 2) * r


def logistic_loss(w, b, X, y):
    z = X @ w + b
    return np.sum(np.logaddexp(0.0, -y * z)) + 0.5 * np.dot(w, w)


RNG = np.random.default_rng(3)
BOTH = [
    (rosenbrock, (np.array([0.5, 1.2, -0.3, 0.8]),), 0),
    (newton_sqrt_loss, (2.0, np.array([0.3, 1.9, -0.4])), (0, 1)),
    (logistic_loss, (RNG.standard_normal(3), 0.3, RNG.standard_normal((6, 3)), np.sign(RNG.standard_normal(6))), (0, 1)),
]


# numba compiles each second derivative for several seconds: the python backend runs every
# function, numba the loop and the while loop (the generated source is the same for both)
BACKENDS = [("python", case) for case in BOTH] + [("numba", case) for case in BOTH[:2]]


@pytest.mark.parametrize("backend,case", BACKENDS, ids=[f"{b}-{c[0].__name__}" for b, c in BACKENDS])
def test_hessian_and_hvp(backend, case):
    fn, args, wrt = case
    H = check_hessian(fn, args, wrt, backend)
    wrt_tuple = wrt if isinstance(wrt, tuple) else (wrt,)
    v = tuple(RNG.standard_normal(np.shape(args[w])) if np.ndim(args[w]) else 0.7 for w in wrt_tuple)
    value, g, hv = srcgrad.hvp(fn, wrt=wrt, backend=backend)(*args, v if isinstance(wrt, tuple) else v[0])
    assert np.isclose(value, fn(*args), rtol=1e-12)
    assert np.allclose(flatten(g), flatten(srcgrad.grad(fn, wrt=wrt, backend=backend)(*args)), rtol=1e-12)
    assert np.allclose(flatten(hv), H @ flatten(v), rtol=1e-9, atol=1e-9)


def test_rosenbrock_hessian_by_hand():
    x = np.array([0.5, 1.2, -0.3])
    want = np.array([[1200 * 0.25 - 400 * 1.2 + 2, -200.0, 0.0],
                     [-200.0, 200 + 1200 * 1.44 - 400 * -0.3 + 2, -480.0],
                     [0.0, -480.0, 200.0]])
    assert np.allclose(srcgrad.hessian(rosenbrock)(x), want, rtol=1e-12)


def test_second_derivative_of_a_float_argument_is_a_float():
    H = srcgrad.hessian(lambda a: math.sin(a) * a ** 2)(0.4)
    assert isinstance(H, float)
    assert math.isclose(H, -math.sin(0.4) * 0.16 + 4 * 0.4 * math.cos(0.4) + 2 * math.sin(0.4), rel_tol=1e-12)


# ----- derivatives of derivative functions --------------------------------------------------

def cubic_sine(x):
    return math.sin(x) * x ** 3


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_third_derivative_by_nesting(backend):
    d1 = srcgrad.derivative(cubic_sine, backend=backend)
    d3 = srcgrad.derivative(srcgrad.derivative(d1, backend=backend), backend=backend)
    x = 0.7
    s, c = math.sin(x), math.cos(x)
    assert math.isclose(d3(x), -c * x ** 3 - 9 * x ** 2 * s + 18 * x * c + 6 * s, rel_tol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_derivatives_of_a_numpy_function_itself(backend):
    d3 = srcgrad.derivative(srcgrad.derivative(srcgrad.derivative(np.sin, backend=backend), backend=backend), backend=backend)
    assert math.isclose(d3(0.3), -math.cos(0.3), rel_tol=1e-13)
    assert srcgrad.grad(math.atan2, wrt=(0, 1), backend=backend)(0.3, 0.7) == pytest.approx((0.7 / 0.58, -0.3 / 0.58), rel=1e-13)
    assert math.isclose(srcgrad.hessian(np.cosh, backend=backend)(0.4), math.cosh(0.4), rel_tol=1e-13)


@pytest.mark.parametrize("outer", ["jacfwd", "jacrev"])
def test_jacobian_of_a_gradient_is_the_hessian(outer):
    x = np.array([0.5, 1.2, -0.3, 0.8])
    H = getattr(srcgrad, outer)(srcgrad.grad(rosenbrock))(x)
    assert np.allclose(H, srcgrad.hessian(rosenbrock)(x), rtol=1e-12)


FEATURES = np.array([[1.0, 2.0], [0.5, -1.0], [0.3, 0.7]])


def tanh_layer_total(w):
    return np.sum(np.tanh(FEATURES @ w)) + np.sum((w - 0.5) ** 2 * FEATURES[0])


def accumulated_until(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] ** 2 * x[0]
        if s > 10.0:
            return s
    return s


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("outer", ["jacfwd", "jacrev"])
def test_jacobian_of_the_gradient_of_a_matrix_product(outer, backend):
    """The reverse sweep's matmul_grad_right and sum_to are differentiated again (reported
    refused, 2026-12-08: no rule for either)."""
    w = np.array([0.3, -0.2])
    H = getattr(srcgrad, outer)(srcgrad.grad(tanh_layer_total, backend=backend), backend=backend)(w)
    expected = (FEATURES.T * (-2.0 * np.tanh(FEATURES @ w) / np.cosh(FEATURES @ w) ** 2)) @ FEATURES + np.diag(2.0 * FEATURES[0])
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-14)


def test_a_reverse_sweep_with_a_list_tape_is_refused_naming_the_alternatives():
    x = np.array([0.3, -0.2, 0.5])
    with pytest.raises(srcgrad.NoRuleError, match=r"(?s)reverse sweep keeps a tape.*srcgrad.hessian or srcgrad.hvp"):
        srcgrad.jacfwd(srcgrad.grad(accumulated_until, backend="python"), backend="python")(x)
    np.testing.assert_allclose(srcgrad.hessian(accumulated_until, backend="python")(x),
                               [[1.8, -0.4, 1.0], [-0.4, 0.6, 0.0], [1.0, 0.0, 0.6]], rtol=1e-12)


def test_vjp_of_a_jvp_gives_hessian_and_gradient():
    """Reverse over forward, spelled by hand: what hvp runs."""
    x, v = np.array([0.5, 1.2, -0.3]), np.array([1.0, -2.0, 0.5])
    (value, jv), (hv, g) = srcgrad.vjp(srcgrad.jvp(rosenbrock), wrt=(0, 1))(x, v, (0.0, 1.0))
    assert np.allclose(hv, srcgrad.hessian(rosenbrock)(x) @ v, rtol=1e-12)
    assert np.allclose(g, srcgrad.grad(rosenbrock)(x), rtol=1e-12)
    assert math.isclose(jv, g @ v, rel_tol=1e-12)


def test_refusals_are_clear():
    x = np.array([0.5, 1.2, -0.3])
    with pytest.raises(srcgrad.SrcgradError, match="return a float"):
        srcgrad.hvp(lambda x: np.sin(x))(x, x)
    with pytest.raises(srcgrad.SrcgradError, match="one wrt argument"):
        srcgrad.jacfwd(srcgrad.hessian(two_arguments, wrt=(0, 1)))(x, 1.0)


def two_arguments(x, a):
    return a * np.sum(x ** 3)


# ----- every derivative srcgrad returns composes -------------------------------------------
def swirl(x):
    return np.sin(x) * x[0] + np.cos(x[1]) * x


def _jacobian_by_differences(fn, x):
    columns = []
    for k in range(x.size):
        step = np.zeros_like(x)
        step[k] = FD_STEP
        columns.append((np.asarray(fn(x + step)) - np.asarray(fn(x - step))) / (2 * FD_STEP))
    return np.stack(columns, axis=-1)


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("outer,inner", [("jacfwd", "jacfwd"), ("jacrev", "jacrev"), ("jacfwd", "jacrev"),
                                         ("jacrev", "jacfwd")])
def test_jacobians_of_jacobians(outer, inner, backend):
    x = np.array([0.5, 1.2, -0.3])
    second = getattr(srcgrad, outer)(getattr(srcgrad, inner)(swirl, backend=backend), backend=backend)(x)
    first = srcgrad.jacfwd(swirl, backend="python")
    np.testing.assert_allclose(second, _jacobian_by_differences(first, x), rtol=1e-6, atol=1e-8)
    assert second.shape == (3, 3, 3)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_third_derivatives_through_hessian_and_hvp(backend):
    x = np.array([0.5, 1.2, -0.3, 0.8])
    third = srcgrad.jacfwd(srcgrad.hessian(rosenbrock, backend=backend), backend=backend)(x)
    H = srcgrad.hessian(rosenbrock, backend="python")
    np.testing.assert_allclose(third, _jacobian_by_differences(H, x), rtol=1e-6, atol=1e-6)
    along = srcgrad.grad(curvature_along, backend=backend)(x)
    np.testing.assert_allclose(along, _jacobian_by_differences(curvature_along, x), rtol=1e-6, atol=1e-5)


PRODUCT = srcgrad.hvp(rosenbrock)


def curvature_along(x):
    value, gradient, product = PRODUCT(x, np.array([1.0, -0.5, 0.25, 2.0]))
    return np.sum(product ** 2) + value


GRADIENT = srcgrad.grad(rosenbrock)
WITH_AUX = srcgrad.grad(lambda x: (np.sum(x ** 3), x[0] * x[1]), has_aux=True)


def gradient_penalty(x):
    """A user function calling a derivative srcgrad made (a gradient penalty, as in WGAN-GP)."""
    return rosenbrock(x) + 0.1 * np.sum(GRADIENT(x) ** 2)


def scaled_by_aux(x):
    g, aux = WITH_AUX(x)
    return g * aux


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_function_that_calls_a_derivative(backend):
    x = np.array([0.5, 1.2, -0.3, 0.8])
    got = srcgrad.grad(gradient_penalty, backend=backend)(x)
    np.testing.assert_allclose(got, _jacobian_by_differences(gradient_penalty, x), rtol=1e-6, atol=1e-6)
    J = srcgrad.jacrev(scaled_by_aux, backend=backend)(x)
    np.testing.assert_allclose(J, _jacobian_by_differences(scaled_by_aux, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(srcgrad.jacfwd(scaled_by_aux, backend=backend)(x), J, rtol=1e-12)


# ----- check_grads, the public checker -------------------------------------------------------

@pytest.mark.parametrize("backend,case", BACKENDS, ids=[f"{b}-{c[0].__name__}" for b, c in BACKENDS])
def test_check_grads_passes_on_correct_derivatives(backend, case):
    fn, args, wrt = case
    srcgrad.check_grads(fn, args, wrt=wrt, order=2, backend=backend)


def test_check_grads_names_the_argument_and_mode_that_disagree(monkeypatch):
    true_vjp = srcgrad.api.vjp

    def off(fn, wrt=0, backend="numba"):
        g = true_vjp(fn, wrt=wrt, backend=backend)
        return lambda *a: (g(*a)[0], 1.01 * g(*a)[1] if wrt == 1 else g(*a)[1])

    monkeypatch.setattr(srcgrad.api, "vjp", off)
    args = BOTH[2][1]
    with pytest.raises(srcgrad.GradientCheckError, match=r"vjp, argument 1") as info:
        srcgrad.check_grads(logistic_loss, args, wrt=(0, 1), backend="python")
    message = str(info.value)
    assert "dot-product test, argument 1" in message and "argument 0" not in message


def normalized_loss(x):
    scale = srcgrad.stop_gradient(np.sum(x * x))   # a constant to the derivative
    w = srcgrad.stop_gradient(x)
    return np.sum(x * x) / scale + np.sum(w * x)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_stop_gradient_is_a_constant_to_every_mode(backend):
    x = np.array([0.5, 1.2, -0.3])
    want = 2 * x / np.sum(x * x) + x
    assert np.allclose(srcgrad.grad(normalized_loss, backend=backend)(x), want, rtol=1e-12)
    assert np.isclose(srcgrad.jvp(normalized_loss, backend=backend)(x, np.ones(3))[1], want.sum(), rtol=1e-12)
    assert np.allclose(srcgrad.hessian(normalized_loss, backend=backend)(x), 2 * np.eye(3) / np.sum(x * x), rtol=1e-10)


def ridge_loss(w, A, b, lam):
    """`r @ r` of two vectors: its reverse sweep's matmul_grad_left, read again, has a branch per
    pair of ranks (refused before rank tests were folded per signature, 2026-12-08)."""
    r = A @ w - b
    return r @ r + lam * np.linalg.norm(w) ** 2


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_forward_over_reverse_of_a_vector_product(backend):
    rng = np.random.default_rng(4)
    w, A, b = rng.normal(size=3), rng.normal(size=(5, 3)), rng.normal(size=5)
    H = srcgrad.jacfwd(srcgrad.grad(ridge_loss, backend=backend), backend=backend)(w, A, b, 0.3)
    np.testing.assert_allclose(H, 2.0 * A.T @ A + 0.6 * np.eye(3), rtol=1e-12)


def flattened_if_a_matrix(x):
    """A user's branch on the rank, folded per signature (only the rank's own code is typed)."""
    if x.ndim == 2:
        x = x.ravel()
    return np.sum(np.dot(x, x) * x)


@pytest.mark.parametrize("shape", [(4,), (2, 2)])
def test_a_branch_on_the_rank_keeps_the_ranks_own_code(shape):
    x = np.linspace(0.2, 0.8, 4).reshape(shape)
    g = srcgrad.grad(flattened_if_a_matrix, backend="python")(x)
    np.testing.assert_allclose(np.ravel(g), 2.0 * np.ravel(x) * np.sum(x) + np.sum(x * x), rtol=1e-12)
