"""Inverse problem: recover the diffusivity and source strength of a 1-D heat equation.

A rod on [0, 1] with its ends held at zero temperature starts from a warm bump and is heated by a
Gaussian source. Its temperature obeys

    u_t = kappa * u_xx + q * s(x),

which the forward model integrates with explicit finite differences, written as plain Python
loops (a fresh array per time step). A few sensors along the rod record the temperature every
`every` steps; the "measurements" come from the true (kappa, q) plus Gaussian noise.

srcgrad differentiates the whole simulation in reverse mode, and scipy's L-BFGS-B uses that
gradient to fit (log kappa, log q) to the noisy data. The script checks the gradient against
central finite differences and forward mode, checks that the fit recovers the true parameters,
and times srcgrad's gradient against the numba-compiled forward model.

Run `python examples/heat_inverse.py [n]`, or set HEAT_INVERSE_N=24, for a coarser grid (n points,
default 64) and a faster run. The time step shrinks with the grid spacing, so the cost grows
like n^3.
"""
import math
import os
import sys
import time

import numba
import numpy as np
import scipy.optimize

import srcgrad
from checks import central_differences, best_time


def simulate_misfit(log_params, u0, source, sensors, data, dt, dx, steps, every):
    """Sum of squared differences between simulated sensor readings and the data.

    log_params = (log kappa, log q); sensors holds grid indices (int64), data[k, j] is sensor j's
    reading after (k + 1) * every steps.
    """
    kappa = math.exp(log_params[0])
    q = math.exp(log_params[1])
    r = kappa * dt / (dx * dx)
    n = u0.shape[0]
    m = sensors.shape[0]
    u = u0.copy()
    misfit = 0.0
    record = 0
    for step in range(steps):
        new = np.zeros(n)
        for i in range(1, n - 1):
            new[i] = u[i] + r * (u[i - 1] - 2.0 * u[i] + u[i + 1]) + dt * q * source[i]
        u = new
        if (step + 1) % every == 0:
            for j in range(m):
                miss = u[sensors[j]] - data[record, j]
                misfit += miss * miss
            record += 1
    return misfit


