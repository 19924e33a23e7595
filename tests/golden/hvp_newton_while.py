import math

import numpy as np

from srcgrad_runtime import numba_jit as jit
from srcgrad_runtime import sum_in_any_order


@jit
def vjp_jvp_of_newton_sqrt(a, tangent_0, out_bar):
    dx_tape = []
    x_tape = []
    # inlined: jvp_newton_sqrt(a, tangent_0)
    x = a
    dx = tangent_0
    trips = 0
    while abs(x * x - a) > 1e-12 * a:
        trips = trips + 1
        dx_tape.append(dx)
        x_tape.append(x)
        div = a / x
        div_1 = 1.0 / x
        mul = div_1 * tangent_0
        neg = -div
        div_2 = 1.0 / x
        mul_1 = neg * div_2
        mul_2 = mul_1 * dx
        ddiv = mul + mul_2
        add = x + div
        dadd = dx + ddiv
        x = 0.5 * add
        dx = 0.5 * dadd
    jvp_newton_sqrt_1 = x, dx
    value = jvp_newton_sqrt_1
    # reverse sweep
    a_bar = 0.0
    jvp_newton_sqrt_1_bar_0 = 0.0
    jvp_newton_sqrt_1_bar_1 = 0.0
    tangent_0_bar = 0.0
    jvp_newton_sqrt_1_bar_0 += out_bar[0]
    jvp_newton_sqrt_1_bar_1 += out_bar[1]
    # d(return inner(a, tangent_0))
    x_bar = jvp_newton_sqrt_1_bar_0
    dx_bar = jvp_newton_sqrt_1_bar_1
    for iteration in range(trips - 1, -1, -1):
        x = x_tape.pop()
        dx = dx_tape.pop()
        div = a / x
        div_1 = 1.0 / x
        neg = -div
        div_2 = 1.0 / x
        mul_1 = neg * div_2
        # d(dx = 0.5 * dadd)
        dadd_bar = 0.5 * dx_bar
        # d(x = 0.5 * add)
        add_bar = 0.5 * x_bar
        # d(dadd = dx + ddiv)
        dx_bar = dadd_bar
        ddiv_bar = dadd_bar
        # d(add = x + div)
        x_bar = add_bar
        div_bar = add_bar
        # d(ddiv = 1.0 / x * da + -div * (1.0 / x) * dx)
        mul_bar = ddiv_bar
        mul_2_bar = ddiv_bar
        mul_1_bar = dx * mul_2_bar
        dx_bar += mul_1 * mul_2_bar
        neg_bar = div_2 * mul_1_bar
        div_2_bar = neg * mul_1_bar
        x_bar += -div_2 * (1.0 / x) * div_2_bar
        div_bar += -neg_bar
        div_1_bar = tangent_0 * mul_bar
        tangent_0_bar = sum_in_any_order(tangent_0_bar, div_1 * mul_bar)
        x_bar += -div_1 * (1.0 / x) * div_1_bar
        # d(div = a / x)
        a_bar = sum_in_any_order(a_bar, 1.0 / x * div_bar)
        x_bar += -div * (1.0 / x) * div_bar
    # d(dx = da)
    tangent_0_bar += dx_bar
    # d(x = a)
    a_bar += x_bar
    return value, (a_bar, tangent_0_bar)
