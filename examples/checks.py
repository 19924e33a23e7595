"""Helpers the example scripts share: a central-difference gradient and a best-of-N timer."""
import math
import time

import numpy as np


def central_differences(f, x, eps=1e-6):
    """The gradient of scalar f at the array x by central differences."""
    grad = np.zeros_like(x)
    for k in range(x.size):
        step = np.zeros_like(x)
        step[k] = eps
        grad[k] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def best_time(f, repeats):
    """The fastest of `repeats` calls of f(), in seconds."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best
