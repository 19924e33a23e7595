"""compiled_for: a derivative called from the user's own numba code gives what calling it from Python gives."""
import inspect

import numba
import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)

import srcgrad


def weighted_sines(x, a):
    s = 0.0
    for i in range(x.shape[0]):
        s += a * np.sin(x[i]) * x[i]
    return s


def sine_times(x):
    return np.sin(x) * x


X = np.linspace(0.1, 1.0, 4)


def test_every_api_inside_an_njit_loop():
    g = srcgrad.grad(weighted_sines, wrt=(0, 1))
    vg = srcgrad.value_and_grad(weighted_sines)
    j, v = srcgrad.jvp(sine_times), srcgrad.vjp(sine_times)
    dsin = srcgrad.derivative(lambda_free_scalar)
    gc, vgc, jc, vc, dc = (g.compiled_for(X, 2.0), vg.compiled_for(X, 2.0), j.compiled_for(X, X),
                           v.compiled_for(X, X), dsin.compiled_for(0.3))

    @numba.njit
    def loop(x):
        total = np.zeros(x.shape[0])
        for k in range(3):
            gx, ga = gc(x, 2.0 + k)
            value, gx1 = vgc(x, 1.0)
            total += gx + ga + gx1 + value + jc(x, x)[1] + vc(x, 2.0 * x)[1] + dc(0.1 * k)
        return total

    want = sum(g(X, 2.0 + k)[0] + g(X, 2.0 + k)[1] + vg(X, 1.0)[1] + vg(X, 1.0)[0] + j(X, X)[1]
               + v(X, 2.0 * X)[1] + dsin(0.1 * k) for k in range(3))
    np.testing.assert_allclose(loop(X), want, rtol=1e-13)
    np.testing.assert_allclose(dsin(0.3), np.cos(0.3) * 0.3 + np.sin(0.3), rtol=1e-13)


def lambda_free_scalar(t):
    return np.sin(t) * t


def test_python_backend_gives_a_plain_function():
    g = srcgrad.grad(weighted_sines, backend="python")
    gc = g.compiled_for(X, 2.0)
    np.testing.assert_allclose(gc(X, 2.0), g(X, 2.0))


def rotate_and_scale(angles, point, scale):
    c, s = np.cos(angles[0]), np.sin(angles[0])
    return scale * np.array([c * point[0] - s * point[1], s * point[0] + c * point[1], point[2] * angles[1]])


def test_jacrev_blocks_inside_an_njit_loop():
    jac = srcgrad.jacrev(rotate_and_scale, wrt=(0, 1, 2))
    angles, point = np.array([0.3, 1.2]), np.array([1.0, -2.0, 0.5])
    blocks = jac.compiled_for(angles, point, 2.0)
    scalar_jac = srcgrad.jacrev(weighted_sines, wrt=(0, 1)).compiled_for(X, 2.0)

    @numba.njit
    def loop(angles, point):
        total = np.zeros((3, 2))
        for k in range(4):
            J_angles, J_point, J_scale = blocks(angles, point, 1.0 + k)
            total += J_angles + J_point[:, :2] + J_scale.reshape(3, 1)
        return total, scalar_jac(angles[:1] * np.ones(4), 2.0)

    total, (g_x, g_a) = loop(angles, point)
    want = sum(J[0] + J[1][:, :2] + J[2].reshape(3, 1) for J in (jac(angles, point, 1.0 + k) for k in range(4)))
    np.testing.assert_allclose(total, want, rtol=1e-13)
    np.testing.assert_allclose(g_x, srcgrad.grad(weighted_sines)(np.full(4, 0.3), 2.0), rtol=1e-13)


def test_jacfwd_and_hessian_inside_an_njit_loop():
    jac = srcgrad.jacfwd(sine_times).compiled_for(X)
    hess = srcgrad.hessian(weighted_sines).compiled_for(X, 2.0)

    @numba.njit
    def traces(points):
        total = 0.0
        for k in range(points.shape[0]):
            total += np.trace(jac(points[k])) + np.trace(hess(points[k], 2.0))
        return total

    points = np.stack([X, 2 * X])
    want = sum(np.trace(srcgrad.jacfwd(sine_times)(p)) + np.trace(srcgrad.hessian(weighted_sines)(p, 2.0)) for p in points)
    assert np.isclose(traces(points), want, rtol=1e-12)


def pulled_field(x, s):
    y = np.tanh(np.outer(x, x) @ x) * s
    return y[:3] + x[1] * s


def total_sine(x, s):
    return np.sum(np.sin(x)) * s + s ** 3


@pytest.mark.parametrize("fn", [pulled_field, total_sine])
def test_jacfwd_of_array_code_inside_an_njit_loop_takes_one_vector_pass(fn):
    """Array code has a vector-mode pass (all input directions at once): compiled_for calls it
    once, as a call from Python does, instead of one tangent pass per input element; the blocks
    are what a call from Python gives, for a 1-D and a float output, by a vector and a float."""
    jac = srcgrad.jacfwd(fn, wrt=(0, 1))
    blocks = jac.compiled_for(X, 0.3)
    with open(inspect.getsourcefile(blocks.py_func)) as source:
        assert "columns = vector(a0, a1, identity[o0:o1], identity[o1])[1]" in source.read()

    @numba.njit
    def loop(x):
        J_x, J_s = blocks(x, 0.3)
        total_x, total_s = np.zeros_like(J_x), np.zeros_like(J_s)
        for k in range(3):
            J_x, J_s = blocks(x * (1.0 + k), 0.3)
            total_x += J_x
            total_s += J_s
        return total_x, total_s

    total_x, total_s = loop(X)
    want = [jac(X * (1.0 + k), 0.3) for k in range(3)]
    np.testing.assert_allclose(total_x, sum(J[0] for J in want), rtol=1e-13)
    np.testing.assert_allclose(total_s, sum(J[1] for J in want), rtol=1e-13)
    numeric = (np.array(fn(X, 0.3 + 1e-6)) - np.array(fn(X, 0.3 - 1e-6))) / 2e-6
    np.testing.assert_allclose(blocks(X, 0.3)[1], numeric, rtol=1e-6)


def test_what_compiled_for_does_not_cover_says_so():
    with pytest.raises(srcgrad.SrcgradError, match="float or a 1-D array"):
        srcgrad.jacfwd(outer_square).compiled_for(X)


def outer_square(x):
    return np.outer(x, x)
