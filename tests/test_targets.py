"""target="parallel" and target="cuda": batched derivatives agree with the CPU target element by element.

The CUDA target runs under numba's simulator in a subprocess (tests/simulated_cuda.py), since the
simulator must be switched on before numba is imported.
"""
import os
import subprocess
import sys
import types
from pathlib import Path

import numba
import numpy as np
import pytest

import srcgrad
from srcgrad.errors import SrcgradError, WrtError
from tests import target_functions as tf

RTOL = 1e-10
rng = np.random.default_rng(7)


def per_element(derivative, *args):
    """The CPU target's derivative at each element (scalars broadcast), as arrays."""
    shape = next(np.shape(a) for a in args if np.ndim(a))
    flat = [np.broadcast_to(a, shape).ravel() for a in args]
    results = [derivative(*(f[k] for f in flat)) for k in range(flat[0].size)]
    return results, shape


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-12)


CASES = [
    (tf.bs_call, (rng.uniform(80, 120, 40), rng.uniform(0.1, 0.5, 40), 0.03, 100.0, rng.uniform(0.2, 2, 40)), (0, 1, 2, 4)),
    (tf.lennard_jones, (rng.uniform(0.8, 3.0, 40), 1.5, 1.1), (0, 1, 2)),
    (tf.newton_sqrt, (rng.uniform(0.1, 50, 40), 1e-12), (0,)),
    (tf.damped_oscillator, (rng.uniform(1, 5, 40), rng.uniform(0, 1, 40), 200), (0, 1)),
    (tf.calls_helper, (rng.normal(size=(5, 8)), rng.normal(size=(5, 8))), (0, 1)),
    (tf.binomial_call, (rng.uniform(80, 120, 12), rng.uniform(0.1, 0.5, 12), 0.03, 100.0, 1.0,
                        rng.integers(20, 60, 12)), (0, 1)),
]


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_value_and_grad_matches_cpu(fn, args, wrt):
    value, grads = srcgrad.value_and_grad(fn, wrt=wrt, target="parallel")(*args)
    expected, shape = per_element(srcgrad.value_and_grad(fn, wrt=wrt), *args)
    assert value.shape == shape and all(g.shape == shape for g in grads)
    close(value.ravel(), [v for v, _ in expected])
    for k in range(len(wrt)):
        close(grads[k].ravel(), [g[k] for _, g in expected])


def test_grad_matches_finite_differences():
    S, sigma = rng.uniform(80, 120, 20), rng.uniform(0.1, 0.5, 20)
    delta, vega = srcgrad.grad(tf.bs_call, wrt=(0, 1), target="parallel")(S, sigma, 0.03, 100.0, 1.0)
    h = 1e-5
    close_fd = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6)  # noqa: E731
    price = np.vectorize(tf.bs_call)
    close_fd(delta, (price(S + h, sigma, 0.03, 100.0, 1.0) - price(S - h, sigma, 0.03, 100.0, 1.0)) / (2 * h))
    close_fd(vega, (price(S, sigma + h, 0.03, 100.0, 1.0) - price(S, sigma - h, 0.03, 100.0, 1.0)) / (2 * h))


def test_jvp_takes_array_and_scalar_tangents():
    omega, zeta = rng.uniform(1, 5, 30), rng.uniform(0, 1, 30)
    dzeta = rng.normal(size=30)
    value, tangent = srcgrad.jvp(tf.damped_oscillator, wrt=(0, 1), target="parallel")(omega, zeta, 100, 1.0, dzeta)
    expected, _ = per_element(lambda o, z, t: srcgrad.jvp(tf.damped_oscillator, wrt=(0, 1))(o, z, 100, 1.0, t), omega, zeta, dzeta)
    close(value, [v for v, _ in expected])
    close(tangent, [t for _, t in expected])


def test_vjp_scales_by_the_cotangent_and_agrees_with_jvp():
    x, y = rng.normal(size=25), rng.normal(size=25)
    w, v = rng.normal(size=25), rng.normal(size=25)
    _, (gx, gy) = srcgrad.vjp(tf.calls_helper, wrt=(0, 1), target="parallel")(x, y, w)
    _, tangent = srcgrad.jvp(tf.calls_helper, wrt=(0, 1), target="parallel")(x, y, v, v)
    close(w * tangent, v * (gx + gy))   # per element: <Jv, w> = <v, J^T w>


