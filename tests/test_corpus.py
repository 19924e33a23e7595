"""Every corpus function through every mode and backend, against finite differences.

Forward (jvp vs J·v), reverse (vjp vs Jᵀw) and the dot-product test (jvp vs vjp), each on
backend "numba" and "python".  Then the derived API: jacfwd/jacrev, grad/value_and_grad
result types, derivative, the decorator forms and the generated source.
"""
import numpy as np
import pytest

from corpus import CORPUS, CORPUS_BY_NAME
from gradcheck import (
    assert_same_structure,
    check_jvp,
    check_vjp,
    copy_args,
    dot_product_test,
    flatten,
    jacobian_blocks,
    numeric_jacobian,
    transform,
)

import srcgrad

BACKENDS = ("numba", "python")

_FD = {}


def fd_jacobian(case):
    """The FD Jacobian at the case's input, computed once per case for all backends and modes."""
    if case.name not in _FD:
        _FD[case.name] = numeric_jacobian(case.fn, case.args(), case.wrt)
    return _FD[case.name]


def params(*modes):
    return [
        pytest.param(c, b, id=f"{c.name}-{b}")
        for c in CORPUS
        if all(m in c.modes for m in modes)
        for b in BACKENDS
    ]


@pytest.mark.parametrize("case,backend", params("fwd"))
def test_forward(case, backend):
    check_jvp(case.fn, case.args(), case.wrt, backend, fd_jacobian=fd_jacobian(case))


@pytest.mark.parametrize("case,backend", params("rev"))
def test_reverse(case, backend):
    check_vjp(case.fn, case.args(), case.wrt, backend, fd_jacobian=fd_jacobian(case))


@pytest.mark.parametrize("case,backend", params("fwd", "rev"))
def test_dot_product(case, backend):
    dot_product_test(case.fn, case.args(), case.wrt, backend)


# ---------------------------------------------------------------------------- jacobians

# One case per output/argument shape pairing: s->s, v->s, v->v, (m, v)->v, (v, v)->m, (m, m)->m.
JAC_CASES = ["log_math", "rosenbrock", "softmax", "matvec", "outer_fn", "matmul_mm", "mlp", "masked_where"]


