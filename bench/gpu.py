"""GPU and multi-core targets against the single-thread CPU target, ratios from one run.

    python bench/gpu.py            # 10^6 to 10^8 elements (a GPU machine: minutes)
    python bench/gpu.py --quick    # 10^4 and 10^5 (any machine; the CUDA rows need a GPU)
    python bench/gpu.py --prange   # pattern 2 alone, at 10^7 (the multi-core target on any machine)

Pattern 1, batched derivatives of functions of floats: the Greeks (delta, vega, rho) of
Black-Scholes prices, and d/d(omega, zeta) of a damped oscillator integrated over 100 Euler steps
per element. The `cpu` column is the CPU target's derivative called per element from one numba
loop (`compiled_for`), the fastest single-thread use of it.

Pattern 2, a loss summed over data points in a `prange` loop: a linear least-squares fit (8
features) and a Gaussian-mixture log-likelihood (5 components in 3-D), written with an array of
the components' terms per point (CPU targets only: a CUDA thread cannot allocate it) and with
numbers only (every target). `cpu` is grad with the default target (the loop runs in order).
On a GPU, least squares also times two hand-written CUDA gradients (`hand atomics`, `hand
reduction`): how the generated kernel compares with the two ways to sum an adjoint over points.

Every result is checked against the CPU target (relative 1e-10) before it is timed.
"""
from __future__ import annotations

import math
import os
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import srcgrad  # noqa: E402
from tests import target_functions as tf  # noqa: E402

QUICK = "--quick" in sys.argv
PRANGE_ONLY = "--prange" in sys.argv
HAVE_GPU = False
try:
    from numba import cuda
    HAVE_GPU = cuda.is_available()
except Exception:
    cuda = None


def device_name() -> str:
    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else name   # bytes in numba's built-in target


def best(fn, repeats=3):
    """The fastest of `repeats` calls after one warm-up call, in seconds (one call when a call
    takes over a second: the spread is then small against the ratios reported)."""
    start = time.perf_counter()
    fn()
    if time.perf_counter() - start > 2.0:
        repeats = 1
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def synchronized(fn):
    def run():
        out = fn()
        cuda.synchronize()
        return out
    return run


def agree(a, b, what):
    a = np.concatenate([np.ravel(np.asarray(x)) for x in (a if isinstance(a, tuple) else (a,))])
    b = np.concatenate([np.ravel(np.asarray(x)) for x in (b if isinstance(b, tuple) else (b,))])
    err = np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)
    if not err <= 1e-10:
        raise SystemExit(f"{what}: differs from the CPU target by {err:.2e} (relative)")
    return err


# ----- pattern 1 ---------------------------------------------------------------------------------

def per_element_loop(fn, wrt, sample_args):
    """value_and_grad of fn on the CPU target, called per element from one numba loop: its two
    array arguments come first, the numbers after them."""
    vg = srcgrad.value_and_grad(fn, wrt=wrt)
    inner = vg.compiled_for(*(a[0] if isinstance(a, np.ndarray) else a for a in sample_args))
    k = len(wrt)

    @numba.njit
    def run(x, y, numbers, value, grads):
        for i in range(x.shape[0]):
            v, g = inner(x[i], y[i], *numbers)
            value[i] = v
            for j in range(k):
                grads[j, i] = g[j]
    return lambda x, y, *rest: run(x, y, tuple(rest[:-2]), *rest[-2:])