def test_jacobians_of_a_function_of_floats_are_its_gradient():
    x, y = rng.normal(size=10), rng.normal(size=10)
    grads = srcgrad.grad(tf.calls_helper, wrt=(0, 1), target="parallel")(x, y)
    for jac in (srcgrad.jacfwd, srcgrad.jacrev):
        for a, b in zip(jac(tf.calls_helper, wrt=(0, 1), target="parallel")(x, y), grads):
            close(a, b)


def test_source_shows_the_launcher():
    g = srcgrad.grad(tf.lennard_jones, target="parallel")
    g(np.linspace(1, 2, 4), 1.0, 1.0)
    text = srcgrad.source(g)
    assert "def jvp_lennard_jones(" in text and "for i in prange(" in text and "@parallel_jit" in text


@pytest.mark.parametrize("call, message", [
    (lambda: srcgrad.grad(tf.lennard_jones, target="parallel")(np.ones(3), np.ones(4), 1.0), "one shape"),
    (lambda: srcgrad.grad(tf.lennard_jones, target="parallel")(1.0, 1.0, 1.0), "at least one array"),
    (lambda: srcgrad.grad(tf.damped_oscillator, wrt=2, target="parallel")(np.ones(3), 0.1, np.arange(3)), "not floats"),
    (lambda: srcgrad.grad(tf.lennard_jones, target="parallel", has_aux=True), "has_aux"),
    (lambda: srcgrad.grad(tf.lennard_jones, target="parallel", backend="python"), "backend"),
    (lambda: srcgrad.grad(tf.lennard_jones, target="gpu"), "target must be one of"),
    (lambda: srcgrad.jvp(tf.two_outputs, target="parallel")(np.ones(3), 1.0), "one float per element"),
    (lambda: srcgrad.grad(tf.lennard_jones, target="parallel")((1.0, 2.0), np.ones(2), 1.0), "one number"),
])
def test_bad_use_is_a_clear_error(call, message):
    with pytest.raises(SrcgradError, match=message):
        call()


def test_wrt_must_be_float_elements():
    with pytest.raises(WrtError):
        srcgrad.grad(tf.damped_oscillator, wrt=2, target="parallel")(np.ones(3), 0.1, np.arange(3))


def run_with(env: dict, target: str):
    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider", str(root / target)],
                          cwd=root, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)


def test_cuda_target_under_the_simulator():
    done = run_with({"NUMBA_ENABLE_CUDASIM": "1"}, "tests/simulated_cuda.py")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


def test_cuda_target_without_a_device_says_so():
    script = ("import numpy as np, srcgrad\nfrom numba import cuda\nfrom tests import target_functions as tf\n"
              "g = srcgrad.grad(tf.lennard_jones, target='cuda')\n"
              "try:\n    g(np.linspace(1.0, 2.0, 8), 1.0, 1.0)\n    print('ran: a device is present' if cuda.is_available() else 'ran without a device')\n"
              "except srcgrad.SrcgradError as exc:\n    print('refused:', exc)\n")
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "refused: target='cuda': no CUDA device was found" in done.stdout or "a device is present" in done.stdout


def nvvm_available() -> bool:
    try:
        import numba
        from numba import cuda

        def empty(x):
            pass
        cuda.compile_ptx(empty, (numba.float64,), cc=(9, 0))   # finds NVVM or fails
        return True
    except Exception:
        return False


@pytest.mark.skipif(not nvvm_available(), reason="numba's NVVM is not installed (pip install -e '.[cuda]')")
def test_kernels_compile_to_ptx_without_a_gpu():
    for fn, args, wrt in CASES[:5]:
        ptx = srcgrad.value_and_grad(fn, wrt=wrt, target="cuda")._specializations.ptx(args)
        assert ".entry" in ptx and "value_and_grad" in ptx


# ----- prange loops: the function's own derivative, compiled with its loops parallel -------------

def flat(result):
    items = result if isinstance(result, tuple) else (result,)
    return np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in items])


PRANGE = [
    (tf.least_squares, (rng.normal(size=4), 0.3, rng.normal(size=(300, 4)), rng.normal(size=300)), (0, 1)),
    (tf.gmm_loglik, (rng.normal(size=(3, 2)), rng.normal(size=3), 0.2 * rng.normal(size=3), rng.normal(size=(200, 2))), (0, 1, 2)),
    (tf.pair_energy, (rng.normal(size=(30, 3)), 1.5), (0, 1)),
    (tf.running_product, (rng.uniform(0.8, 1.2, 50),), (0,)),
    (tf.neighbour_sweep, (rng.normal(size=20), 0.7), (0, 1)),
    (tf.gmm_loglik_streaming, (rng.normal(size=(3, 2)), rng.normal(size=3), 0.2 * rng.normal(size=3), rng.normal(size=(200, 2))), (0, 1, 2)),
    (tf.repeated_parameter, (rng.normal(size=50), 0.4), (0, 1)),
    (tf.thresholded_sum, (rng.normal(size=20), 0.7), (0, 1)),
    (tf.positive_part_series, (rng.normal(size=20), 0.7), (0, 1)),
]


