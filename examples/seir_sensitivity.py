"""Parameter sensitivities of an SEIR epidemic integrated with classical Runge-Kutta (RK4).

The population is split into susceptible, exposed, infectious and recovered fractions:

    S' = -beta S I,   E' = beta S I - sigma E,   I' = sigma E - gamma I,   R' = gamma I,

starting from I = i0, S = 1 - i0. The simulation is a plain Python loop of RK4 steps that calls a
separate right-hand-side function, and also tracks the epidemic's peak of infectious people with
an `if` inside the loop. Its outputs are the final S, E, I, R and the peak I. The right-hand side
is decorated with `numba.njit` (so that `numba.njit(seir_outcomes)`, the timing baseline, can call
it); srcgrad reads its Python source and generates its derivative all the same.

The script computes the 5 x 4 Jacobian of these outputs with respect to (beta, sigma, gamma, i0)
twice: by forward mode (`srcgrad.jacfwd`, one tangent sweep per parameter) and by reverse mode
(`srcgrad.jacrev`, one adjoint sweep per output). It checks that they agree to rounding and match
central finite differences, and prints the sensitivities as a table of elasticities
(d log output / d log parameter) that are easy to read.

Run `python examples/seir_sensitivity.py [steps]`, or set SEIR_STEPS=400, for fewer, larger RK4 steps
(default 2000).
"""
import os
import sys
import time

import numba
import numpy as np

import srcgrad
from checks import best_time

PARAMETER_NAMES = ("beta", "sigma", "gamma", "i0")
OUTPUT_NAMES = ("S(T)", "E(T)", "I(T)", "R(T)", "peak I")


@numba.njit
def seir_rhs(y, beta, sigma, gamma):
    s = y[0]
    e = y[1]
    i = y[2]
    infection = beta * s * i
    return np.array([-infection, infection - sigma * e, sigma * e - gamma * i, gamma * i])


def seir_outcomes(params, t_end, steps):
    """Final (S, E, I, R) and the peak of I, for params = (beta, sigma, gamma, i0)."""
    beta = params[0]
    sigma = params[1]
    gamma = params[2]
    i0 = params[3]
    dt = t_end / steps
    y = np.array([1.0 - i0, 0.0, i0, 0.0])
    peak = i0
    for step in range(steps):
        k1 = seir_rhs(y, beta, sigma, gamma)
        k2 = seir_rhs(y + 0.5 * dt * k1, beta, sigma, gamma)
        k3 = seir_rhs(y + 0.5 * dt * k2, beta, sigma, gamma)
        k4 = seir_rhs(y + dt * k3, beta, sigma, gamma)
        y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if y[2] > peak:
            peak = y[2]
    return np.array([y[0], y[1], y[2], y[3], peak])


def central_difference_jacobian(f, x, eps=1e-4):
    """Central differences with a step relative to each parameter (i0 is 1e-4: an absolute 1e-6
    step would move the time step at which I peaks, and spoil the peak's finite difference)."""
    columns = []
    for k in range(x.size):
        step = np.zeros_like(x)
        step[k] = eps * abs(x[k])
        columns.append((f(x + step) - f(x - step)) / (2 * step[k]))
    return np.stack(columns, axis=-1)


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("SEIR_STEPS", "2000"))
    t_end = 160.0  # days
    params = np.array([0.5, 1.0 / 5.2, 1.0 / 7.0, 1e-4])  # R0 = beta / gamma = 3.5
    print(f"SEIR, RK4 with {steps} steps over {t_end:g} days, "
          + ", ".join(f"{name}={value:.4g}" for name, value in zip(PARAMETER_NAMES, params)))

    jac_forward = srcgrad.jacfwd(seir_outcomes, wrt=0)
    jac_reverse = srcgrad.jacrev(seir_outcomes, wrt=0)
    start = time.perf_counter()
    j_fwd = jac_forward(params, t_end, steps)
    j_rev = jac_reverse(params, t_end, steps)
    first_calls = time.perf_counter() - start
    j_fd = central_difference_jacobian(lambda p: seir_outcomes(p, t_end, steps), params)
    outputs = seir_outcomes(params, t_end, steps)

    print("\noutputs: " + ", ".join(f"{name}={value:.6f}" for name, value in zip(OUTPUT_NAMES, outputs)))
    print("\nJacobian d output / d parameter (jacrev):")
    print(f"{'':>8}" + "".join(f"{name:>14}" for name in PARAMETER_NAMES))
    for name, row in zip(OUTPUT_NAMES, j_rev):
        print(f"{name:>8}" + "".join(f"{value:14.5g}" for value in row))
    print("\nelasticities d log output / d log parameter:")
    elasticity = j_rev * params[None, :] / outputs[:, None]
    print(f"{'':>8}" + "".join(f"{name:>10}" for name in PARAMETER_NAMES))
    for name, row in zip(OUTPUT_NAMES, elasticity):
        print(f"{name:>8}" + "".join(f"{value:10.3f}" for value in row))

    scale = np.abs(j_rev).max()
    fwd_rev = np.abs(j_fwd - j_rev).max() / scale
    rev_fd = np.abs(j_rev - j_fd).max() / scale
    print(f"\nmax |jacfwd - jacrev| / max |J| = {fwd_rev:.1e}")
    print(f"max |jacrev - finite differences| / max |J| = {rev_fd:.1e}")
    print(f"first calls of jacfwd and jacrev (transform + numba compile, or cache load): {first_calls:.2f} s")
    assert j_fwd.shape == (len(OUTPUT_NAMES), len(PARAMETER_NAMES))
    assert np.allclose(j_fwd, j_rev, rtol=1e-10, atol=1e-12 * scale), (j_fwd, j_rev)
    assert np.allclose(j_rev, j_fd, rtol=1e-5, atol=1e-7 * scale), (j_rev, j_fd)

    primal = numba.njit(seir_outcomes)
    primal(params, t_end, steps)
    assert np.allclose(primal(params, t_end, steps), outputs, rtol=1e-12)
    repeats = 20
    t_primal = best_time(lambda: primal(params, t_end, steps), repeats)
    t_fwd = best_time(lambda: jac_forward(params, t_end, steps), repeats)
    t_rev = best_time(lambda: jac_reverse(params, t_end, steps), repeats)
    print(f"timings (best of {repeats}): numba primal {t_primal * 1e3:.3f} ms, "
          f"jacfwd {t_fwd * 1e3:.3f} ms ({t_fwd / t_primal:.1f}x, 4 tangents), "
          f"jacrev {t_rev * 1e3:.3f} ms ({t_rev / t_primal:.1f}x, 5 cotangents)")

    print("\nOK: jacfwd, jacrev and finite differences agree.")


if __name__ == "__main__":
    main()
