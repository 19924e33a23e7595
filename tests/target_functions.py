"""Functions of floats, written as a scientist would, for the parallel and CUDA targets' tests."""
import math

import numpy as np
import scipy.special


def bs_call(S, sigma, r, K, T):
    """Black-Scholes price of a European call."""
    d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    return S * 0.5 * math.erfc(-d1 / math.sqrt(2.0)) - K * math.exp(-r * T) * 0.5 * math.erfc(-d2 / math.sqrt(2.0))


def lennard_jones(r2, eps, sig):
    """Energy of one pair at squared distance r2, cut off at 2.5 sigma."""
    if r2 > 6.25 * sig * sig:
        return 0.0
    s6 = (sig * sig / r2) ** 3
    return 4.0 * eps * (s6 * s6 - s6)


def newton_sqrt(a, tol):
    """sqrt(a) by Newton's iteration, stopping at a tolerance (a while loop with a data-dependent exit)."""
    x = a if a > 1.0 else 1.0
    while abs(x * x - a) > tol:
        x = 0.5 * (x + a / x)
    return x


def damped_oscillator(omega, zeta, steps):
    """Position at t=1 of x'' + 2 zeta omega x' + omega^2 x = 0, by explicit Euler in a loop."""
    x, v = 1.0, 0.0
    dt = 1.0 / steps
    for _ in range(steps):
        a = -2.0 * zeta * omega * v - omega * omega * x
        x, v = x + dt * v, v + dt * a
    return x


def smooth_abs(x):
    return x * math.tanh(4.0 * x)


def calls_helper(x, y):
    """Calls another user function twice."""
    return smooth_abs(x) * y + smooth_abs(y - x)


def binomial_call(S, sigma, r, K, T, steps):
    """Cox-Ross-Rubinstein binomial tree: an array of option values per price (CPU targets only)."""
    dt = T / steps
    u = math.exp(sigma * math.sqrt(dt))
    d = 1.0 / u
    p = (math.exp(r * dt) - d) / (u - d)
    disc = math.exp(-r * dt)
    values = np.empty(steps + 1)
    for j in range(steps + 1):
        values[j] = max(S * u ** j * d ** (steps - j) - K, 0.0)
    for n in range(steps - 1, -1, -1):
        for j in range(n + 1):
            values[j] = disc * (p * values[j + 1] + (1.0 - p) * values[j])
    return values[0]


def special_erf(x):
    return scipy.special.erf(x) * x


def two_outputs(x):
    return x, 2.0 * x
