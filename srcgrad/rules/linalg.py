"""Linear algebra: inverse, determinant, solve and Cholesky, with derivatives written as linear
algebra (an adjoint solve), never as a differentiated elimination loop.

Each record's forward generator returns (reads the result, tangent expression); its reverse
generator returns the statements that add to the operands' adjoints. `Y` is the result.
"""
from __future__ import annotations

import numpy as np

from .. import syntax
from .registry import Options, structural
from .results import MATRIX, float_scalar, same_as_first, same_as_second

SPD = MATRIX[:3, :3] @ MATRIX[:3, :3].T + 3.0 * np.eye(3)   # a sample the records check kinds on


def _matmul(*factors):
    out = factors[0]
    for factor in factors[1:]:
        out = syntax.binop(out, "@", factor)
    return out


def _transposed(x):
    return syntax.call("np.transpose", syntax.clone(x))


# d(Y = inv(A)) = -Y dA Y;  A_bar -= Y^T Y_bar Y^T
def _inv_forward(ctx, result, value, positions):
    Y = syntax.name(result)
    return True, syntax.neg(_matmul(Y, ctx.tangent_of(value.args[0]), syntax.name(result)))


def _inv_reverse(ctx, result, value, positions):
    Yt = _transposed(syntax.name(result))
    return ctx.accumulate(value.args[0], syntax.neg(_matmul(Yt, syntax.name(ctx.adjoint(result)), syntax.clone(Yt))))


structural("np.linalg.inv", forward=_inv_forward, reverse=_inv_reverse, kind=same_as_first, result="new",
           expensive=True, samples=((SPD,),), ranks=((2,),))


# d(det A) = det A * trace(A^-1 dA);  A_bar += det_bar * det A * A^-T
def _det_forward(ctx, result, value, positions):
    A = value.args[0]
    change = syntax.call("np.trace", syntax.call("np.linalg.solve", syntax.clone(A), ctx.tangent_of(A)))
    return True, syntax.binop(syntax.name(result), "*", change)


def _det_reverse(ctx, result, value, positions):
    A = value.args[0]
    scale = syntax.binop(syntax.name(ctx.adjoint(result)), "*", syntax.name(result))
    return ctx.accumulate(A, syntax.binop(scale, "*", _transposed(syntax.call("np.linalg.inv", syntax.clone(A)))))


structural("np.linalg.det", forward=_det_forward, reverse=_det_reverse, kind=float_scalar, expensive=True,
           samples=((SPD,),), ranks=((2,),))


# X = solve(A, B): dX = solve(A, dB - dA X);  B_bar += solve(A^T, X_bar), A_bar -= B_bar X^T
def _solve_forward(ctx, result, value, positions):
    A, B = value.args
    rhs = ctx.tangent_of(B) if 1 in positions else None
    if 0 in positions:
        change = _matmul(ctx.tangent_of(A), syntax.name(result))
        rhs = syntax.binop(rhs, "-", change) if rhs is not None else syntax.neg(change)
    return 0 in positions, syntax.call("np.linalg.solve", syntax.clone(A), rhs)


def _solve_reverse(ctx, result, value, positions):
    A, B = value.args
    solved = ctx.names.fresh(f"{result}_adjoint_solve")
    out = [syntax.assign(solved, syntax.call("np.linalg.solve", _transposed(A), syntax.name(ctx.adjoint(result))))]
    if 1 in positions:
        out += ctx.accumulate(B, syntax.name(solved))
    if 0 in positions:   # B = A X, so A's share is that of a product's left factor
        out += ctx.accumulate(A, syntax.neg(syntax.call("matmul_grad_left", syntax.name(solved), syntax.clone(A),
                                                        syntax.name(result))))
    return out


structural("np.linalg.solve", forward=_solve_forward, reverse=_solve_reverse, kind=same_as_second,
           result="new", expensive=True, options=Options(positional=2),
           samples=((SPD, MATRIX[:3, 0]), (SPD, MATRIX[:3, :2])), ranks=((2,), (1, 2)))


# L = cholesky(A), which reads A's lower triangle only
def _cholesky_forward(ctx, result, value, positions):
    return True, syntax.call("cholesky_tangent", syntax.name(result), ctx.tangent_of(value.args[0]))


def _cholesky_reverse(ctx, result, value, positions):
    return ctx.accumulate(value.args[0], syntax.call("cholesky_adjoint", syntax.name(result),
                                                     syntax.name(ctx.adjoint(result))))


structural("np.linalg.cholesky", forward=_cholesky_forward, reverse=_cholesky_reverse, kind=same_as_first,
           result="new", expensive=True, samples=((SPD,),), ranks=((2,),))