def simulate_readings(kappa, q, u0, source, sensors, dt, dx, steps, every):
    """The noise-free sensor readings for given (kappa, q): the model that makes the data."""
    r = kappa * dt / (dx * dx)
    u = u0.copy()
    readings = np.zeros((steps // every, sensors.shape[0]))
    record = 0
    for step in range(steps):
        new = np.zeros_like(u)
        new[1:-1] = u[1:-1] + r * (u[:-2] - 2.0 * u[1:-1] + u[2:]) + dt * q * source[1:-1]
        u = new
        if (step + 1) % every == 0:
            readings[record] = u[sensors]
            record += 1
    return readings


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("HEAT_INVERSE_N", "64"))
    kappa_true, q_true, noise = 0.8, 3.0, 2e-3

    x = np.linspace(0.0, 1.0, n)
    dx = x[1] - x[0]
    dt = 0.2 * dx * dx  # stable for kappa < 2.5 (r = kappa dt / dx^2 <= 0.5)
    total_time = 0.05
    steps = int(round(total_time / dt))
    every = max(1, steps // 20)
    u0 = np.sin(math.pi * x) ** 2
    source = np.exp(-((x - 0.3) / 0.1) ** 2)
    sensors = np.round(np.linspace(0.15, 0.85, 6) * (n - 1)).astype(np.int64)

    rng = np.random.default_rng(0)
    clean = simulate_readings(kappa_true, q_true, u0, source, sensors, dt, dx, steps, every)
    data = clean + noise * rng.standard_normal(clean.shape)
    print(f"grid n={n}, dt={dt:.2e}, steps={steps}, {data.shape[0]} snapshots x {data.shape[1]} sensors, "
          f"noise sd={noise}")

    args = (u0, source, sensors, data, dt, dx, steps, every)
    loss_and_grad = srcgrad.value_and_grad(simulate_misfit, wrt=0)

    # 1. The gradient at a starting guess, against central finite differences.
    guess = np.log(np.array([0.3, 1.0]))
    start = time.perf_counter()
    loss0, grad0 = loss_and_grad(guess, *args)
    first_call = time.perf_counter() - start
    fd0 = central_differences(lambda p: simulate_misfit(p, *args), guess)
    print(f"\nat kappa=0.3, q=1.0: loss={loss0:.6f}")
    print(f"  srcgrad gradient      {grad0}")
    print(f"  central differences   {fd0}")
    print(f"  first call (transform + numba compile, or cache load): {first_call:.2f} s")
    assert np.allclose(grad0, fd0, rtol=1e-5, atol=1e-8), (grad0, fd0)

    # Forward mode gives the same directional derivative along log kappa.
    _, d_log_kappa = srcgrad.jvp(simulate_misfit, wrt=0)(guess, *args, np.array([1.0, 0.0]))
    print(f"  forward mode d loss / d log kappa = {d_log_kappa:.10f} (reverse mode: {grad0[0]:.10f})")
    assert math.isclose(d_log_kappa, grad0[0], rel_tol=1e-10)

    # 2. Fit (log kappa, log q) with L-BFGS-B using srcgrad's gradient.
    history = []

    def callback(intermediate_result):
        p = intermediate_result.x
        history.append((math.exp(p[0]), math.exp(p[1]), intermediate_result.fun))

    result = scipy.optimize.minimize(loss_and_grad, guess, args=args, jac=True, method="L-BFGS-B",
                                     callback=callback, options={"gtol": 1e-10, "ftol": 1e-14})
    print("\nL-BFGS-B iterations:")
    print("  iter     kappa         q           loss")
    shown = list(range(min(4, len(history)))) + list(range(max(4, len(history) - 2), len(history)))
    for it in shown:
        k, qq, lv = history[it]
        print(f"  {it + 1:4d}  {k:10.6f}  {qq:10.6f}  {lv:.6e}")
    kappa_fit, q_fit = np.exp(result.x)
    noise_floor = noise * noise * data.size
    print(f"converged: {result.success} ({result.message}), {result.nfev} loss+gradient evaluations")
    print(f"  kappa: true {kappa_true}, recovered {kappa_fit:.5f} ({abs(kappa_fit / kappa_true - 1):.2%} off)")
    print(f"  q:     true {q_true}, recovered {q_fit:.5f} ({abs(q_fit / q_true - 1):.2%} off)")
    print(f"  final loss {result.fun:.3e} (noise floor ~ {noise_floor:.3e})")
    assert abs(kappa_fit / kappa_true - 1) < 0.05, kappa_fit
    assert abs(q_fit / q_true - 1) < 0.05, q_fit
    assert result.fun < 2 * noise_floor

    # 3. Cost of the gradient relative to the numba-compiled forward model.
    primal = numba.njit(simulate_misfit)
    p = result.x
    primal(p, *args)
    gradient_only = srcgrad.grad(simulate_misfit, wrt=0)
    gradient_only(p, *args)
    repeats = 20
    t_primal = best_time(lambda: primal(p, *args), repeats)
    t_grad = best_time(lambda: gradient_only(p, *args), repeats)
    t_vg = best_time(lambda: loss_and_grad(p, *args), repeats)
    print(f"\ntimings (best of {repeats}): numba primal {t_primal * 1e3:.3f} ms, "
          f"srcgrad grad {t_grad * 1e3:.3f} ms ({t_grad / t_primal:.2f}x), "
          f"value_and_grad {t_vg * 1e3:.3f} ms ({t_vg / t_primal:.2f}x)")
    assert math.isclose(primal(p, *args), loss_and_grad(p, *args)[0], rel_tol=1e-12)

    print("\nOK: gradient matches finite differences and the fit recovers kappa and q.")


if __name__ == "__main__":
    main()
