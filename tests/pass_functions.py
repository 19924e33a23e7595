"""Functions for the pass tests (their source must live in a real file)."""
import math

import numpy as np


def nested_expression(x, y):
    return math.sin(x * y) + x ** 2


def early_exit(x, n):
    s = 0.0
    for i in range(n):
        if s > 3.0:
            break
        if i % 2 == 0:
            continue
        s = s + x * i
    return s


def vectorized(x, w):
    d = x[1:] - x[:-1]
    return np.sum(w[1:] * d * d) + np.dot(x, x)


def keeps_array(x):
    y = 2.0 * x + 1.0
    return np.sum(y * y), y
