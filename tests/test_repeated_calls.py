"""Calls of a derivative again with arguments of the same kinds: looked up by a cheap signature,
and straight into the generated code once a first call checked them (grad, value_and_grad, jvp,
vjp, derivative, jacfwd's vector pass and compiled loop of passes, and jacrev's compiled loop)."""
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


def _expected_jacobian(x, w, scale):
    return gradcheck.numeric_jacobian(weighted_energy, (x, w, scale), wrt=(0, 1)).ravel()


@pytest.mark.parametrize("api", ["jvp", "vjp"])
def test_repeated_products_agree_with_finite_differences_whatever_changes_between_them(api):
    derivative = getattr(srcgrad, api)(weighted_energy, wrt=(0, 1))
    calls = [(30, "c", 1.5), (30, "c", 1.5), (30, "strided", 1.5), (5, "c", 2.0), (7, "c", 2.0), (31, "c", 1.5),
             (30, "c", 1.5)]
    for k, (n, layout, scale) in enumerate(calls):
        x, w = _inputs(n, layout)
        J = _expected_jacobian(x, w, scale)
        if api == "jvp":
            dx, dw = np.cos(np.arange(n) + k), np.sin(np.arange(n) - k)
            value, tangent = derivative(x, w, scale, dx, dw)
            assert np.isclose(tangent, J @ np.concatenate([dx, dw]), rtol=1e-6, atol=1e-8)
            assert dx[0] == np.cos(k)   # the tangents are the caller's still
        else:
            value, (x_bar, w_bar) = derivative(x, w, scale, 0.5 + k)
            np.testing.assert_allclose(np.concatenate([x_bar, w_bar]), (0.5 + k) * J, rtol=1e-6, atol=1e-8)
        assert np.isclose(value, weighted_energy(x, w, scale))


def test_a_repeated_jvp_with_a_tangent_of_another_shape_is_refused_as_the_first():
    x, w = _inputs(30, "c")
    product = srcgrad.jvp(weighted_energy, wrt=0)
    product(x, w, 1.5, np.ones(30))
    product(x, w, 1.5, np.ones(30))
    with pytest.raises(srcgrad.SrcgradError, match="tangent"):
        product(x, w, 1.5, np.ones(31))   # the same signature: a length this long is not part of it


def sines(x, scale):
    return scale * np.sin(x) * x[0]


def cubic(t):
    return t ** 3 - 2.0 * t


def test_repeated_derivatives_and_jacobians_agree_with_finite_differences():
    slope = srcgrad.derivative(cubic)
    for t in (0.5, 0.5, 2.0, np.float64(-1.5), -1.5):
        assert np.isclose(slope(t), 3.0 * t ** 2 - 2.0)
    jacobian = srcgrad.jacfwd(sines)
    for n in (20, 20, 25, 20, 3, 3, 4):   # 20 and 25 share a signature: the seeds follow the length
        x = np.linspace(0.1, 1.0, n)
        expected = gradcheck.numeric_jacobian(sines, (x, 0.7), wrt=(0,))
        np.testing.assert_allclose(jacobian(x, 0.7), expected.reshape(n, n), rtol=1e-6, atol=1e-8)


def project(cam, X, w):
    """One of GradBench ba's blocks: float arithmetic on small vectors, one pass per direction."""
    p = X[0:2] / (X[2] + cam[0]) * cam[1]
    return w * p


def test_repeated_jacobians_by_a_compiled_loop_of_passes_agree_with_finite_differences():
    jacobian = srcgrad.jacfwd(project, wrt=(0, 1, 2))
    rng = np.random.default_rng(3)
    for k in range(4):   # the first call runs its passes from Python, the second compiles them into a loop
        cam, X, w = rng.normal(size=2), rng.normal(size=3) + np.array([0.0, 0.0, 4.0]), float(rng.normal())
        J_cam, J_X, J_w = jacobian(cam, X, w)
        expected = gradcheck.numeric_jacobian(project, (cam, X, w), wrt=(0, 1, 2)).reshape(2, 6)
        np.testing.assert_allclose(np.concatenate([J_cam, J_X, np.reshape(J_w, (2, 1))], axis=1), expected,
                                   rtol=1e-6, atol=1e-8)


