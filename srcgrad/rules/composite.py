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


def composite(path: str, kind, samples: tuple, along=None, methods: tuple = ()):
    """Register the decorated implementation for `path`; `along(x, axis)` serves calls with axis=."""
    def register_implementation(implementation):
        register(resolve_path(path), CompositeRule(name=path, kind=kind, implementation=implementation,
                                                  samples=samples, along=along, methods=methods))
        return implementation
    return register_implementation


_V, _M = np.array([0.3, -1.2, 2.0, 0.7]), np.array([[0.5, 1.5, -0.4], [2.0, -1.0, 0.25]])


def var_along(x, axis):
    deviation = x - np.mean(x, axis=axis, keepdims=True)
    return np.mean(deviation * deviation, axis=axis)


def std_along(x, axis):
    deviation = x - np.mean(x, axis=axis, keepdims=True)
    return np.sqrt(np.mean(deviation * deviation, axis=axis))


def norm_along(x, axis):
    """The 2-norms of the vectors along `axis`."""
    return np.sqrt(np.sum(x * x, axis=axis))


@composite("np.var", kind=results.float_scalar, samples=((_V,), (_M,)), along=var_along)
def np_var(x):
    deviation = x - np.mean(x)
    return np.mean(deviation * deviation)


@composite("np.std", kind=results.float_scalar, samples=((_V,), (_M,)), along=std_along)
def np_std(x):
    deviation = x - np.mean(x)
    return np.sqrt(np.mean(deviation * deviation))


@composite("np.linalg.norm", kind=results.float_scalar, samples=((_V,), (_M,)), along=norm_along)
def np_linalg_norm(x):
    """The 2-norm of a vector, the Frobenius norm of a matrix."""
    return np.sqrt(np.sum(x * x))


@composite("sum", kind=results.first_axis_summed, samples=((_V,), (_M,)))
def builtin_sum(x):
    """Python's sum over an array: its first axis (a number for a vector, a row for a matrix)."""
    return np.sum(x, axis=0)


@composite("np.cumprod", kind=results.flattened, samples=((_V,), (_M,)), methods=("cumprod",))
def np_cumprod(x):
    # a running product as a loop, not y / x: exact where an element is 0, and differentiable again
    flat = np.ravel(x)
    out = np.empty(flat.shape[0])
    product = 1.0
    for i in range(flat.shape[0]):
        product = product * flat[i]
        out[i] = product
    return out


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


# ----- scipy.special: the functions of probabilities and log-densities -------------------------

_P = np.array([0.1, 0.45, 0.8, 0.97])


@composite("scipy.special.expit", kind=results.float_broadcast, samples=((_V,), (_M,), (0.3,)))
def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), as tanh: no overflow for large negative x."""
    return 0.5 + 0.5 * np.tanh(0.5 * x)


@composite("scipy.special.logit", kind=results.float_broadcast, samples=((_P,), (0.3,)))
def logit(p):
    return np.log(p) - np.log1p(-p)


@composite("scipy.special.xlogy", kind=results.float_broadcast, samples=((_P, _P[::-1]), (0.3, _P)))
def xlogy(x, y):
    """x * log(y), valid for y > 0 (the derivative at x = 0, y = 0 does not exist)."""
    return x * np.log(y)


def logsumexp_along(a, axis):
    largest = np.max(a, axis=axis, keepdims=True)
    return np.sum(largest, axis=axis) + np.log(np.sum(np.exp(a - largest), axis=axis))


def softmax_along(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax_along(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


@composite("scipy.special.logsumexp", kind=results.float_scalar, samples=((_V,), (_M,)), along=logsumexp_along)
def logsumexp(a):
    """log(sum(exp(a))) over all elements, shifted by the largest so no exp overflows."""
    largest = np.max(a)
    return largest + np.log(np.sum(np.exp(a - largest)))


@composite("scipy.special.softmax", kind=results.same_as_first, samples=((_V,), (_M,)), along=softmax_along)
def softmax(x):
    """exp(x) / sum(exp(x)) over all elements."""
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


@composite("scipy.special.log_softmax", kind=results.same_as_first, samples=((_V,), (_M,)), along=log_softmax_along)
def log_softmax(x):
    shifted = x - np.max(x)
    return shifted - np.log(np.sum(np.exp(shifted)))


@composite("np.take", kind=results.vector, samples=((_M, np.array([0, 4, 4])),))
def np_take(a, indices):
    """Elements of the flattened array (np.take without axis=); repeated indices add up in reverse."""
    return np.ravel(a)[indices]
