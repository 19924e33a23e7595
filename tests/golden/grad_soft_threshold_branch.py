import math

import numpy as np

from srcgrad_runtime import numba_jit as jit


@jit
def vjp_soft_threshold(x, lam, out_bar):
    cond = x > lam
    if cond:
        y = x - lam
    else:
        cond_1 = x < -lam
        if cond_1:
            y = x + lam
        else:
            y = 0.0 * x
    neg = -lam
    exp = math.exp(neg)
    # reverse sweep
    x_bar = 0.0
    mul_bar = out_bar
    # d(return y * math.exp(-lam))
    y_bar = exp * mul_bar
    exp_bar = y * mul_bar
    neg_bar = exp * exp_bar
    lam_bar = -neg_bar
    if cond:
        # d(y = x - lam)
        x_bar += y_bar
        lam_bar += -y_bar
    elif cond_1:
        # d(y = x + lam)
        x_bar += y_bar
        lam_bar += y_bar
    else:
        # d(y = 0.0 * x)
        x_bar += 0.0 * y_bar
    return x_bar, lam_bar
