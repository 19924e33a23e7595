"""Second derivatives: Hessian-vector products and Hessians, by reverse mode over forward mode.

The jvp of f is generated code inside the differentiable subset, so reverse mode runs over it:
with the jvp's output (f, ∇f·v) seeded (0, 1), the adjoint of x is H·v and the adjoint of the
tangent v is ∇f, both from one pass. A Hessian is one such pass per direction.
"""
from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from .api import DerivativeFunction, Wrt, _Arguments, _as_float, _basis, _normalize_wrt, _shape_grads, jvp, remember, vjp
from .analyze import kinds as K
from .errors import SrcgradError
from .frontend.parse import python_function


def hvp(fn: Callable, wrt: Wrt = 0, backend: str = "numba") -> DerivativeFunction:
    """Hessian-vector product of a scalar function, with its value and gradient, in one pass.

    Parameters
    ----------
    fn : callable
        A Python function returning a float.
    wrt : int or tuple of int
        Positions of the arguments to differentiate with respect to.
    backend : {"numba", "python"}
        Compile the generated code with numba, or run it as plain Python for debugging.

    Returns
    -------
    DerivativeFunction
        ``g(*args, v) -> (value, grad, Hv)``: `v` is shaped like the `wrt` argument (a tuple of
        one direction per argument when `wrt` is a tuple); `grad` and `Hv` are shaped as for
        :func:`srcgrad.grad`. For `scipy.optimize.minimize(..., hessp=lambda x, v: g(x, v)[2])`.
    """
    positions, as_tuple = _normalize_wrt(fn, wrt)
    n_params = len(inspect.signature(python_function(fn)).parameters)
    tangent = jvp(fn, wrt=positions, backend=backend)
    second = vjp(tangent, wrt=positions + tuple(n_params + k for k in range(len(positions))), backend=backend)
    arguments = _Arguments(fn, "hvp", 1, "direction v, shaped like the wrt argument(s)")

    def call(*args_and_v, **keywords):
        args, (v,) = arguments.bind(args_and_v, keywords)
        directions = tuple(v) if as_tuple else (v,)
        if len(directions) != len(positions):
            raise SrcgradError(f"hvp with wrt={wrt!r} takes a tuple of {len(positions)} directions")
        directions = [_as_float(d, args[w]) for d, w in zip(directions, positions)]
        out_kind = tangent._specializations.get(args)[2]
        if not (K.is_scalar(out_kind) or out_kind == K.UNKNOWN):
            raise SrcgradError(f"hvp and hessian need {python_function(fn).__qualname__} to return a float, but it returns "
                               f"{'a tuple' if isinstance(out_kind, tuple) else 'an array'}; for the second derivatives "
                               "of one output, differentiate a function that returns that output")
        (value, _), grads = second(*args, *directions, (0.0, 1.0))
        k = len(positions)
        return value, _shape_grads(grads[k:], args, positions, as_tuple), _shape_grads(grads[:k], args, positions, as_tuple)

    return remember(DerivativeFunction(fn, call, second._specializations, hvp.__doc__), "hvp", fn, wrt=wrt, backend=backend)


def hessian(fn: Callable, wrt: Wrt = 0, backend: str = "numba") -> DerivativeFunction:
    """The dense Hessian of a scalar function, one Hessian-vector product per direction.

    Returns
    -------
    DerivativeFunction
        ``H(*args)``: an array of shape ``arg.shape + arg.shape`` (a float for a float argument);
        with a tuple `wrt`, a tuple of tuples of blocks, ``H[i][j]`` of shape
        ``args[wrt[i]].shape + args[wrt[j]].shape``.
    """
    positions, as_tuple = _normalize_wrt(fn, wrt)
    product = hvp(fn, wrt=positions, backend=backend)
    arguments = _Arguments(fn, "hessian")

    def call(*args, **keywords):
        args, _ = arguments.bind(args, keywords)
        likes = [args[w] for w in positions]
        shapes = [np.shape(like) for like in likes]
        blocks = [[np.empty((int(np.prod(si)), int(np.prod(sj)))) for sj in shapes] for si in shapes]
        for j, like in enumerate(likes):
            for m, e in enumerate(_basis(np.asarray(like) if isinstance(like, tuple) else like)):
                e = tuple(np.ravel(e)) if isinstance(like, tuple) else e
                v = tuple(e if k == j else _zero_like(other) for k, other in enumerate(likes))
                columns = product(*args, v)[2]
                for i in range(len(likes)):
                    blocks[i][j][:, m] = np.ravel(columns[i])
        shaped = tuple(tuple(_shaped(blocks[i][j], shapes[i] + shapes[j]) for j in range(len(likes)))
                       for i in range(len(likes)))
        return shaped if as_tuple else shaped[0][0]

    return remember(DerivativeFunction(fn, call, product._specializations, hessian.__doc__), "hessian", fn, wrt=wrt,
                    backend=backend)


def _zero_like(like):
    if isinstance(like, tuple):
        return tuple(_zero_like(item) for item in like)
    return np.zeros(np.shape(like)) if isinstance(like, np.ndarray) else 0.0


def _shaped(block, shape):
    return float(block[0, 0]) if shape == () else block.reshape(shape)
