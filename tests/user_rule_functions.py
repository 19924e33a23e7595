"""Functions users register derivative rules for, and functions that call them."""
import math

import numba
import numpy as np


def softplus(x):
    return math.log1p(math.exp(x))


def softplus_partials(x):
    return 1.0 / (1.0 + math.exp(-x))


def uses_softplus(x):
    return softplus(x) * x


def smooth_step(x):
    return x * x * (3.0 - 2.0 * x)


def smooth_step_partials(x):
    slope = 6.0 * x
    return slope * (1.0 - x)    # two statements: called, not inlined


def uses_smooth_step(x):
    return np.sum(smooth_step(x) * x)


@numba.njit
def weighted_square(a, b):
    return a * a * b


def uses_weighted_square(a, b):
    return weighted_square(a, b) + a


def cube(x):
    return x * x * x


def uses_cube(x):
    return cube(x) + x
