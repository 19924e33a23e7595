"""GradBench `lse`: log-sum-exp of a vector and its gradient (port of tools/pytorch/lse.py)."""

import numba
import numpy as np
import srcgrad
from common import check_gradient, fd_report, timed

DERIVATIVE = "gradient"


def logsumexp(x):
    m = np.max(x)
    return np.log(np.sum(np.exp(x - m))) + m


primal_lse = numba.njit(logsumexp)
gradient_lse = srcgrad.grad(logsumexp)


def prepare(input):
    return np.array(input["x"], dtype=np.float64)


@timed(pre=prepare, post=float)
def primal(x):
    return primal_lse(x)


@timed(pre=prepare, post=lambda g: g.tolist())
def gradient(x):
    return gradient_lse(x)


def check(input):
    x = prepare(input)
    return fd_report(fd_rel_err=check_gradient(primal_lse, x, gradient_lse(x)))