@pytest.mark.parametrize("fn, args, wrt", [pytest.param(*c, marks=pytest.mark.slow) if c[0].__name__.startswith("gmm") else c
                                            for c in PRANGE], ids=[c[0].__name__ for c in PRANGE])
def test_prange_gradients_match_the_cpu_target(fn, args, wrt):
    value, grads = srcgrad.value_and_grad(fn, wrt=wrt, target="parallel")(*args)
    expected_value, expected = srcgrad.value_and_grad(fn, wrt=wrt)(*args)
    np.testing.assert_allclose(value, expected_value, rtol=RTOL)
    np.testing.assert_allclose(flat(grads), flat(expected), rtol=RTOL, atol=1e-12)
    tangents = [rng.normal(size=np.shape(args[w])) if np.ndim(args[w]) else 0.7 for w in wrt]
    _, tangent = srcgrad.jvp(fn, wrt=wrt, target="parallel")(*args, *tangents)
    dot = sum(np.sum(t * g) for t, g in zip(tangents, grads))
    np.testing.assert_allclose(tangent, dot, rtol=1e-9)   # forward and reverse, both parallel, agree


def test_prange_gradient_matches_finite_differences():
    means, log_weights, log_sigma, X = PRANGE[1][1]
    g = srcgrad.grad(tf.gmm_loglik, wrt=0, target="parallel")(means, log_weights, log_sigma, X)
    h, fd = 1e-6, np.zeros_like(means)
    for k in np.ndindex(means.shape):
        step = np.zeros_like(means)
        step[k] = h
        fd[k] = (tf.gmm_loglik(means + step, log_weights, log_sigma, X) - tf.gmm_loglik(means - step, log_weights, log_sigma, X)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


def test_prange_jacobians_and_vjp_of_a_vector_output():
    args = (np.array([2.0, 0.7, 0.1]), np.linspace(0, 3, 40), rng.normal(size=40))
    for jac in (srcgrad.jacfwd, srcgrad.jacrev):
        close(jac(tf.decay_residuals, target="parallel")(*args), jac(tf.decay_residuals)(*args))
    w = rng.normal(size=40)
    close(srcgrad.vjp(tf.decay_residuals, target="parallel")(*args, w)[1], srcgrad.vjp(tf.decay_residuals)(*args, w)[1])


@pytest.mark.slow
def test_prange_source_shows_parallel_loops_and_private_parts():
    g = srcgrad.grad(tf.pair_energy, target="parallel")
    g(*PRANGE[2][1])
    assert "@parallel_jit" in g.source and "for part in prange(parts):" in g.source
    assert "x_bar_part[j, c] +=" in g.source and "x_bar[i, c] +=" in g.source   # shared rows private to a part, own rows direct
    mixture = srcgrad.grad(tf.gmm_loglik, wrt=(0, 1, 2), target="parallel")
    mixture(*PRANGE[1][1])
    assert "for part in prange(parts):" in mixture.source and "run in order" not in mixture.source   # per-point buffers zeroed per point
    product = srcgrad.grad(tf.running_product, target="parallel")
    product(PRANGE[3][1][0])
    assert "in prange(" not in product.source and "run in order" in product.source
    sweep = srcgrad.jvp(tf.neighbour_sweep, wrt=0, target="parallel")
    sweep(*PRANGE[4][1], np.ones(20))
    assert "in prange(" not in sweep.source and "run in order" in sweep.source


def test_prange_on_the_cpu_target_runs_in_order():
    g = srcgrad.grad(tf.least_squares, wrt=(0, 1))
    g(*PRANGE[0][1])
    assert "prange" not in g.source and "@jit" in g.source


def kernels_to_ptx(derivative, *args) -> list:
    """PTX for each kernel a target='cuda' derivative of a prange function launches for `args`:
    its host code runs with numpy arrays, compiling each kernel where it would launch it."""
    try:
        derivative(*args)   # builds the code; without a device the call then stops
    except SrcgradError as exc:
        assert "no CUDA device" in str(exc), exc
    from numba import cuda
    host = derivative._specializations.last[0].dispatcher
    ptx = []

    def compile_instead(kernel, threads, n_sums, *values):
        signature = tuple(numba.typeof(v) for v in values) + ((numba.float64[:, ::1],) if n_sums else ())
        ptx.append(cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))[0])
        return [0.0] * n_sums
    namespace = {**host.__globals__, "cuda_loop": compile_instead, "cuda_zeros": np.zeros, "cuda_empty": np.empty,
                 "cuda_parts": lambda like, parts: np.zeros(like.shape + (parts,)), "cuda_add_parts": lambda parts, out: None}
    seed = (1.0,) * (host.__code__.co_argcount - len(args))   # grad's output cotangent
    types.FunctionType(host.__code__, namespace, host.__name__)(*args, *seed)
    return ptx