@pytest.mark.parametrize("api", ["jacfwd", "jacrev"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", JAC_CASES)
def test_jacobian(name, backend, api):
    case = CORPUS_BY_NAME[name]
    args = case.args()
    want = jacobian_blocks(case.fn, args, case.wrt)
    got = transform(api, case.fn, case.wrt, backend)(*copy_args(args))
    assert_same_structure(got, want, api)
    scale = max(1.0, float(np.max(np.abs(case.fn(*args)))))
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7 * scale)


@pytest.mark.parametrize("backend", BACKENDS)
def test_jacfwd_scalar_is_float(backend):
    case = CORPUS_BY_NAME["log_math"]
    J = srcgrad.jacfwd(case.fn, backend=backend)(*case.args())
    assert isinstance(J, float)


@pytest.mark.parametrize("backend", BACKENDS)
def test_jacfwd_jacrev_agree_single_wrt(backend):
    case = CORPUS_BY_NAME["mlp"]
    args = case.args()
    Jf = srcgrad.jacfwd(case.fn, wrt=0, backend=backend)(*args)
    Jr = srcgrad.jacrev(case.fn, wrt=0, backend=backend)(*args)
    assert Jf.shape == Jr.shape == (3, 4, 5)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------- grad / value_and_grad

GRAD_CASES = ["arith", "rosenbrock", "logreg_loss", "tuple_arg", "trapezoid", "row_loop"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", GRAD_CASES)
def test_grad_types_and_values(name, backend):
    case = CORPUS_BY_NAME[name]
    args = case.args()
    J = numeric_jacobian(case.fn, args, case.wrt)[0]
    g = srcgrad.grad(case.fn, wrt=case.wrt, backend=backend)(*copy_args(args))
    like = tuple(args[w] for w in case.wrt) if isinstance(case.wrt, tuple) else args[case.wrt]
    assert_same_structure(g, like, "grad")
    for w in case.wrt_tuple:  # a scalar argument's gradient is a float, not a 0-d array
        if case.kinds[w] == "s":
            gw = g[case.wrt.index(w)] if isinstance(case.wrt, tuple) else g
            assert isinstance(gw, float), type(gw)
    np.testing.assert_allclose(flatten(g), J, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_wrt_tuple_of_one_is_tuple(backend):
    case = CORPUS_BY_NAME["dot_matmul"]
    args = case.args()
    g = srcgrad.grad(case.fn, wrt=(1,), backend=backend)(*args)
    assert isinstance(g, tuple) and len(g) == 1
    assert g[0].shape == (5,)
    g0 = srcgrad.grad(case.fn, wrt=0, backend=backend)(*args)
    assert isinstance(g0, np.ndarray) and g0.shape == (5,)
    gs = srcgrad.grad(CORPUS_BY_NAME["arith"].fn, wrt=(0,), backend=backend)(0.3, 0.7)
    assert isinstance(gs, tuple) and len(gs) == 1 and isinstance(gs[0], float)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["arith", "rosenbrock", "logreg_loss"])
def test_value_and_grad(name, backend):
    case = CORPUS_BY_NAME[name]
    args = case.args()
    value, grads = srcgrad.value_and_grad(case.fn, wrt=case.wrt, backend=backend)(*copy_args(args))
    assert isinstance(value, float)
    np.testing.assert_allclose(value, case.fn(*args), rtol=1e-12)
    want = srcgrad.grad(case.fn, wrt=case.wrt, backend=backend)(*copy_args(args))
    assert_same_structure(grads, want, "value_and_grad grads")
    for g, w in zip(grads if isinstance(grads, tuple) else (grads,), want if isinstance(want, tuple) else (want,)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_grad_default_backend_matches_python():
    case = CORPUS_BY_NAME["rosenbrock"]
    (x,) = case.args()
    np.testing.assert_allclose(srcgrad.grad(case.fn)(x), srcgrad.grad(case.fn, backend="python")(x), rtol=1e-12)


# ---------------------------------------------------------------------------- derivative

DERIV_CASES = ["trig_math", "log_math", "while_data", "overwrite_var", "exp_math"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", DERIV_CASES)
def test_derivative(name, backend):
    case = CORPUS_BY_NAME[name]
    (a,) = case.args()
    want = numeric_jacobian(case.fn, (a,), 0)[0, 0]
    got = srcgrad.derivative(case.fn, backend=backend)(a)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_derivative_default_backend():
    fp = srcgrad.derivative(CORPUS_BY_NAME["hyperbolic_math"].fn)
    np.testing.assert_allclose(fp(0.3), np.cosh(0.3) + np.sinh(0.3) * np.tanh(0.3) + np.cosh(0.3) / np.cosh(0.3) ** 2)


# ---------------------------------------------------------------------------- decorator forms


def test_grad_decorator_plain():
    @srcgrad.grad
    def f(x):
        return np.sum(np.sin(x) * x)

    x = np.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(f(x), np.sin(x) + x * np.cos(x), rtol=1e-12, atol=1e-12)


def test_grad_decorator_with_wrt():
    @srcgrad.grad(wrt=(0, 1))
    def f(a, x):
        return a * np.dot(x, x)

    ga, gx = f(1.5, np.arange(3.0))
    assert isinstance(ga, float)
    np.testing.assert_allclose(ga, 5.0)
    np.testing.assert_allclose(gx, 3.0 * np.arange(3.0))


def test_grad_decorator_with_backend():
    @srcgrad.grad(backend="python")
    def f(a):
        return a * a * a

    assert f(2.0) == pytest.approx(12.0)


# ---------------------------------------------------------------------------- generated source


@pytest.mark.parametrize("api", ["jvp", "vjp", "grad"])
@pytest.mark.parametrize("name", ["rosenbrock", "recurrence", "polar"])
def test_source_is_python(api, name):
    case = CORPUS_BY_NAME[name]
    g = getattr(srcgrad, api)(case.fn, wrt=case.wrt, backend="python")
    src = srcgrad.source(g)
    assert isinstance(src, str) and src == g.source
    assert "def " in src
    compile(src, "<srcgrad>", "exec")
