"""Second derivatives: Hessian-vector products and Hessians, by reverse mode over forward mode.

The jvp of f is generated code inside the differentiable subset, so reverse mode runs over it:
with the jvp's output (f, ∇f·v) seeded (0, 1), the adjoint of x is H·v and the adjoint of the
tangent v is ∇f, both from one pass. A Hessian is one such pass per direction.
"""
from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from .api import DerivativeFunction, Wrt, _Arguments, require_array_blocks, _as_float, _basis, _normalize_wrt, _shape_grads, jvp, remember, vjp
from .analyze import kinds as K
from .errors import SrcgradError
from .frontend.methods import as_function
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
    fn = as_function(fn)
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

    def numba_template(args) -> str:
        _second_order_call(positions, tangent, args)
        return "result, grads = inner({args}, {extra}, (0.0, 1.0))\nreturn result[0], grads[1], grads[0]"

    inner = _WithDirections(second._specializations, positions)
    made = DerivativeFunction(fn, call, second._specializations, hvp.__doc__, (numba_template, 1), inner=inner)
    made.tangent = tangent
    return remember(made, "hvp", fn, wrt=wrt, backend=backend)


def hessian(fn: Callable, wrt: Wrt = 0, backend: str = "numba") -> DerivativeFunction:
    """The dense Hessian of a scalar function, one Hessian-vector product per direction.

    Returns
    -------
    DerivativeFunction
        ``H(*args)``: an array of shape ``arg.shape + arg.shape`` (a float for a float argument);
        with a tuple `wrt`, a tuple of tuples of blocks, ``H[i][j]`` of shape
        ``args[wrt[i]].shape + args[wrt[j]].shape``.
    """
    fn = as_function(fn)
    positions, as_tuple = _normalize_wrt(fn, wrt)
    product = hvp(fn, wrt=positions, backend=backend)
    arguments = _Arguments(fn, "hessian")

    def call(*args, **keywords):
        args, _ = arguments.bind(args, keywords)
        require_array_blocks(fn, args, positions, "hessian")
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

    def numba_template(args) -> str:
        """One Hessian-vector product per direction, as a Python body over `inner` (hvp's pass)."""
        _second_order_call(positions, product.tangent, args)
        x = args[positions[0]]
        if isinstance(x, float):
            return "return inner({args}, 1.0, (0.0, 1.0))[1][0]"
        if not (isinstance(x, np.ndarray) and x.ndim == 1):
            raise SrcgradError("a derivative of hessian, and compiled_for on it, need the wrt argument to be a float or a 1-D array")
        w = positions[0]
        return (f"n = {{a{w}}}.shape[0]\nH = np.empty((n, n))\nfor i in range(n):\n    direction = np.zeros(n)\n"
                "    direction[i] = 1.0\n    H[:, i] = inner({args}, direction, (0.0, 1.0))[1][0]\nreturn H")

    inner = _WithDirections(product._specializations, positions)
    return remember(DerivativeFunction(fn, call, product._specializations, hessian.__doc__, (numba_template, 0), inner=inner),
                    "hessian", fn, wrt=wrt, backend=backend)


def _second_order_call(positions, tangent, args) -> None:
    """A call template of hvp and hessian covers one wrt argument of a function returning a float."""
    if len(positions) != 1:
        raise SrcgradError("a derivative of hvp or hessian, and compiled_for on them, need one wrt argument")
    out_kind = tangent._specializations.get(args)[2]
    if not (K.is_scalar(out_kind) or out_kind == K.UNKNOWN):
        raise SrcgradError("hvp and hessian need a function returning a float")


class _WithDirections:
    """hvp's reverse-over-forward pass, asked for by the function's own arguments: its
    specialization for those arguments plus a direction like each wrt argument."""

    def __init__(self, specs, positions):
        self.specs, self.positions = specs, positions

    def get(self, args: tuple, fixed_lengths: bool = True):
        return self.specs.get(tuple(args) + tuple(_zero_like(args[w]) for w in self.positions), fixed_lengths)


def _zero_like(like):
    if isinstance(like, tuple):
        return tuple(_zero_like(item) for item in like)
    return np.zeros(np.shape(like)) if isinstance(like, np.ndarray) else 0.0


def _shaped(block, shape):
    return float(block[0, 0]) if shape == () else block.reshape(shape)
