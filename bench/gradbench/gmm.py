"""GradBench `gmm`: a Gaussian mixture model's log-likelihood with a Wishart prior, and its gradient (port of the C++ reference's loops)."""

import math

import numba
import numpy as np
import srcgrad
from common import check_gradient, fd_report, timed

DERIVATIVE = "jacobian"


@numba.njit
def logsumexp(v):
    mx = np.max(v)
    return np.log(np.sum(np.exp(v - mx))) + mx


@numba.njit
def log_gamma_distrib(a, p):
    """The log of the multivariate gamma function."""
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out += math.lgamma(a + 0.5 * (1 - j))
    return out


@numba.njit
def log_wishart_prior(gamma, m, sum_qs, Qdiags, l):
    k, d = Qdiags.shape
    n = d + m + 1
    C = n * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_distrib(0.5 * n, d)
    out = 0.0
    for ik in range(k):
        frobenius = np.sum(Qdiags[ik] ** 2) + np.sum(l[ik] ** 2)
        out += 0.5 * gamma * gamma * frobenius - m * sum_qs[ik]
    return -out + k * C


@numba.njit
def Qtimesx(Qdiag, ltri, x):
    """Q x for Q lower triangular with diagonal Qdiag and, below it column by column, ltri."""
    d = x.shape[0]
    out = Qdiag * x
    idx = 0
    for i in range(d):
        for j in range(i + 1, d):
            out[j] += ltri[idx] * x[i]
            idx += 1
    return out


def gmm_objective(alpha, mu, q, l, x, gamma, m):
    n, d = x.shape
    k = alpha.shape[0]
    Qdiags = np.exp(q)
    sum_qs = np.sum(q, axis=1)
    main_term = np.zeros(k)
    slse = 0.0
    for ix in range(n):
        for ik in range(k):
            xcentered = x[ix] - mu[ik]
            Qxcentered = Qtimesx(Qdiags[ik], l[ik], xcentered)
            main_term[ik] = alpha[ik] + sum_qs[ik] - 0.5 * np.sum(Qxcentered ** 2)
        slse += logsumexp(main_term)
    CONSTANT = -n * d * 0.5 * math.log(2.0 * math.pi)
    return CONSTANT + slse - n * logsumexp(alpha) + log_wishart_prior(gamma, m, sum_qs, Qdiags, l)


primal_gmm = numba.njit(gmm_objective)
gradient_gmm = srcgrad.grad(gmm_objective, wrt=(0, 1, 2, 3))


def prepare(input):
    arrays = [np.array(input[key], dtype=np.float64) for key in ("alpha", "mu", "q", "l", "x")]
    return (*arrays, float(input["gamma"]), int(input["m"]))


@timed(pre=prepare, post=float)
def objective(args):
    return primal_gmm(*args)


def as_json(grads):
    alpha, mu, q, l = grads
    return {"alpha": alpha.tolist(), "mu": mu.tolist(), "q": q.tolist(), "l": l.tolist()}


@timed(pre=prepare, post=as_json)
def jacobian(args):
    return gradient_gmm(*args)


def check(input):
    args = prepare(input)
    grads = gradient_gmm(*args)
    errors = {}
    for position, name in enumerate(("alpha", "mu", "q", "l")):
        def f(v, position=position):
            return primal_gmm(*args[:position], v, *args[position + 1:])
        errors[f"fd_rel_err_{name}"] = check_gradient(f, args[position], grads[position])
    return fd_report(**errors)
