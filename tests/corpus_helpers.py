"""Helpers that corpus functions import from another module (cross-module call resolution)."""
import math

import numpy as np

DECAY = 0.9  # module constant read by a helper in *this* module, not the caller's


def softplus(x):
    return np.log1p(np.exp(x))


def damped(a, b):
    return DECAY * a * b + math.sin(a)


def normalize(x):
    return x / np.sqrt(np.sum(x * x))


def scaled_into(out, x, scale=2.0):
    """A subroutine from another module: writes into `out`, reads this module's DECAY."""
    for i in range(x.shape[0]):
        out[i] = DECAY * scale * x[i] * x[i]
