import math

import numpy as np

from srcgrad_runtime import numba_jit as jit


@jit
def jvp_horner(c, x, dx):
    # y = 0.0
    y = 0.0
    dy = 0.0
    c_shape = c.shape
    c_shape_0 = c_shape[0]
    sub = c_shape_0 - 1
    for k in range(sub, -1, -1):
        # y = y * x + c[k]
        mul = y * x
        dmul = x * dy + y * dx
        c_k = c[k]
        y = mul + c_k
        dy = dmul
    return y, dy
