"""The CUDA target in numba's simulator; run by test_targets.py with NUMBA_ENABLE_CUDASIM=1 set
before numba is imported. Sizes stay small: the simulator runs about 200 µs per thread. On a
machine with a GPU, `python -m pytest -o addopts= tests/simulated_cuda.py` runs the same checks
on the GPU."""
import os

import numpy as np
import pytest
from numba import cuda

import srcgrad
from srcgrad.errors import UnsupportedSyntaxError
from tests import target_functions as tf

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or cuda.is_available(), \
    "run through tests/test_targets.py (the simulator), or on a machine with a GPU"
rng = np.random.default_rng(3)


def per_element(derivative, *args):
    shape = next(np.shape(a) for a in args if np.ndim(a))
    flat = [np.broadcast_to(a, shape).ravel() for a in args]
    return [derivative(*(f[k] for f in flat)) for k in range(flat[0].size)]


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fn, args, wrt", [
    (tf.bs_call, (rng.uniform(80, 120, 12), rng.uniform(0.1, 0.5, 12), 0.03, 100.0, 1.0), (0, 1, 2)),
    (tf.lennard_jones, (rng.uniform(0.8, 3.0, 12), 1.5, 1.1), (0, 1, 2)),
    (tf.newton_sqrt, (rng.uniform(0.1, 50, 12), 1e-12), (0,)),
    (tf.damped_oscillator, (rng.uniform(1, 5, 12), rng.uniform(0, 1, 12), 50), (0, 1)),
    (tf.calls_helper, (rng.normal(size=(3, 4)), rng.normal(size=(3, 4))), (0, 1)),
], ids=["bs_call", "lennard_jones", "newton_sqrt", "damped_oscillator", "calls_helper"])
def test_value_and_grad_matches_cpu(fn, args, wrt):
    value, grads = srcgrad.value_and_grad(fn, wrt=wrt, target="cuda")(*args)
    assert isinstance(value, np.ndarray), "host arrays in, host arrays out"
    expected = per_element(srcgrad.value_and_grad(fn, wrt=wrt), *args)
    close(value.ravel(), [v for v, _ in expected])
    for k in range(len(wrt)):
        close(grads[k].ravel(), [g[k] for _, g in expected])


def test_jvp_and_vjp_agree():
    x, y, v, w = (rng.normal(size=10) for _ in range(4))
    _, tangent = srcgrad.jvp(tf.calls_helper, wrt=(0, 1), target="cuda")(x, y, v, v)
    _, (gx, gy) = srcgrad.vjp(tf.calls_helper, wrt=(0, 1), target="cuda")(x, y, w)
    close(w * tangent, v * (gx + gy))


def test_device_arrays_stay_on_the_device_and_the_kernel_is_reused():
    S, sigma = rng.uniform(80, 120, 16), rng.uniform(0.1, 0.5, 16)
    g = srcgrad.grad(tf.bs_call, wrt=(0, 1), target="cuda")
    delta, vega = g(cuda.to_device(S), cuda.to_device(sigma), 0.03, 100.0, 1.0)
    assert hasattr(delta, "copy_to_host") and not isinstance(delta, np.ndarray)
    on_host = g(S, sigma, 0.03, 100.0, 1.0)
    close(delta.copy_to_host(), on_host[0])
    close(vega.copy_to_host(), on_host[1])
    g(cuda.to_device(S[:5]), cuda.to_device(sigma[:5]), 0.04, 100.0, 1.0)
    assert len(g._specializations.launchers) == 1   # same kinds: one kernel, whatever the size or the values


def test_arrays_inside_the_function_are_refused_at_their_line():
    g = srcgrad.grad(tf.binomial_call, target="cuda")
    with pytest.raises(UnsupportedSyntaxError, match=r"target_functions.py:\d+(.|\n)*values = np.empty(.|\n)*CUDA device"):
        g(np.full(4, 100.0), 0.2, 0.03, 100.0, 1.0, 10)


def test_cpu_only_helpers_are_refused():
    with pytest.raises(UnsupportedSyntaxError, match=r"scipy.special.erf on a CUDA device(.|\n)*math.erf"):
        srcgrad.grad(tf.special_erf, target="cuda")(np.linspace(0, 1, 4))


