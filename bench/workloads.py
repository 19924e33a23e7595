"""The four benchmark workloads as plain Python/NumPy functions, with their inputs and sizes."""

import math

import numpy as np


# --------------------------------------------------------------------------
# The functions a scientist would write. srcgrad, numba (primal) and autograd
# all see exactly this source; JAX gets a lax rewrite in jax_workloads.py.
# --------------------------------------------------------------------------

def rosenbrock_loop(x):
    n = x.shape[0]
    s = 0.0
    for i in range(n - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def lorenz(state, params, dt, T):
    x = state[0]
    y = state[1]
    z = state[2]
    sigma = params[0]
    rho = params[1]
    beta = params[2]
    for t in range(T):
        dx = sigma * (y - x)
        dy = x * (rho - z) - y
        dz = x * y - beta * z
        x = x + dt * dx
        y = y + dt * dy
        z = z + dt * dz
    return x * x + y * y + z * z


def rosenbrock_vec(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def gmm_loglik(x, w, mu, sig):
    N = x.shape[0]
    K = w.shape[0]
    sqrt2pi = math.sqrt(2.0 * math.pi)
    ll = 0.0
    for i in range(N):
        s = 0.0
        for k in range(K):
            z = (x[i] - mu[k]) / sig[k]
            s += w[k] * math.exp(-0.5 * z * z) / (sig[k] * sqrt2pi)
        ll += math.log(s)
    return ll


# --------------------------------------------------------------------------
# Inputs. `size` is n (vector length), T (time steps) or N (data points).
# --------------------------------------------------------------------------

LORENZ_HORIZON = 10.0   # simulated time units at most: keeps the chaotic gradient finite (growth ~e^9)
LORENZ_MAX_DT = 1e-3    # keeps explicit Euler stable at small T
GMM_COMPONENTS = 8


def rosenbrock_inputs(size):
    rng = np.random.default_rng(0)
    return (rng.uniform(-1.5, 1.5, size),)


def lorenz_inputs(size, horizon=LORENZ_HORIZON):
    state = np.array([1.0, 1.0, 1.0])
    params = np.array([10.0, 28.0, 8.0 / 3.0])
    dt = min(horizon / size, LORENZ_MAX_DT)
    return (state, params, dt, int(size))


def gmm_inputs(size, components=GMM_COMPONENTS):
    rng = np.random.default_rng(1)
    mu = np.linspace(-4.0, 4.0, components)
    sig = rng.uniform(0.5, 1.5, components)
    w = rng.uniform(0.5, 1.5, components)
    w = w / w.sum()
    labels = rng.integers(0, components, size)
    x = mu[labels] + sig[labels] * rng.standard_normal(size)
    return (x, w, mu, sig)


# --------------------------------------------------------------------------
# Registry: one entry per workload.
# --------------------------------------------------------------------------

class Workload:
    """A benchmark workload: function, which arguments to differentiate, and how to build inputs."""

    def __init__(self, name, label, function, wrt, make_inputs, full_size, quick_size, size_symbol):
        self.name = name
        self.label = label
        self.function = function
        self.wrt = wrt
        self.make_inputs = make_inputs
        self.full_size = full_size
        self.quick_size = quick_size
        self.size_symbol = size_symbol

    def size(self, quick):
        return self.quick_size if quick else self.full_size

    @property
    def wrt_tuple(self):
        return self.wrt if isinstance(self.wrt, tuple) else (self.wrt,)


AUTOGRAD_SIZE_DIVISOR = 100

WORKLOADS = {
    w.name: w
    for w in [
        Workload("rosenbrock_loop", "(a) Rosenbrock, Python loop", rosenbrock_loop, 0,
                 rosenbrock_inputs, 10**6, 10**4, "n"),
        Workload("lorenz", "(b) Lorenz, explicit Euler", lorenz, (0, 1),
                 lorenz_inputs, 10**6, 10**4, "T"),
        Workload("rosenbrock_vec", "(c) Rosenbrock, vectorised numpy", rosenbrock_vec, 0,
                 rosenbrock_inputs, 10**6, 10**4, "n"),
        Workload("gmm_loglik", "(d) GMM log-likelihood, nested loops", gmm_loglik, (1, 2, 3),
                 gmm_inputs, 10**5, 10**3, "N"),
    ]
}
