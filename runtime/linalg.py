"""Cholesky's tangent and adjoint for generated code (plain numpy, which numba compiles as is).

np.linalg.cholesky reads only the lower triangle of A, so both treat A as the symmetric matrix
that triangle stands for: a change of A[i, j] below the diagonal is a change of A[j, i] too.
"""
import numpy as np

from .compile_once import runtime_jitable, runtime_overload


@runtime_jitable
def _lower_half_diagonal(x):
    """Phi(x): the lower triangle of x with its diagonal halved."""
    return np.tril(x) - 0.5 * np.diag(np.diag(x))


def cholesky_tangent(L, dA):
    """dL for L = cholesky(A): L Phi(L^-1 dS L^-T), dS the symmetric change dA's lower triangle makes."""
    change = np.tril(dA) + np.tril(dA, -1).T
    left = np.linalg.solve(L, change)
    return L @ _lower_half_diagonal(np.linalg.solve(L, np.ascontiguousarray(left.T)).T)


def cholesky_adjoint(L, L_bar):
    """A_bar for L = cholesky(A), on A's lower triangle (zero above the diagonal)."""
    inner = _lower_half_diagonal(L.T @ np.tril(L_bar))   # L is zero above its diagonal, whatever L_bar says there
    left = np.linalg.solve(np.ascontiguousarray(L.T), inner)
    both = np.linalg.solve(np.ascontiguousarray(L.T), np.ascontiguousarray(left.T)).T
    symmetric = 0.5 * (both + both.T)
    return np.tril(2.0 * symmetric) - np.diag(np.diag(symmetric))


@runtime_overload(cholesky_tangent)
def _cholesky_tangent(L, dA):
    return cholesky_tangent


@runtime_overload(cholesky_adjoint)
def _cholesky_adjoint(L, L_bar):
    return cholesky_adjoint


@runtime_jitable
def symmetric_eigen(a):
    """np.linalg.eigh under a name srcgrad keeps as a plain call: the primal inside eigh's own
    derivative rule (srcgrad/rules/composite.py), where np.linalg.eigh would mean that rule again."""
    return np.linalg.eigh(a)
