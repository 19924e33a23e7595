import math

import numpy as np

from srcgrad_runtime import numba_jit as jit
from srcgrad_runtime import sum_in_any_order


@jit
def vjp_newton_sqrt(a, out_bar):
    x_tape = []
    x = a
    trips = 0
    while abs(x * x - a) > 1e-12 * a:
        trips = trips + 1
        x_tape.append(x)
        div = a / x
        add = x + div
        x = 0.5 * add
    # reverse sweep
    a_bar = 0.0
    x_bar = out_bar
    for iteration in range(trips - 1, -1, -1):
        x = x_tape.pop()
        div = a / x
        # d(x = 0.5 * (x + a / x))
        add_bar = 0.5 * x_bar
        x_bar = add_bar
        div_bar = add_bar
        a_bar = sum_in_any_order(a_bar, 1.0 / x * div_bar)
        x_bar += -div * (1.0 / x) * div_bar
    # d(x = a)
    a_bar += x_bar
    return (a_bar,)
