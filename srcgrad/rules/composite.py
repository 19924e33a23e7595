"""Composite primitives: NumPy functions written here in plain Python from other primitives.

srcgrad reads these implementations and differentiates them as it does a user function, in both
modes, so a composite needs no derivative of its own: only its record (result kind, samples), and
a test that it computes what NumPy computes. Calls with options the implementation does not take
(`np.var(x, axis=0)`) are refused when resolved.
"""
from __future__ import annotations

import numpy as np

from . import results
from .registry import CompositeRule, register, resolve_path


def composite(path: str, kind, samples: tuple):
    def register_implementation(implementation):
        register(resolve_path(path), CompositeRule(name=path, kind=kind, implementation=implementation,
                                                  samples=samples))
        return implementation
    return register_implementation


_V, _M = np.array([0.3, -1.2, 2.0, 0.7]), np.array([[0.5, 1.5, -0.4], [2.0, -1.0, 0.25]])


@composite("np.var", kind=results.float_scalar, samples=((_V,), (_M,)))
def np_var(x):
    deviation = x - np.mean(x)
    return np.mean(deviation * deviation)


@composite("np.std", kind=results.float_scalar, samples=((_V,), (_M,)))
def np_std(x):
    deviation = x - np.mean(x)
    return np.sqrt(np.mean(deviation * deviation))


@composite("np.linalg.norm", kind=results.float_scalar, samples=((_V,), (_M,)))
def np_linalg_norm(x):
    """The 2-norm of a vector, the Frobenius norm of a matrix."""
    return np.sqrt(np.sum(x * x))


@composite("np.trace", kind=results.float_scalar, samples=((_M,),))
def np_trace(a):
    total = 0.0
    for i in range(min(a.shape[0], a.shape[1])):
        total += a[i, i]
    return total


@composite("np.cross", kind=results.vector, samples=((_V[:3], _V[1:]),))
def np_cross(a, b):
    """The cross product of two 3-vectors."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])
