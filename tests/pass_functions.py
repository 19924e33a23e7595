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


def heat_in_place(u, k, steps):
    """Explicit heat-equation steps written into the same array: a slice write inside a loop."""
    v = np.zeros_like(u)
    v[:] = u
    for _ in range(steps):
        v[1:-1] = v[1:-1] + k * (v[2:] - 2.0 * v[1:-1] + v[:-2])
    return np.sum(v * v)


def tuple_variable(a, b):
    t = (a * b, a + b)
    return t[0] * t[1]


def weighted_row_norms(A, w):
    rows = np.sum(A * A, axis=1)
    cols = np.sum(A, 0)
    return np.sum(rows * w) + np.sum(cols * cols)


def column_peaks(A):
    return np.sum(np.max(A, axis=0) * np.array([1.0, 2.0, 3.0]))


def peak_over_both_axes(A):
    return np.sum(np.max(A, axis=(0, 1)))


def writes_into_argument(x):
    x[0] = x[0] * 2.0
    return np.sum(x * x)


def writes_through_alias(x):
    y = np.zeros_like(x)
    z = y
    for i in range(x.shape[0]):
        z[i] = x[i] * x[i]
    return np.sum(y)


def error_function_weighted(x):
    return math.erf(x) * x


def doubles_first_then_squares(x):
    x[0] = x[0] * 2.0
    return x * x
