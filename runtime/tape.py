"""Tape helpers for the reverse sweep: undoing logged element writes and zeroing adjoints."""
import numpy as np
from numba import types
from numba.extending import overload


def undo_writes(array, old_values, indices, height):
    """Pop the write log down to `height`, putting each overwritten element back (newest first)."""
    while len(old_values) > height:
        index = tuple(indices.pop() for _ in range(array.ndim))[::-1]
        array[index] = old_values.pop()


def zeroed(x):
    """Zero an adjoint in place when it is an array; 0.0 when it is a scalar."""
    if isinstance(x, np.ndarray):
        x[...] = 0.0
        return x
    return 0.0


@overload(undo_writes)
def _undo_writes(array, old_values, indices, height):
    if array.ndim == 1:
        def undo1(array, old_values, indices, height):
            while len(old_values) > height:
                array[indices.pop()] = old_values.pop()
        return undo1
    if array.ndim == 2:
        def undo2(array, old_values, indices, height):
            while len(old_values) > height:
                j = indices.pop()
                i = indices.pop()
                array[i, j] = old_values.pop()
        return undo2
    if array.ndim == 3:
        def undo3(array, old_values, indices, height):
            while len(old_values) > height:
                k = indices.pop()
                j = indices.pop()
                i = indices.pop()
                array[i, j, k] = old_values.pop()
        return undo3
    return None


@overload(zeroed, inline="always")
def _zeroed(x):
    if isinstance(x, types.Array):
        def zero_array(x):
            x[...] = 0.0
            return x
        return zero_array
    return lambda x: 0.0
