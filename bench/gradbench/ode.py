"""GradBench `ode`: a fourth-order Runge-Kutta solve and the gradient of its last component (port of the C++ reference)."""

import numba
import numpy as np
import srcgrad
from common import check_gradient, fd_report, gradient_is_zero, timed

DERIVATIVE = "gradient"


@numba.njit
def ode_fun(x, y):
    n = x.shape[0]
    z = np.empty(n)
    z[0] = x[0]
    for i in range(1, n):
        z[i] = x[i] * y[i - 1]
    return z


@numba.njit
def ode(x, s):
    tf = 2.0
    h = tf / s
    y = np.zeros(x.shape[0])
    for _ in range(s):
        k1 = ode_fun(x, y)
        k2 = ode_fun(x, y + h / 2.0 * k1)
        k3 = ode_fun(x, y + h / 2.0 * k2)
        k4 = ode_fun(x, y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def ode_last(x, s):
    """GradBench's gradient is that of the solution's last component."""
    return ode(x, s)[-1]


primal_ode = ode
primal_last = numba.njit(ode_last)
gradient_ode = srcgrad.grad(ode_last)


def prepare(input):
    return np.array(input["x"], dtype=np.float64), int(input["s"])


@timed(pre=prepare, post=lambda y: y.tolist())
def primal(args):
    return primal_ode(*args)


@timed(pre=prepare, post=lambda g: g.tolist())
def gradient(args):
    return gradient_ode(*args)


def check(input):
    """At GradBench's sizes the true gradient is about 2**n / n! (below 1e-300), so an all-zero
    gradient passes its validation; check also the first 4 components as a system of their own,
    whose last component is nonzero even after one step (RK4 carries x[0] through 4 stages)."""
    x, s = prepare(input)
    small = x[:4].copy()
    g_small = gradient_ode(small, s)
    return fd_report(fd_rel_err=check_gradient(lambda v: primal_last(v, s), x, gradient_ode(x, s)),
                     fd_rel_err_n4=check_gradient(lambda v: primal_last(v, s), small, g_small)) | {
        "gradient_all_zero_at_eval_size": gradient_is_zero(gradient_ode(x, s)),
        "gradient_all_zero_at_n4": gradient_is_zero(g_small)}
