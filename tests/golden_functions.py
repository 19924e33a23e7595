"""Small functions whose generated derivative source is pinned in tests/golden/."""
import math

import numpy as np
import srcgrad


def horner(c, x):
    y = 0.0
    for k in range(c.shape[0] - 1, -1, -1):
        y = y * x + c[k]
    return y


def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


def soft_threshold(x, lam):
    if x > lam:
        y = x - lam
    elif x < -lam:
        y = x + lam
    else:
        y = 0.0 * x
    return y * math.exp(-lam)


def running_max_of_sines(x):
    y = np.zeros_like(x)
    y[0] = math.sin(x[0])
    for i in range(1, x.shape[0]):
        y[i] = max(y[i - 1], math.sin(x[i]))
    return np.sum(y)


def oscillator_checkpointed(x0, v0, k, dt, n):
    """A damped oscillator whose reverse sweep keeps 8 snapshots of (x, v) instead of a tape."""
    x, v = x0, v0
    for t in srcgrad.checkpoint(range(n), snapshots=8):
        a = -k * x - 0.1 * v
        x = x + dt * v
        v = v + dt * a
    return x * x + v
