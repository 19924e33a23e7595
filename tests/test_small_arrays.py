"""Small arrays held as scalars (normalize/small_arrays.py): derivatives against finite differences,
forward against reverse, and numpy's semantics where the array is still needed or shared."""
import numba
import numpy as np
import pytest

from gradcheck import check_jvp, check_vjp, dot_product_test, numeric_jacobian

import srcgrad

BACKENDS = ("numba", "python")


def rotate(rot, X):
    """Rodrigues' rotation of X by the angle-axis vector rot, as GradBench's BA writes it."""
    sqtheta = np.sum(rot ** 2)
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        w = rot / theta
        w_cross_X = np.cross(w, X)
        tmp = np.dot(w, X) * (1.0 - np.cos(theta))
        return X * np.cos(theta) + w_cross_X * np.sin(theta) + w * tmp
    else:
        return X + np.cross(rot, X)


def reprojection(cam, X, w):
    Xcam = rotate(cam[0:3], X - cam[3:6])
    p = Xcam[0:2] / Xcam[2]
    rsq = np.sum(p ** 2)
    distorted = p * (1.0 + cam[9] * rsq + cam[10] * rsq * rsq)
    return w * (distorted * cam[6] + cam[7:9])


def lorenz(s, params):
    return np.array([params[0] * (s[1] - s[0]), s[0] * (params[1] - s[2]) - s[1], s[0] * s[1] - params[2] * s[2]])


def lorenz_rk4(state, params):
    """A 3-state ODE written with a state vector, integrated by RK4 in a loop."""
    dt = 0.01
    for _ in range(20):
        k1 = lorenz(state, params)
        k2 = lorenz(state + 0.5 * dt * k1, params)
        k3 = lorenz(state + 0.5 * dt * k2, params)
        k4 = lorenz(state + dt * k3, params)
        state = state + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return np.sum(state ** 2)


def pendulum_written(theta, omega):
    """A work vector filled element by element, as Fortran-style code does."""
    out = np.zeros(2)
    for _ in range(10):
        out[0] = theta + 0.05 * omega
        out[1] = omega - 0.05 * np.sin(theta)
        theta = out[0]
        omega = out[1]
    out[1] = out[1] * 2.0
    return out


CAM = np.array([0.1, -0.2, 0.3, 0.5, -0.4, 0.2, 1.1, 0.05, -0.03, 0.01, 0.002])
POINT = np.array([0.3, -0.2, 2.0])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", [
    (reprojection, (CAM, POINT, 0.9), (0, 1, 2)),
    (reprojection, (np.r_[0.0, 0.0, 0.0, CAM[3:]], POINT, 0.9), (0, 1)),   # the rotation's zero branch
    (lorenz_rk4, (np.array([1.0, 1.2, 0.9]), np.array([10.0, 28.0, 8.0 / 3.0])), (0, 1)),
    (pendulum_written, (0.4, -0.3), (0, 1)),
], ids=["reprojection", "zero_rotation", "lorenz_rk4", "work_vector"])
def test_derivatives_of_small_vector_code(case, backend):
    f, args, wrt = case
    check_jvp(f, args, wrt, backend)
    check_vjp(f, args, wrt, backend)
    dot_product_test(f, args, wrt, backend)


def test_the_generated_code_holds_the_vectors_as_scalars():
    g = srcgrad.jacrev(reprojection, wrt=(0, 1))
    g(CAM, POINT, 0.9)
    source = "\n".join(line for line in g.source.splitlines() if not line.strip().startswith("#"))
    assert "np.cross" not in source and "np.dot" not in source
    # what stays an array: the returned value and the adjoints of the two array arguments
    assert source.count("np.zeros(") + source.count("np.empty(") <= 3, source
    assert "built for `cam` of length 11" in source


def needs_the_array(v_scale, M):
    v = np.array([v_scale, 2.0 * v_scale, 0.5])
    w = v * v_scale            # held
    r = w @ M                  # a product with a matrix: w is built again as an array
    return np.sum(r) + w[2]


def written_after_use(a, b, M):
    v = np.zeros(3)
    v[0] = a
    first = np.sum(v @ M)      # needs the array with v[1] still 0
    v[1] = b * a
    v[2] = v[1] + 1.0
    second = np.sum(v @ M)
    return first * second + v[2]


def needed_in_one_branch(a, M):
    v = np.zeros(3)
    v[0] = a
    v[1] = a * a
    if a > 10.0:               # not taken: the array built for this use must not be needed later
        return np.sum(v @ M)
    v[2] = np.sin(a)
    return np.sum(M @ v) + v[2]


def shared_then_written(a):   # forward mode only: reverse mode refuses writes through a second name
    v = np.array([a, 2.0 * a, 3.0])
    u = v                      # the same array: a write through u changes v
    u[0] = 5.0 * a * a
    return v[0] + np.sum(v * u)


def reversed_and_strided(x):
    y = x * 1.0
    r = y[::-1]
    s = y[1::2]
    y = y[::-1]                # a binding that reads its own elements in another order
    return np.sum(r * y) + s[-1] * y[0] + np.dot(r[0:2], s)


