"""check_grads: srcgrad's derivatives of a function against central finite differences and each other."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import api, higher   # called as api.jvp, ...: the functions the user's srcgrad has now
from .errors import SrcgradError


class GradientCheckError(SrcgradError, AssertionError):
    """A derivative disagrees with finite differences or with the other mode; the message says which."""


def check_grads(fn: Callable, args: Sequence, wrt=0, modes: Sequence[str] = ("fwd", "rev"), order: int = 1,
                eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0,
                backend: str = "numba") -> None:
    """Check srcgrad's derivatives of `fn` at `args`, one argument at a time, in random directions.

    Parameters
    ----------
    fn : callable
        The function, as you would pass it to :func:`srcgrad.grad`.
    args : sequence
        The point: floats, float64 arrays and tuples of them.
    wrt : int or tuple of int
        The arguments to check.
    modes : {"fwd", "rev"}, several allowed
        "fwd" checks jvp against finite differences, "rev" checks vjp; both together also run the
        dot-product test ⟨J v, w⟩ = ⟨v, Jᵀ w⟩, which involves no finite differences.
    order : {1, 2}
        2 also checks hvp against finite differences of the gradient (fn must return a float).
    eps, rtol, atol : float
        Central-difference step (relative to each argument's size) and the tolerances.
    seed : int
        Seeds the random directions.
    backend : {"numba", "python"}

    Raises
    ------
    GradientCheckError
        Naming each argument and mode that disagrees, with the two numbers and their difference.
    """
    args = tuple(args)
    positions = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    rng = np.random.default_rng(seed)
    problems = []
    value = fn(*args)
    for w in positions:
        v = _random_like(args[w], rng)
        cotangent = _random_like(value, rng)
        step = eps * (1.0 + _norm(args[w]))
        fd = _minus(fn(*_moved(args, w, v, step)), fn(*_moved(args, w, v, -step)), 1.0 / (2 * step))
        jv = vjv = None
        if "fwd" in modes:
            jv = api.jvp(fn, wrt=w, backend=backend)(*args, v)[1]
            problems += _compare(f"jvp, argument {w}", _flat(jv), _flat(fd), rtol, atol)
        if "rev" in modes:
            vjv = api.vjp(fn, wrt=w, backend=backend)(*args, cotangent)[1]
            got, want = float(_flat(vjv) @ _flat(v)), float(_flat(cotangent) @ _flat(fd))
            problems += _compare(f"vjp, argument {w} (⟨Jᵀw, v⟩ against finite differences)",
                                 np.array([got]), np.array([want]), rtol, atol * (1 + _norm(cotangent)))
        if jv is not None and vjv is not None:
            lhs, rhs = float(_flat(jv) @ _flat(cotangent)), float(_flat(v) @ _flat(vjv))
            problems += _compare(f"dot-product test, argument {w} (⟨Jv, w⟩ against ⟨v, Jᵀw⟩)",
                                 np.array([lhs]), np.array([rhs]), 1e-9, 1e-12 * (1 + abs(lhs)))
        if order >= 2:
            grad = api.grad(fn, wrt=w, backend=backend)
            fd_hv = _minus(grad(*_moved(args, w, v, step)), grad(*_moved(args, w, v, -step)), 1.0 / (2 * step))
            hv = higher.hvp(fn, wrt=w, backend=backend)(*args, v)[2]
            problems += _compare(f"hvp, argument {w}", _flat(hv), _flat(fd_hv), rtol, atol)
    if problems:
        raise GradientCheckError(f"check_grads of {getattr(fn, '__qualname__', fn)}: " + "\n".join(problems))


def _compare(what: str, got, want, rtol: float, atol: float) -> list[str]:
    scale = np.max(np.abs(want), initial=0.0)
    err = np.abs(got - want)
    if np.all(err <= rtol * np.abs(want) + atol * (1.0 + scale)):
        return []
    k = int(np.argmax(err))
    return [f"{what}: got {got[k]!r}, expected {want[k]!r} (|difference| {err[k]:.3e}, at flat index {k})"]


def _flat(x) -> np.ndarray:
    if isinstance(x, tuple):
        return np.concatenate([_flat(p) for p in x]) if x else np.zeros(0)
    return np.asarray(x, dtype=np.float64).ravel()


def _random_like(like, rng):
    if isinstance(like, tuple):
        return tuple(_random_like(p, rng) for p in like)
    if isinstance(like, np.ndarray):
        return rng.standard_normal(like.shape)
    return float(rng.standard_normal())


def _norm(x) -> float:
    return float(np.max(np.abs(_flat(x)), initial=0.0))


def _moved(args, w, direction, step):
    moved = list(args)
    moved[w] = _axpy(args[w], direction, step)
    return tuple(moved)


def _axpy(x, direction, step):
    if isinstance(x, tuple):
        return tuple(_axpy(a, d, step) for a, d in zip(x, direction))
    return x + step * direction


def _minus(a, b, scale):
    if isinstance(a, tuple):
        return tuple(_minus(p, q, scale) for p, q in zip(a, b))
    return (np.asarray(a, dtype=np.float64) - b) * scale
