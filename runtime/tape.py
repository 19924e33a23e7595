"""Adjoint helpers for the reverse sweep."""
import numpy as np
from numba import types
from numba.extending import overload


def zeroed(x):
    """Zero an adjoint in place when it is an array; 0.0 when it is a scalar."""
    if isinstance(x, np.ndarray):
        x[...] = 0.0
        return x
    return 0.0


@overload(zeroed, inline="always")
def _zeroed(x):
    if isinstance(x, types.Array):
        def zero_array(x):
            x[...] = 0.0
            return x
        return zero_array
    return lambda x: 0.0