def broadcast_one(x, a):
    one = np.array([a])
    v = x[0:3] * 2.0
    return np.sum(np.sin(one * v) + one)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", [
    (needs_the_array, (0.7, np.arange(9.0).reshape(3, 3) / 7.0), 0),
    (written_after_use, (0.7, -1.3, np.arange(9.0).reshape(3, 3) / 7.0), (0, 1)),
    (needed_in_one_branch, (0.7, np.arange(9.0).reshape(3, 3) / 7.0), 0),
    (shared_then_written, (0.6,), 0),
    (reversed_and_strided, (np.array([0.3, -0.5, 0.8, 1.1]),), 0),
    (broadcast_one, (np.array([0.3, -0.5, 0.8]), 0.4), (0, 1)),
], ids=["needs_array", "written_after_use", "one_branch", "shared", "reversed", "broadcast_one"])
def test_numpy_semantics_where_the_array_is_needed_or_shared(case, backend):
    f, args, wrt = case
    check_jvp(f, args, wrt, backend)
    if f is not shared_then_written:
        check_vjp(f, args, wrt, backend)


def norm3(x):
    """x packs a point (its first three) and weights: its length is the code's, not a problem size."""
    c = x[0:3] - np.array([0.1, 0.2, 0.3])
    return np.sqrt(np.sum(c * c) + 1.0) * x[0] + np.sum(x * x)


def sum_of_squares(x):   # any length: nothing in the code fixes it
    return np.sum(x * x) + x[0]


def test_a_parameter_is_held_only_where_the_code_fixes_its_length():
    g, h = srcgrad.grad(norm3), srcgrad.grad(sum_of_squares)
    g(np.linspace(0.2, 1.0, 5))
    h(np.linspace(0.2, 1.0, 5))
    assert "built for `x` of length 5" in g.source and "built for" not in h.source


def test_lengths_tell_builds_apart():
    g = srcgrad.grad(norm3)
    for n in (3, 5, 3, 40, 5):   # 40 is too long to hold: an array loop
        x = np.linspace(0.2, 1.0, n)
        expected = numeric_jacobian(norm3, (x,))[0]
        np.testing.assert_allclose(g(x), expected, rtol=1e-6, atol=1e-8)


def test_compiled_for_refuses_another_length_inside_numba():
    g = srcgrad.grad(norm3).compiled_for(np.ones(3))

    @numba.njit
    def call(x):
        return g(x)

    np.testing.assert_allclose(call(np.array([0.5, 0.2, 0.1])),
                               numeric_jacobian(norm3, (np.array([0.5, 0.2, 0.1]),))[0], rtol=1e-6)
    with pytest.raises(ValueError, match="built for `x` of length 3"):
        call(np.ones(4))


def test_a_derivative_differentiated_again_serves_every_length():
    h = srcgrad.hessian(norm3)
    for n in (3, 4):
        x = np.linspace(0.2, 1.0, n)
        grad = srcgrad.grad(norm3)
        expected = numeric_jacobian(lambda v: grad(v), (x,))
        np.testing.assert_allclose(h(x), expected, rtol=1e-5, atol=1e-7)
    g = srcgrad.grad(norm3)   # code built for any length, above, does not stop this one holding x
    g(np.linspace(0.2, 1.0, 6))
    assert "built for `x` of length 6" in g.source


CACHED = """
import json, sys
sys.path.insert(0, {user!r})
import numpy as np
import srcgrad, srcgrad.pipeline as pipeline
runs = []
build = pipeline.ModuleBuilder.build
def counted(self, *args, **kwargs):
    runs.append(1)
    return build(self, *args, **kwargs)
pipeline.ModuleBuilder.build = counted
import model
x = np.linspace(0.1, 0.9, {n})
print(json.dumps({{"held": srcgrad.grad(model.held)(x).tolist(), "loop": srcgrad.grad(model.loop)(x).tolist(),
                   "built": len(runs)}}))
"""

MODEL = """
import numpy as np

def held(x):
    p = x[0:2]
    return np.sum(np.sin(p) * p) + np.sum(x * x)

def loop(x):
    total = 0.0
    for i in range(x.shape[0]):
        total += np.sin(x[i]) * x[i]
    return total
"""


@pytest.mark.slow
def test_a_new_process_finds_code_for_its_lengths_in_the_transform_cache(tmp_path):
    """Code that holds x as scalars is stored for x's length; code that relies on no length is
    found again by a process calling with another length."""
    import json
    import os
    import subprocess
    import sys
    (tmp_path / "model.py").write_text(MODEL)
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / "cache"))

    def run(n):
        out = subprocess.run([sys.executable, "-c", CACHED.format(user=str(tmp_path), n=n)], env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    x = {n: np.linspace(0.1, 0.9, n) for n in (3, 4)}
    expected = {n: np.sin(v) + v * np.cos(v) for n, v in x.items()}
    held = {n: 2.0 * v + np.r_[np.sin(v[:2]) + v[:2] * np.cos(v[:2]), np.zeros(n - 2)] for n, v in x.items()}
    first, same, other = run(3), run(3), run(4)
    assert first["built"] == 2 and same["built"] == 0 and other["built"] == 1   # held: built again for length 4
    for result, n in ((first, 3), (same, 3), (other, 4)):
        np.testing.assert_allclose(result["held"], held[n], rtol=1e-12)
        np.testing.assert_allclose(result["loop"], expected[n], rtol=1e-12)