def pattern_1(name, fn, wrt, make_args, sizes, rows):
    cpu_loop = per_element_loop(fn, wrt, make_args(2))
    parallel = srcgrad.value_and_grad(fn, wrt=wrt, target="parallel")
    gpu = srcgrad.value_and_grad(fn, wrt=wrt, target="cuda") if HAVE_GPU else None
    for n in sizes:
        args = make_args(n)
        value, grads = np.empty(n), np.empty((len(wrt), n))
        row = {"workload": name, "n": n}
        if n <= 10 ** 7:
            row["cpu"] = best(lambda: cpu_loop(*args, value, grads))
            reference = (value.copy(), tuple(grads))
        else:
            reference = None
        row["parallel"] = best(lambda: parallel(*args))
        result = parallel(*args)
        if reference is not None:
            agree(result, reference, f"{name} parallel, n={n}")
        else:
            reference = result
        if gpu is not None:
            on_device = tuple(cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args)
            row["cuda"] = best(synchronized(lambda: gpu(*on_device)))
            row["cuda+copies"] = best(lambda: gpu(*args))
            agree(gpu(*args), reference, f"{name} cuda, n={n}")
        rows.append(row)
        print(row, flush=True)


def black_scholes_args(n):
    rng = np.random.default_rng(0)
    return rng.uniform(50, 150, n), rng.uniform(0.1, 0.6, n), 0.03, 100.0, 1.0


def oscillator_args(n):
    rng = np.random.default_rng(1)
    return rng.uniform(1, 5, n), rng.uniform(0, 1, n), 100


# ----- pattern 2 ---------------------------------------------------------------------------------

def pattern_2(name, fn, wrt, make_args, sizes, rows, on_gpu=True, hand=None):
    """`hand`: hand-written CUDA gradients (name -> function of device arrays) timed beside."""
    cpu = srcgrad.grad(fn, wrt=wrt)
    parallel = srcgrad.grad(fn, wrt=wrt, target="parallel")
    gpu = srcgrad.grad(fn, wrt=wrt, target="cuda") if HAVE_GPU and on_gpu else None
    for n in sizes:
        args = make_args(n)
        row = {"workload": name, "n": n, "cpu": best(lambda: cpu(*args)), "parallel": best(lambda: parallel(*args))}
        reference = cpu(*args)
        agree(parallel(*args), reference, f"{name} parallel, n={n}")
        if gpu is not None:
            on_device = tuple(cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args)
            row["cuda"] = best(synchronized(lambda: gpu(*on_device)))
            row["cuda+copies"] = best(lambda: gpu(*args))
            agree(gpu(*args), reference, f"{name} cuda, n={n}")
            agree(tuple(g.copy_to_host() if hasattr(g, "copy_to_host") else g for g in gpu(*on_device)), reference,
                  f"{name} cuda, device arrays, n={n}")
            for column, kernel in (hand or {}).items():
                row[column] = best(synchronized(lambda: kernel(*on_device)))
                agree(tuple(g.copy_to_host().reshape(np.shape(r)) for g, r in zip(kernel(*on_device), reference)),
                      reference, f"{name} {column}, n={n}")
        rows.append(row)
        print(row, flush=True)


FEATURES, BLOCK = 8, 128
SUMS = FEATURES + 1     # w_bar's and b_bar's, per thread (a literal for numba's array shapes)


