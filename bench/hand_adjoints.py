"""Hand-written numba reverse-mode adjoints of the workloads, written the way a careful person would."""

import math

import numpy as np
from numba import njit

# The options srcgrad compiles its generated code with (runtime/backends.py), so that srcgrad / hand
# compares code, not compiler flags: numpy's float error semantics and fused multiply-add.
hand_jit = njit(error_model="numpy", fastmath={"contract"})


@hand_jit
def rosenbrock_grad(x):
    """One loop; each term adds to g[i] and g[i+1]. Serves both (a) and (c): same maths."""
    n = x.shape[0]
    g = np.zeros(n)
    for i in range(n - 1):
        xi = x[i]
        a = x[i + 1] - xi * xi
        b = 1.0 - xi
        g[i] += -400.0 * a * xi - 2.0 * b
        g[i + 1] += 200.0 * a
    return g


@hand_jit
def lorenz_grad(state, params, dt, T):
    """Forward sweep stores the state before each step in a (T, 3) tape; backward sweep reads it."""
    sigma = params[0]
    rho = params[1]
    beta = params[2]
    tape = np.empty((T, 3))
    x = state[0]
    y = state[1]
    z = state[2]
    for t in range(T):
        tape[t, 0] = x
        tape[t, 1] = y
        tape[t, 2] = z
        dx = sigma * (y - x)
        dy = x * (rho - z) - y
        dz = x * y - beta * z
        x = x + dt * dx
        y = y + dt * dy
        z = z + dt * dz
    bx = 2.0 * x
    by = 2.0 * y
    bz = 2.0 * z
    bsigma = 0.0
    brho = 0.0
    bbeta = 0.0
    for t in range(T - 1, -1, -1):
        x = tape[t, 0]
        y = tape[t, 1]
        z = tape[t, 2]
        bdx = dt * bx
        bdy = dt * by
        bdz = dt * bz
        bsigma += bdx * (y - x)
        brho += bdy * x
        bbeta -= bdz * z
        new_bx = bx - bdx * sigma + bdy * (rho - z) + bdz * y
        new_by = by + bdx * sigma - bdy + bdz * x
        new_bz = bz - bdy * x - bdz * beta
        bx = new_bx
        by = new_by
        bz = new_bz
    g_state = np.empty(3)
    g_state[0] = bx
    g_state[1] = by
    g_state[2] = bz
    g_params = np.empty(3)
    g_params[0] = bsigma
    g_params[1] = brho
    g_params[2] = bbeta
    return g_state, g_params


@hand_jit
def gmm_grad(x, w, mu, sig):
    """Per point: store the K weighted densities, sum them, then push 1/s back into w, mu, sig."""
    N = x.shape[0]
    K = w.shape[0]
    sqrt2pi = math.sqrt(2.0 * math.pi)
    g_w = np.zeros(K)
    g_mu = np.zeros(K)
    g_sig = np.zeros(K)
    dens = np.empty(K)
    zs = np.empty(K)
    for i in range(N):
        s = 0.0
        for k in range(K):
            z = (x[i] - mu[k]) / sig[k]
            d = math.exp(-0.5 * z * z) / (sig[k] * sqrt2pi)
            zs[k] = z
            dens[k] = d
            s += w[k] * d
        inv_s = 1.0 / s
        for k in range(K):
            z = zs[k]
            wd = w[k] * dens[k] * inv_s
            g_w[k] += dens[k] * inv_s
            g_mu[k] += wd * z / sig[k]
            g_sig[k] += wd * (z * z - 1.0) / sig[k]
    return g_w, g_mu, g_sig


HAND_GRADIENTS = {
    "rosenbrock_loop": rosenbrock_grad,
    "lorenz": lorenz_grad,
    "rosenbrock_vec": rosenbrock_grad,
    "gmm_loglik": gmm_grad,
}
