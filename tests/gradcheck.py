"""Gradient checks against central finite differences, plus the forward/reverse dot-product test.

Uses only srcgrad's public API.  Values may be floats, arrays or (nested) tuples of them;
``flatten`` turns any of these into one float vector in a fixed order, so a Jacobian is always
the 2-D matrix d flatten(f(args)) / d flatten(args[wrt]) with the wrt arguments concatenated.
"""
import os
import sys

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:  # let the suite import srcgrad from the checkout without installing
    sys.path.insert(0, _ROOT)

RTOL = 1e-5
ATOL = 1e-7
DOT_RTOL = 1e-9
VALUE_RTOL = 1e-10


# ---------------------------------------------------------------------------- structures


def flatten(x):
    """Float vector of a float, array or nested tuple of them."""
    if isinstance(x, tuple):
        parts = [flatten(p) for p in x]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.asarray(x, dtype=np.float64).ravel()


def unflatten(flat, like):
    """Inverse of ``flatten``: a structure shaped like ``like`` (python floats for scalars)."""
    out, pos = _unflatten(np.asarray(flat, dtype=np.float64), like, 0)
    assert pos == flat.size
    return out


def _unflatten(flat, like, pos):
    if isinstance(like, tuple):
        parts = []
        for item in like:
            part, pos = _unflatten(flat, item, pos)
            parts.append(part)
        return tuple(parts), pos
    if np.ndim(like) == 0:
        return float(flat[pos]), pos + 1
    size = np.size(like)
    return flat[pos : pos + size].reshape(np.shape(like)).copy(), pos + size


def random_like(like, rng):
    return unflatten(rng.standard_normal(flatten(like).size), like)


def copy_args(args):
    return tuple(_copy(a) for a in args)


def _copy(x):
    if isinstance(x, tuple):
        return tuple(_copy(p) for p in x)
    return x.copy() if isinstance(x, np.ndarray) else x


def as_wrt_tuple(wrt):
    return wrt if isinstance(wrt, tuple) else (wrt,)


def assert_same_structure(got, like, what="result"):
    """``got`` has the structure of ``like``: same tuple nesting, array shapes, scalars as scalars."""
    if isinstance(like, tuple):
        assert isinstance(got, tuple), f"{what}: expected a tuple, got {type(got).__name__}"
        assert len(got) == len(like), f"{what}: expected {len(like)} items, got {len(got)}"
        for i, (g, l) in enumerate(zip(got, like)):
            assert_same_structure(g, l, f"{what}[{i}]")
    elif np.ndim(like) == 0:
        assert np.ndim(got) == 0, f"{what}: expected a scalar, got shape {np.shape(got)}"
        assert isinstance(got, (float, np.floating)) or (
            isinstance(got, np.ndarray) and got.dtype.kind == "f"
        ), f"{what}: expected a float, got {type(got).__name__}"
    else:
        assert isinstance(got, np.ndarray), f"{what}: expected an ndarray, got {type(got).__name__}"
        assert got.shape == np.shape(like), f"{what}: shape {got.shape} != {np.shape(like)}"


def assert_unchanged(before, after, what="arguments"):
    np.testing.assert_array_equal(flatten(after), flatten(before), err_msg=f"{what} were mutated")


def _close(got, want, err_msg, rtol=RTOL, atol=ATOL, scale=1.0):
    np.testing.assert_allclose(flatten(got), flatten(want), rtol=rtol, atol=atol * max(1.0, scale), err_msg=err_msg)


# ---------------------------------------------------------------------------- finite differences


def numeric_jacobian(f, args, wrt=0, eps=1e-6):
    """Central-difference Jacobian, shape (len(flatten(f(*args))), total size of args[wrt]).

    The step for input k is ``eps * max(1, |x_k|)``.
    """
    wrts = as_wrt_tuple(wrt)
    args = copy_args(args)
    out_size = flatten(f(*copy_args(args))).size
    columns = []
    for w in wrts:
        x0 = flatten(args[w])
        for k in range(x0.size):
            h = eps * max(1.0, abs(x0[k]))
            plus, minus = x0.copy(), x0.copy()
            plus[k] += h
            minus[k] -= h
            f_plus = flatten(f(*_replace(args, w, unflatten(plus, args[w]))))
            f_minus = flatten(f(*_replace(args, w, unflatten(minus, args[w]))))
            columns.append((f_plus - f_minus) / (2.0 * h))
    if not columns:
        return np.zeros((out_size, 0))
    return np.stack(columns, axis=1)


def _replace(args, i, value):
    args = copy_args(args)
    return args[:i] + (value,) + args[i + 1 :]