STREAMING = (rng.normal(size=(3, 2)), rng.normal(size=3), 0.2 * rng.normal(size=3), rng.normal(size=(40, 2)))


@pytest.mark.skipif(not nvvm_available(), reason="numba's NVVM is not installed (pip install -e '.[cuda]')")
def test_prange_kernels_compile_to_ptx_without_a_gpu():
    w, b, X, y = PRANGE[0][1]
    made = [(srcgrad.value_and_grad(tf.least_squares, wrt=(0, 1), target="cuda"), (w, b, X, y), 2),
            (srcgrad.grad(tf.gmm_loglik_streaming, wrt=(0, 1, 2), target="cuda"), STREAMING, 1),
            (srcgrad.jvp(tf.gmm_loglik_streaming, wrt=(0, 1, 2), target="cuda"), STREAMING + STREAMING[:3], 1),
            # the residuals' loop, then its adjoint: each iteration resets only its own r_bar[i]
            (srcgrad.vjp(tf.decay_residuals, target="cuda"), (w[:3], y, y, y), 2),
            (srcgrad.jvp(tf.pair_energy, wrt=(0, 1), target="cuda"), (X, 1.5, X, 1.0), 1)]
    for derivative, args, kernels in made:
        ptx = kernels_to_ptx(derivative, *args)
        assert len(ptx) == kernels and all(".entry" in p for p in ptx)
    assert "atom.global.add.f64" in "".join(kernels_to_ptx(made[1][0], *STREAMING))   # shared adjoints: atomic adds
    from numba import cuda
    from srcgrad_runtime import cuda as helpers
    helpers._kernels()   # the helpers' own kernels: zeros on the device, and the sum of threads' copies
    assert ".entry" in cuda.compile_ptx(helpers._fill_zero, (numba.float64[::1],), cc=(9, 0))[0]
    assert "atom.global.add.f64" in cuda.compile_ptx(helpers._add_parts, (numba.float64[:, ::1], numba.float64[::1]), cc=(9, 0))[0]


@pytest.mark.parametrize("fn, args, message", [
    (tf.gmm_loglik, STREAMING, r"target_functions.py:\d+(.|\n)*terms = np.empty\(K\)(.|\n)*`terms`\) on a CUDA device"),
    (tf.running_product, (np.ones(5),), r"prange\(x.shape\[0\]\)(.|\n)*`p` carries a value other than a sum"),
    (tf.neighbour_sweep, (np.ones(5), 0.5), r"return np.sum\(w \* w\)(.|\n)*arithmetic on a whole array outside a prange"),
    (tf.pair_energy, (np.ones((4, 3)), 1.0), r"scratch arrays \(\w+\) whose size changes within the loop"),
], ids=["array_in_loop", "carried_product", "host_arithmetic", "growing_tape"])
def test_prange_kernels_refuse_what_a_gpu_cannot_run_at_its_line(fn, args, message):
    with pytest.raises(SrcgradError, match=message):
        srcgrad.grad(fn, target="cuda")(*args)


def test_prange_functions_on_cuda_take_the_four_kernel_apis():
    with pytest.raises(SrcgradError, match="on target='cuda' they run as kernels for grad, value_and_grad, jvp, vjp; jacrev"):
        srcgrad.jacrev(tf.decay_residuals, target="cuda")


def test_a_function_of_arrays_without_prange_is_refused_at_its_line():
    def total(x):
        return x[0] * np.sum(x)
    with pytest.raises(SrcgradError, match=r"test_targets.py:\d+(.|\n)*`x` used as an array(.|\n)*numba.prange"):
        srcgrad.grad(total, target="parallel")(np.ones(3))