def least_squares_hand_kernels():
    """Two hand-written CUDA gradients of tf.least_squares with 8 features, to put the generated
    kernel beside the two ways to sum w_bar over points: an atomic add per feature per point (what
    srcgrad generated before f6f076d), and a block reduction (each thread sums in registers, the
    block in shared memory, then one atomic add per block and feature)."""
    @cuda.jit(device=True, inline="always")
    def residual_bar(w, b, X, y, i):
        """The adjoint of point i's residual: 2 r / n."""
        r = b - y[i]
        for j in range(FEATURES):
            r += w[j] * X[i, j]
        return r * (2.0 / X.shape[0])

    @cuda.jit
    def atomics(w, b, X, y, w_bar, b_bar):
        b_sum = 0.0
        for i in range(cuda.grid(1), X.shape[0], cuda.gridsize(1)):
            r = residual_bar(w, b, X, y, i)
            for j in range(FEATURES):
                cuda.atomic.add(w_bar, j, r * X[i, j])
            b_sum += r
        cuda.atomic.add(b_bar, 0, b_sum)

    @cuda.jit
    def reduction(w, b, X, y, w_bar, b_bar):
        sums = cuda.local.array(SUMS, numba.float64)
        for j in range(SUMS):
            sums[j] = 0.0
        for i in range(cuda.grid(1), X.shape[0], cuda.gridsize(1)):
            r = residual_bar(w, b, X, y, i)
            for j in range(FEATURES):
                sums[j] += r * X[i, j]
            sums[FEATURES] += r
        block = cuda.shared.array((SUMS, BLOCK), numba.float64)
        t = cuda.threadIdx.x
        for j in range(SUMS):
            block[j, t] = sums[j]
        cuda.syncthreads()
        stride = BLOCK // 2
        while stride > 0:
            if t < stride:
                for j in range(SUMS):
                    block[j, t] += block[j, t + stride]
            cuda.syncthreads()
            stride //= 2
        if t == 0:
            for j in range(FEATURES):
                cuda.atomic.add(w_bar, j, block[j, 0])
            cuda.atomic.add(b_bar, 0, block[FEATURES, 0])

    def launcher(kernel):
        def gradient(w, b, X, y):
            w_bar, b_bar = cuda.to_device(np.zeros(FEATURES)), cuda.to_device(np.zeros(1))
            kernel[min(4096, -(-X.shape[0] // BLOCK)), BLOCK](w, b, X, y, w_bar, b_bar)
            return w_bar, b_bar
        return gradient
    return {"hand atomics": launcher(atomics), "hand reduction": launcher(reduction)}


def least_squares_args(n):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(n, 8))
    return rng.normal(size=8), 0.1, X, X @ np.arange(8.0) + rng.normal(size=n)


def gmm_args(n):
    rng = np.random.default_rng(3)
    return rng.normal(size=(5, 3)), np.log(np.full(5, 0.2)), np.zeros(5), rng.normal(size=(n, 3))


def table(rows) -> str:
    columns = ["cpu", "parallel", "cuda", "cuda+copies", "hand atomics", "hand reduction"]
    lines = ["| workload | n | " + " | ".join(f"{c} (ms)" for c in columns) + " | parallel speed-up | cuda speed-up |",
             "|---" * (len(columns) + 4) + "|"]
    for row in rows:
        cells = [f"{1e3 * row[c]:.2f}" if c in row else "—" for c in columns]
        speed = [f"{row['cpu'] / row[c]:.1f}×" if "cpu" in row and c in row else "—" for c in ("parallel", "cuda")]
        lines.append(f"| {row['workload']} | 10^{round(math.log10(row['n']))} | " + " | ".join(cells + speed) + " |")
    return "\n".join(lines)


def main():
    print(f"numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads, GPU: "
          f"{device_name() if HAVE_GPU else 'none'}", flush=True)
    small = [10 ** 4, 10 ** 5] if QUICK else [10 ** 6, 10 ** 7, 10 ** 8]
    rows = []
    if not PRANGE_ONLY:
        pattern_1("Black-Scholes Greeks", tf.bs_call, (0, 1, 2), black_scholes_args, small, rows)
        pattern_1("oscillator, 100 steps", tf.damped_oscillator, (0, 1), oscillator_args, small[:2], rows)
    medium = [10 ** 4, 10 ** 5] if QUICK else [10 ** 7] if PRANGE_ONLY else [10 ** 6, 10 ** 7]
    pattern_2("least squares (prange)", tf.least_squares, (0, 1), least_squares_args, medium, rows,
              hand=least_squares_hand_kernels() if HAVE_GPU else None)
    pattern_2("GMM log-likelihood (prange)", tf.gmm_loglik, (0, 1, 2), gmm_args, medium, rows, on_gpu=False)
    pattern_2("GMM, numbers only (prange)", tf.gmm_loglik_streaming, (0, 1, 2), gmm_args, medium, rows)
    print(table(rows))


if __name__ == "__main__":
    main()