def jacobian_blocks(f, args, wrt=0, eps=1e-6):
    """FD Jacobian in srcgrad.jacfwd's layout: shape(out) + shape(arg), a tuple for tuple wrt."""
    J = numeric_jacobian(f, args, wrt, eps)
    out_shape = np.shape(f(*copy_args(args)))
    blocks, col = [], 0
    for w in as_wrt_tuple(wrt):
        size = np.size(args[w])
        blocks.append(J[:, col : col + size].reshape(out_shape + np.shape(args[w])))
        col += size
    return tuple(blocks) if isinstance(wrt, tuple) else blocks[0]


def _scale(x):
    flat = flatten(x)
    return float(np.max(np.abs(flat))) if flat.size else 1.0


# ---------------------------------------------------------------------------- srcgrad transforms

_CACHE = {}


def transform(api, f, wrt, backend):
    """srcgrad.<api>(f, wrt=wrt, backend=backend), built once per session (numba compiles are slow)."""
    import srcgrad

    key = (api, f, wrt, backend)
    if key not in _CACHE:
        _CACHE[key] = getattr(srcgrad, api)(f, wrt=wrt, backend=backend)
    return _CACHE[key]


def _jvp(f, args, wrt, backend, tangents):
    g = transform("jvp", f, wrt, backend)
    call_args = copy_args(args)
    value, tangent_out = g(*call_args, *copy_args(tangents))
    assert_unchanged(args, call_args, "jvp arguments")
    return value, tangent_out


def _vjp(f, args, wrt, backend, cotangent):
    g = transform("vjp", f, wrt, backend)
    call_args = copy_args(args)
    value, grads = g(*call_args, _copy(cotangent))
    assert_unchanged(args, call_args, "vjp arguments")
    return value, grads


def _tangents(args, wrt, rng):
    return tuple(random_like(args[w], rng) for w in as_wrt_tuple(wrt))


def check_jvp(f, args, wrt=0, backend="numba", rng=None, fd_jacobian=None):
    """srcgrad.jvp's value equals f(*args) and its tangent equals J·v for a random v."""
    rng = np.random.default_rng(0) if rng is None else rng
    expected = f(*copy_args(args))
    tangents = _tangents(args, wrt, rng)
    value, tangent_out = _jvp(f, args, wrt, backend, tangents)
    assert_same_structure(value, expected, "jvp value")
    assert_same_structure(tangent_out, expected, "jvp tangent")
    _close(value, expected, "jvp value != f(*args)", rtol=VALUE_RTOL, atol=1e-12)
    J = numeric_jacobian(f, args, wrt) if fd_jacobian is None else fd_jacobian
    _close(tangent_out, J @ flatten(tangents), "jvp tangent != J·v (finite differences)", scale=_scale(expected))


def check_vjp(f, args, wrt=0, backend="numba", rng=None, fd_jacobian=None):
    """srcgrad.vjp's value equals f(*args) and its grads equal Jᵀw for a random cotangent w."""
    rng = np.random.default_rng(1) if rng is None else rng
    expected = f(*copy_args(args))
    cotangent = random_like(expected, rng)
    value, grads = _vjp(f, args, wrt, backend, cotangent)
    assert_same_structure(value, expected, "vjp value")
    like = tuple(args[w] for w in wrt) if isinstance(wrt, tuple) else args[wrt]
    assert_same_structure(grads, like, "vjp grads")
    _close(value, expected, "vjp value != f(*args)", rtol=VALUE_RTOL, atol=1e-12)
    J = numeric_jacobian(f, args, wrt) if fd_jacobian is None else fd_jacobian
    _close(grads, J.T @ flatten(cotangent), "vjp grads != Jᵀw (finite differences)", scale=_scale(expected))


def dot_product_test(f, args, wrt=0, backend="numba", rng=None):
    """<J v, w> from jvp equals <v, Jᵀ w> from vjp to DOT_RTOL (no finite differences)."""
    rng = np.random.default_rng(2) if rng is None else rng
    expected = f(*copy_args(args))
    tangents = _tangents(args, wrt, rng)
    cotangent = random_like(expected, rng)
    _, jv = _jvp(f, args, wrt, backend, tangents)
    _, jtw = _vjp(f, args, wrt, backend, cotangent)
    v, w, jv, jtw = flatten(tangents), flatten(cotangent), flatten(jv), flatten(jtw)
    lhs, rhs = float(jv @ w), float(v @ jtw)
    scale = np.linalg.norm(jv) * np.linalg.norm(w) + np.linalg.norm(v) * np.linalg.norm(jtw)
    assert abs(lhs - rhs) <= DOT_RTOL * max(scale, 1e-300), (
        f"dot-product test failed: <Jv, w> = {lhs!r}, <v, Jᵀw> = {rhs!r}, |diff| = {abs(lhs - rhs):.3e}"
    )
