"""GradBench `llsq`: a linear least-squares objective over n sample points and its gradient (port of the C++ reference)."""

import numba
import numpy as np
import srcgrad
from common import check_gradient, fd_report, timed

DERIVATIVE = "gradient"


def llsq(x, n):
    m = x.shape[0]
    total = 0.0
    for i in range(n):
        ti = -1.0 + i * 2.0 / (n - 1.0)
        inner = np.sign(ti)
        mul = 1.0
        for j in range(m):
            inner -= x[j] * mul
            mul *= ti
        total += inner * inner
    return total / 2.0


primal_llsq = numba.njit(llsq)
gradient_llsq = srcgrad.grad(llsq)


def prepare(input):
    return np.array(input["x"], dtype=np.float64), int(input["n"])


@timed(pre=prepare, post=float)
def primal(args):
    return primal_llsq(*args)


@timed(pre=prepare, post=lambda g: g.tolist())
def gradient(args):
    return gradient_llsq(*args)


def check(input):
    x, n = prepare(input)
    return fd_report(fd_rel_err=check_gradient(lambda x: primal_llsq(x, n), x, gradient_llsq(x, n)))
