"""Second derivatives: srcgrad's hvp and hessian against the primal and JAX, ratios from one run.

    python bench/higher_order.py

hvp is reverse mode over srcgrad's generated jvp (one pass gives value, gradient and H·v); the
peer is JAX's forward-over-reverse `jvp(grad(f))` under jit, on the lax rewrites of the same loops.
"""
import os
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srcgrad  # noqa: E402
from workloads import lorenz, lorenz_inputs, rosenbrock_inputs, rosenbrock_loop  # noqa: E402


def best(fn, *args, seconds=0.5):
    """The fastest of repeated calls (after one warm-up call), in seconds."""
    fn(*args)
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 5:
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def jax_hvp(name, args, wrt):
    try:
        import jax
        from jax_workloads import JAX_FUNCTIONS, STATIC_ARGNUMS
    except ImportError:
        return None
    f = JAX_FUNCTIONS[name]
    static = STATIC_ARGNUMS.get(name, ())
    grad = jax.grad(f, argnums=wrt)

    def hvp(*call_args):
        primal, direction = list(call_args[:-1]), call_args[-1]

        def gradient_at(p):
            return grad(*primal[:wrt], p, *primal[wrt + 1:])
        return jax.jvp(gradient_at, (primal[wrt],), (direction,))[1]
    compiled = jax.jit(hvp, static_argnums=static)
    return lambda *a: compiled(*a).block_until_ready()


def main():
    rows = []
    for name, fn, args, wrt in [("rosenbrock_loop", rosenbrock_loop, rosenbrock_inputs(100000), 0),
                                ("lorenz", lorenz, lorenz_inputs(10000), 1)]:
        v = np.random.default_rng(0).standard_normal(np.shape(args[wrt]))
        primal = best(numba.njit(fn), *args)
        grad = best(srcgrad.grad(fn, wrt=wrt), *args)
        hvp = best(srcgrad.hvp(fn, wrt=wrt), *args, v)
        jhvp = jax_hvp(name, args, wrt)
        jax_time = best(jhvp, *args, v) if jhvp is not None else float("nan")
        start = time.perf_counter()
        srcgrad.hessian(fn, wrt=wrt)(*args) if np.size(args[wrt]) <= 100 else None
        rows.append((name, primal, grad / primal, hvp / primal, jax_time / primal, jax_time / hvp))
    print("| workload | numba primal | grad ÷ primal | hvp ÷ primal | JAX jit(jvp(grad)) ÷ primal | JAX ÷ srcgrad hvp |")
    print("|---|---|---|---|---|---|")
    for name, primal, g, h, j, speedup in rows:
        print(f"| {name} | {primal * 1e6:.1f} µs | {g:.2f} | {h:.2f} | {j:.2f} | {speedup:.2f} |")


if __name__ == "__main__":
    main()
