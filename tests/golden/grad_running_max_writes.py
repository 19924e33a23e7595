import math

import numpy as np

from srcgrad_runtime import numba_jit as jit


@jit
def vjp_running_max_of_sines(x, out_bar):
    y = np.zeros_like(x)
    x_0 = x[0]
    sin = math.sin(x_0)
    y[0] = sin
    x_shape = x.shape
    x_shape_0 = x_shape[0]
    # arrays restored for the reverse sweep: y by a copy at loop entry (disjoint writes)
    sin_1_tape = np.empty(max(x_shape_0 - 1, 0))
    y_at_entry = np.copy(y)
    for i in range(1, x_shape_0):
        sub = i - 1
        y_sub = y[sub]
        x_i = x[i]
        sin_1 = math.sin(x_i)
        sin_1_tape[i - 1] = sin_1
        max_1 = max(y_sub, sin_1)
        y[i] = max_1
    # reverse sweep
    x_bar = np.zeros(x.shape)
    y_bar = np.zeros(y.shape)
    sum_1_bar = out_bar
    # d(return np.sum(y))
    y_bar += sum_1_bar
    for i in range(x_shape_0 - 1, 0, -1):
        y[i] = y_at_entry[i]
        sub = i - 1
        y_sub = y[sub]
        x_i = x[i]
        sin_1 = sin_1_tape[i - 1]
        # d(y[i] = max(y[i - 1], math.sin(x[i])))
        max_1_bar = y_bar[i]
        y_bar[i] = 0.0
        y_sub_bar = (y_sub >= sin_1) * max_1_bar
        sin_1_bar = (y_sub < sin_1) * max_1_bar
        x_i_bar = math.cos(x_i) * sin_1_bar
        x_bar[i] += x_i_bar
        y_bar[sub] += y_sub_bar
    # d(y[0] = math.sin(x[0]))
    sin_bar = y_bar[0]
    x_0_bar = math.cos(x_0) * sin_bar
    x_bar[0] += x_0_bar
    return (x_bar,)