def test_cupy_arrays_are_taken_on_the_device():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("CuPy needs a real GPU")
    cupy = pytest.importorskip("cupy")
    S, sigma = rng.uniform(80, 120, 64), rng.uniform(0.1, 0.5, 64)
    g = srcgrad.grad(tf.bs_call, wrt=(0, 1), target="cuda")
    delta, vega = g(cupy.asarray(S), cupy.asarray(sigma), 0.03, 100.0, 1.0)
    assert hasattr(delta, "copy_to_host")   # numba device arrays out, no copy through the host
    on_host = g(S, sigma, 0.03, 100.0, 1.0)
    close(delta.copy_to_host(), on_host[0])
    close(vega.copy_to_host(), on_host[1])


# ----- pattern 2: prange loops as kernels ----------------------------------------------------------

def flat(result):
    items = result if isinstance(result, tuple) else (result,)
    return np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in items])


PRANGE = [
    (tf.least_squares, (rng.normal(size=4), 0.3, rng.normal(size=(40, 4)), rng.normal(size=40)), (0, 1)),
    (tf.gmm_loglik_streaming, (rng.normal(size=(3, 2)), rng.normal(size=3), 0.2 * rng.normal(size=3),
                               rng.normal(size=(30, 2))), (0, 1, 2)),
]


@pytest.mark.parametrize("fn, args, wrt", PRANGE, ids=[c[0].__name__ for c in PRANGE])
def test_prange_kernels_match_the_cpu_target(fn, args, wrt):
    value, grads = srcgrad.value_and_grad(fn, wrt=wrt, target="cuda")(*args)
    expected_value, expected = srcgrad.value_and_grad(fn, wrt=wrt)(*args)
    assert isinstance(value, float) and all(isinstance(g, (np.ndarray, float)) for g in grads)
    close(value, expected_value)
    close(flat(grads), flat(expected))
    tangents = [rng.normal(size=np.shape(args[w])) if np.ndim(args[w]) else 0.7 for w in wrt]
    out, tangent = srcgrad.jvp(fn, wrt=wrt, target="cuda")(*args, *tangents)
    close(out, expected_value)
    close(tangent, sum(np.sum(t * g) for t, g in zip(tangents, expected)))   # forward kernel against reverse on the CPU


def test_prange_kernels_of_a_vector_output():
    args = (np.array([2.0, 0.7, 0.1]), np.linspace(0, 3, 25), rng.normal(size=25))
    v, w = rng.normal(size=3), rng.normal(size=25)
    values, tangent = srcgrad.jvp(tf.decay_residuals, target="cuda")(*args, v)
    close(values, tf.decay_residuals(*args))
    close(tangent, srcgrad.jvp(tf.decay_residuals)(*args, v)[1])
    _, cotangent = srcgrad.vjp(tf.decay_residuals, target="cuda")(*args, w)
    close(np.dot(w, tangent), np.dot(cotangent, v))


def test_prange_kernels_keep_device_arrays_on_the_device():
    w, b, X, y = PRANGE[0][1]
    g = srcgrad.grad(tf.least_squares, wrt=(0, 1), target="cuda")
    w_bar, b_bar = g(cuda.to_device(w), b, cuda.to_device(X), cuda.to_device(y))
    assert hasattr(w_bar, "copy_to_host") and not isinstance(w_bar, np.ndarray) and isinstance(b_bar, float)
    expected = srcgrad.grad(tf.least_squares, wrt=(0, 1))(w, b, X, y)
    close(w_bar.copy_to_host(), expected[0])
    close(b_bar, expected[1])
    g(w, b, X[:7], y[:7])   # host arrays of other sizes: the same kernels
    assert len(g._specializations.cache) == 1
    assert "cuda.atomic.add(w_bar_parts, (j, part)," in g.source and "cuda_loop(" in g.source


def test_random_kernel_programs_agree_with_the_cpu_target(tmp_path):
    """The fuzzer's kernel-shaped programs (tests/fuzz/kernels.py): target='cuda' against the
    python backend, finite differences and forward-against-reverse, on every API."""
    from tests.fuzz.checks import check_program
    from tests.fuzz.generator import generate
    from tests.fuzz.plan import Plan
    outcomes = [check_program(generate(f"kernels-ci:{k}:0"), Plan(backends=("python", "cuda")), str(tmp_path))
                for k in range(6)]
    assert [o.status for o in outcomes] == ["agreed"] * 6, [o.primary.describe() for o in outcomes if o.failures]
    assert sum(o.on_cuda == "ran" for o in outcomes) >= 4