def _loops_of(derivative) -> list:
    from srcgrad import api
    found, cells = [], list(derivative._call.__closure__ or ())
    while cells:
        value = cells.pop().cell_contents
        if isinstance(value, api._DirectionLoops):
            found.append(value)
        elif callable(value) and getattr(value, "__closure__", None) and value is not derivative._call:
            cells += [c for c in value.__closure__ if c.cell_contents is not value]
    return found


def scaled_in_place(x, out):
    out[0] = out[0] + 1.0   # the caller's array changes once per call, however many passes run
    return np.sin(x) * out[0]


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_repeated_reverse_jacobians_by_a_compiled_loop_agree_with_finite_differences(backend):
    """jacrev called again with arguments of the same kinds runs every output's pass in one
    compiled loop (numba): the same blocks as the first call's Python passes, for a float output,
    a vector output and a scalar argument; a matrix output and an argument the function writes
    into keep the Python passes (the caller's array changes once per call)."""
    rng = np.random.default_rng(4)
    jacobian = srcgrad.jacrev(project, wrt=(0, 1, 2), backend=backend)
    energy = srcgrad.jacrev(weighted_energy, wrt=(0, 2), backend=backend)
    outer = srcgrad.jacrev(lambda x: np.outer(x, x), backend=backend)
    for k in range(4):   # the first call runs its passes from Python, the next ones compile them into a loop
        cam, X, w = rng.normal(size=2), rng.normal(size=3) + np.array([0.0, 0.0, 4.0]), float(rng.normal())
        J_cam, J_X, J_w = jacobian(cam, X, w)
        assert np.shape(J_w) == (2,) and J_cam.shape == (2, 2) and J_X.shape == (2, 3)
        expected = gradcheck.numeric_jacobian(project, (cam, X, w), wrt=(0, 1, 2)).reshape(2, 6)
        np.testing.assert_allclose(np.concatenate([J_cam, J_X, np.reshape(J_w, (2, 1))], axis=1), expected,
                                   rtol=1e-6, atol=1e-8)
        x, wv = rng.normal(size=5), rng.normal(size=5)
        g_x, g_scale = energy(x, wv, 1.5)
        assert np.ndim(g_scale) == 0
        expected = gradcheck.numeric_jacobian(weighted_energy, (x, wv, 1.5), wrt=(0, 2)).ravel()
        np.testing.assert_allclose(np.concatenate([g_x, [g_scale]]), expected, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(outer(x).reshape(25, 5), gradcheck.numeric_jacobian(lambda v: np.outer(v, v), (x,), 0),
                                   rtol=1e-6, atol=1e-8)
    looped = [loops for d in (jacobian, energy) for loops in _loops_of(d) if loops.loops]
    assert (len(looped) == 2 and all(f is not None for loops in looped for f in loops.loops.values())) == (backend == "numba")
    assert all(f is None for loops in _loops_of(outer) for f in loops.loops.values())
    written = srcgrad.jacrev(scaled_in_place, backend=backend)
    out = np.array([0.5])
    for k in range(3):
        x = rng.normal(size=3)
        before = out[0]
        np.testing.assert_allclose(written(x, out), np.diag(np.cos(x) * (before + 1.0)), rtol=1e-12)
        assert out[0] == before + 1.0


@pytest.mark.parametrize("api", ["grad", "value_and_grad", "jvp", "vjp", "derivative", "jacfwd", "jacfwd-loop"])
def test_a_repeated_call_skips_the_look_up_of_its_code(api, monkeypatch):
    if api == "derivative":
        derivative, args = srcgrad.derivative(cubic), (0.5,)
    elif api == "jacfwd":
        derivative, args = srcgrad.jacfwd(sines), (np.linspace(0.1, 1.0, 20), 0.7)
    elif api == "jacfwd-loop":
        derivative, args = srcgrad.jacfwd(project, wrt=(0, 1, 2)), (np.ones(2), np.array([1.0, 2.0, 5.0]), 0.5)
    else:
        derivative = getattr(srcgrad, api)(weighted_energy, wrt=(0, 1))
        x, w = _inputs(30, "c")
        args = (x, w, 1.5) + ((x, w) if api == "jvp" else (1.0,) if api == "vjp" else ())
    first = derivative(*args)
    derivative(*args)   # jacfwd's loop of passes is compiled at the second call

    def looked_up(*_):
        raise AssertionError("a repeated call looked its code up again")
    monkeypatch.setattr(srcgrad.api._Specializations, "found", looked_up)
    np.testing.assert_allclose(gradcheck.flatten(derivative(*args)), gradcheck.flatten(first))
