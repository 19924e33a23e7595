import math

import numpy as np

from srcgrad_runtime import numba_jit as jit


@jit
def vjp_rosenbrock(x, out_bar):
    x_shape = x.shape
    x_shape_0 = x_shape[0]
    sub = x_shape_0 - 1
    # reverse sweep
    x_bar = np.zeros(x.shape)
    s_bar = out_bar
    for i in range(sub):
        add = i + 1
        x_add = x[add]
        x_i = x[i]
        pow_1 = x_i ** 2
        sub_1 = x_add - pow_1
        sub_2 = 1.0 - x_i
        # d(s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2)
        add_1_bar = s_bar
        mul_bar = add_1_bar
        pow_3_bar = add_1_bar
        sub_2_bar = 2 * sub_2 * pow_3_bar
        x_i_bar = -sub_2_bar
        pow_2_bar = 100.0 * mul_bar
        sub_1_bar = 2 * sub_1 * pow_2_bar
        x_add_bar = sub_1_bar
        pow_1_bar = -sub_1_bar
        x_i_bar += 2 * x_i * pow_1_bar
        x_bar[i] += x_i_bar
        x_bar[add] += x_add_bar
    return (x_bar,)
