"""The Greeks of many option prices at once, on a GPU: one CUDA thread per option.

The pricer is written as a textbook writes it, with a loop: the price of a European call is the
discounted payoff integrated against the standard normal density, here with Simpson's rule on
400 intervals from the exercise boundary up. `srcgrad.grad(call_price, wrt=(0, 1, 2), target="cuda")` turns it into a CUDA kernel whose
threads each compute one option's delta, vega and rho (forward mode, one pass per Greek, in
registers). Called with numpy arrays, it copies them to the GPU and the Greeks back; called with
device arrays, everything stays on the GPU.

The script checks the Greeks against the Black-Scholes closed forms, which the quadrature matches
to about 1e-8, and against the same derivative on the CPU target (to rounding), then prints a few.

It says which device it used: a real GPU when numba finds one; numba's CUDA simulator when
NUMBA_ENABLE_CUDASIM=1 is set (then with fewer options: the simulator runs about 5000 threads a
second); otherwise `target="parallel"`, the same per-option code on every CPU core.

Run `python examples/option_greeks.py [n_options]` (default 1,000,000; 2,000 in the simulator).
"""
import math
import os
import sys
import time

import numpy as np

import srcgrad


def call_price(S, sigma, r, K, T):
    """Price of a European call: E[max(S_T - K, 0)] e^{-rT}, Simpson's rule over z ~ N(0, 1)
    from the exercise boundary (where S_T = K) to 8 standard deviations."""
    steps = 400
    drift = (r - 0.5 * sigma * sigma) * T
    vol = sigma * math.sqrt(T)
    lo = (math.log(K / S) - drift) / vol
    hi = 8.0
    if lo >= hi:
        return 0.0
    h = (hi - lo) / steps
    total = 0.0
    for k in range(steps + 1):
        z = lo + k * h
        weight = 1.0 if k == 0 or k == steps else (4.0 if k % 2 == 1 else 2.0)
        total += weight * (S * math.exp(drift + vol * z) - K) * math.exp(-0.5 * z * z)
    return math.exp(-r * T) * total * h / 3.0 / math.sqrt(2.0 * math.pi)


def closed_form_greeks(S, sigma, r, K, T):
    """Black-Scholes delta, vega and rho of a call."""
    d1 = (np.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    normal_cdf = lambda x: 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))  # noqa: E731
    return normal_cdf(d1), S * np.exp(-0.5 * d1 ** 2) / math.sqrt(2 * math.pi) * np.sqrt(T), K * T * np.exp(-r * T) * normal_cdf(d2)


def device_name(cuda) -> str:
    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else name   # bytes in numba's built-in target


def which_target() -> tuple[str, str, str]:
    """(target, where it runs in a few words, why)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "cuda", "numba's CUDA simulator", "NUMBA_ENABLE_CUDASIM=1: the kernel's code runs as Python threads"
    try:
        from numba import cuda
        if cuda.is_available():
            return "cuda", f"the GPU ({device_name(cuda)})", "a CUDA device was found"
    except Exception:
        pass
    return "parallel", "every CPU core (target='parallel')", ("no CUDA device was found; set NUMBA_ENABLE_CUDASIM=1 to "
                                                              "run the CUDA kernel in numba's simulator")


def main():
    target, device, why = which_target()
    simulated = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    n = int(sys.argv[1]) if len(sys.argv) > 1 else (2000 if simulated else 1_000_000)
    print(f"Greeks of {n:,} call options on {device}: {why}.")
    rng = np.random.default_rng(0)
    S, sigma = rng.uniform(60, 140, n), rng.uniform(0.1, 0.6, n)
    r, K, T = 0.03, 100.0, 1.0

    greeks = srcgrad.grad(call_price, wrt=(0, 1, 2), target=target)
    start = time.perf_counter()
    delta, vega, rho = greeks(S, sigma, r, K, T)   # the first call compiles
    print(f"first call (compiles the kernel): {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    delta, vega, rho = greeks(S, sigma, r, K, T)
    print(f"second call: {time.perf_counter() - start:.4f} s, {n / (time.perf_counter() - start):,.0f} options/s")

    exact = closed_form_greeks(S, sigma, r, K, T)
    for name, ours, theirs in zip(("delta", "vega", "rho"), (delta, vega, rho), exact):
        error = np.max(np.abs(ours - theirs))
        print(f"  {name}: largest difference from the closed form {error:.1e}")
        assert error < 1e-6 * max(1.0, np.max(np.abs(theirs))), name
    on_cpu = srcgrad.grad(call_price, wrt=(0, 1, 2))
    for k in range(0, n, max(1, n // 50)):
        assert np.allclose(on_cpu(S[k], sigma[k], r, K, T), (delta[k], vega[k], rho[k]), rtol=1e-10, atol=1e-12)

    print("\n   spot   sigma   delta    vega     rho")
    for k in range(5):
        print(f"{S[k]:7.2f} {sigma[k]:6.3f} {delta[k]:7.4f} {vega[k]:7.3f} {rho[k]:7.3f}")
    print(f"\nOK: the Greeks computed on {device} match the closed forms and the CPU target.")


if __name__ == "__main__":
    main()
