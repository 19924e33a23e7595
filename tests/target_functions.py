"""Functions of floats, written as a scientist would, for the parallel and CUDA targets' tests."""
import math

import numpy as np
import scipy.special

import srcgrad


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


# ----- prange loops (target="parallel" compiles them in parallel; the CPU target runs them in order) -----
from numba import prange  # noqa: E402


def least_squares(w, b, X, y):
    """Mean squared error of a linear model, one data point per iteration."""
    n = X.shape[0]
    total = 0.0
    for i in prange(n):
        pred = b
        for j in range(X.shape[1]):
            pred += w[j] * X[i, j]
        r = pred - y[i]
        total += r * r
    return total / n


def gmm_loglik(means, log_weights, log_sigma, X):
    """Log-likelihood of an isotropic Gaussian mixture, with a log-sum-exp per data point."""
    n, d = X.shape
    K = means.shape[0]
    total = 0.0
    for i in prange(n):
        terms = np.empty(K)
        best = -1e300
        for k in range(K):
            sq = 0.0
            for j in range(d):
                diff = (X[i, j] - means[k, j]) / math.exp(log_sigma[k])
                sq += diff * diff
            terms[k] = log_weights[k] - d * log_sigma[k] - 0.5 * sq
            if terms[k] > best:
                best = terms[k]
        s = 0.0
        for k in range(K):
            s += math.exp(terms[k] - best)
        total += best + math.log(s)
    return total


def decay_residuals(p, t, y):
    """Residuals of y = p0 exp(-p1 t) + p2, one per observation (a vector output)."""
    r = np.empty(t.shape[0])
    for i in prange(t.shape[0]):
        r[i] = p[0] * math.exp(-p[1] * t[i]) + p[2] - y[i]
    return r


def pair_energy(x, eps):
    """Soft pair potential summed over all pairs of particles (rows of x): the adjoint of every
    particle's position gathers from every iteration."""
    n = x.shape[0]
    energy = 0.0
    for i in prange(n):
        for j in range(i + 1, n):
            r2 = 0.0
            for c in range(x.shape[1]):
                diff = x[i, c] - x[j, c]
                r2 += diff * diff
            energy += eps / (1.0 + r2)
    return energy


def running_product(x):
    """A product over a prange loop: numba reduces it per thread, but its reverse sweep needs the
    partial products in order, so srcgrad runs that loop sequentially."""
    p = 1.0
    for i in prange(x.shape[0]):
        p *= x[i]
    return p


def neighbour_sweep(x, a):
    """Iteration i writes rows i - 1 and i of w, and the next one reads row i back (fuzz seed
    35:380:0): the writes of one iteration are another's reads, so the loop runs in order."""
    w = np.zeros((x.shape[0], 3))
    for i in prange(1, x.shape[0]):
        for j in range(3):
            w[i - 1, j] -= i * x[i] * a
            w[i, j] = np.tanh(a * x[i - 1] + w[i - 1, j])
    return np.sum(w * w)


@srcgrad.grad
def decorated_energy(x):
    """A module-level name that holds the derivative itself (pickled by that name)."""
    return np.sum(x ** 2) + np.sin(x[0])


def component_term(X, i, means, log_weights, log_sigma, k):
    """log(w_k N(x_i | mean_k, sigma_k^2 I)) up to a constant: one component's term at one point."""
    d = X.shape[1]
    sq = 0.0
    for j in range(d):
        diff = (X[i, j] - means[k, j]) / math.exp(log_sigma[k])
        sq += diff * diff
    return log_weights[k] - d * log_sigma[k] - 0.5 * sq


def gmm_loglik_streaming(means, log_weights, log_sigma, X):
    """gmm_loglik with numbers only in its loop (a CUDA thread allocates nothing): the largest
    term in a first pass over the components, the shifted exponentials in a second."""
    n = X.shape[0]
    K = means.shape[0]
    total = 0.0
    for i in prange(n):
        best = -1e300
        for k in range(K):
            term = component_term(X, i, means, log_weights, log_sigma, k)
            if term > best:
                best = term
        s = 0.0
        for k in range(K):
            s += math.exp(component_term(X, i, means, log_weights, log_sigma, k) - best)
        total += best + math.log(s)
    return total


def repeated_parameter(x, a):
    """`a` read twice per iteration: the reverse loop adds to `a_bar` in two places, which numba's
    prange cannot reduce (fuzz seed kernels1:24:0)."""
    total = 0.0
    for i in prange(x.shape[0]):
        total += math.sin(a * x[i]) + math.cos(a + x[i])
    return total


def _spread(v, t):
    return np.sum(np.outer(v, v)) * t


def thresholded_sum(x, a):
    """A prange loop whose test computes with whole arrays (ANF keeps a condition whole): numba's
    prange-only mode cannot compile that array expression in a parallel body, so the loop runs in
    order (fuzz 951:1090:0: jvp on target="parallel" did not compile)."""
    total = 0.0
    for i in prange(x.shape[0]):
        if _spread(np.ones(3) * x[i], a) > 0.5:
            total += a * x[i] * x[i]
    return total


def positive_part_series(x, a):
    """A sum added to in a loop inside an `if` of a prange loop: numba 0.68 silently drops such
    updates (value and gradient both wrong; fuzz 981:310:0), so each iteration gathers its terms
    in a number of its own first."""
    total = 0.0
    for i in prange(x.shape[0]):
        if x[i] > 0.0:
            for k in range(1, 4):
                total += a * x[i] ** k / k
    return total
