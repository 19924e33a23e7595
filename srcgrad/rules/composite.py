"""Composite primitives: NumPy functions written here in plain Python from other primitives.

srcgrad reads these implementations and differentiates them as it does a user function, in both
modes, so a composite needs no derivative of its own: only its record (result kind, samples), and
a test that it computes what NumPy computes. Calls with options the implementation does not take
(`np.var(x, axis=0)`) are refused when resolved.
"""
from __future__ import annotations

import functools
import math

import gast
import numpy as np
import scipy.linalg  # noqa: F401  (resolve_path finds scipy.linalg.solve_triangular through it)
import scipy.special

from srcgrad_runtime import symmetric_eigen

from .. import syntax
from ..custom import custom_jvp
from ..errors import SrcgradError
from . import results
from .registry import CompositeRule, register, resolve_path, rule_call


def composite(path: str, kind, samples: tuple, along=None, methods: tuple = (), specialize=None, ranks: tuple = ()):
    """Register the decorated implementation for `path`; `along(x, axis)` serves calls with axis=,
    `specialize(call)` picks the code from what is written in the call (see CompositeRule), `ranks`
    are the argument ranks per operand the implementation computes NumPy's result for (others are
    refused: normalize/ranks.py)."""
    def register_implementation(implementation):
        register(resolve_path(path), CompositeRule(name=path, kind=kind, implementation=implementation,
                                                  samples=samples, along=along, methods=methods,
                                                  specialize=specialize, ranks=ranks))
        return implementation
    return register_implementation


def generated_function(name: str, source: str):
    """Function `name` of a module made from `source` (one per variant of a composite, np.einsum's
    subscripts, np.vstack's number of pieces): a real file in the cache directory, so srcgrad reads
    its source like any function's."""
    from ..emit.module import load_module
    module, _ = load_module(source, {})
    return getattr(module, name)


_V, _M = np.array([0.3, -1.2, 2.0, 0.7]), np.array([[0.5, 1.5, -0.4], [2.0, -1.0, 0.25]])
_SQUARE = np.array([[0.5, 1.5, -0.4], [2.0, -1.0, 0.25], [0.3, 0.8, 1.1]])


def var_along(x, axis):
    deviation = x - np.mean(x, axis=axis, keepdims=True)
    return np.mean(deviation * deviation, axis=axis)


def std_along(x, axis):
    deviation = x - np.mean(x, axis=axis, keepdims=True)
    return np.sqrt(np.mean(deviation * deviation, axis=axis))


def norm_along(x, axis):
    """The 2-norms of the vectors along `axis`."""
    return np.sqrt(np.sum(x * x, axis=axis))


def var_with_ddof(x, ddof):
    """The variance with `ddof` degrees of freedom taken off the count (1: the sample variance)."""
    deviation = x - np.mean(x)
    return np.sum(deviation * deviation) / (x.size - ddof)


def std_with_ddof(x, ddof):
    return np.sqrt(var_with_ddof(x, ddof))


def _with_ddof(call, name: str, plain, with_ddof):
    """np.var / np.std as written: of all elements, or with ddof= (axis= goes to `along` first)."""
    ddof = results.keyword(call, "ddof")
    if len(call.args) != 1 or any(k.arg != "ddof" for k in call.keywords):
        raise SrcgradError(f"srcgrad implements {name} of all elements, with ddof= or along one axis (axis=, "
                           "keepdims=); write other options out.")
    call.keywords = []
    return (plain, call.args) if ddof is None else (with_ddof, [call.args[0], ddof])


@composite("np.var", kind=results.float_scalar, samples=((_V,), (_M,)), along=var_along, methods=("var",),
           specialize=lambda call: _with_ddof(call, "np.var", np_var, var_with_ddof))
def np_var(x):
    deviation = x - np.mean(x)
    return np.mean(deviation * deviation)


@composite("np.std", kind=results.float_scalar, samples=((_V,), (_M,)), along=std_along, methods=("std",),
           specialize=lambda call: _with_ddof(call, "np.std", np_std, std_with_ddof))
def np_std(x):
    deviation = x - np.mean(x)
    return np.sqrt(np.mean(deviation * deviation))


def norm_2(x):
    return np.sqrt(np.sum(x * x))


def norm_1(x):
    return np.sum(np.abs(x))


def norm_max(x):
    return np.max(np.abs(x))


def norm_min(x):
    return np.min(np.abs(x))


def norm_p(x, p):
    return np.sum(np.abs(x) ** p) ** (1.0 / p)


# NumPy's ord=2, 1 and ±inf mean other norms of a matrix (the spectral norm, column and row sums)
norm_2.srcgrad_ranks = norm_1.srcgrad_ranks = norm_max.srcgrad_ranks = norm_min.srcgrad_ranks = ((1,),)
norm_p.srcgrad_ranks = ((1,), (0,))


def _order(node):
    """np.linalg.norm's ord as written: None, "fro", a number (±inf for np.inf, -np.inf), or "?"."""
    if node is None or isinstance(node, gast.Constant) and node.value in (None, "fro"):
        return None if node is None else node.value
    sign = 1.0
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        sign, node = -1.0, node.operand
    if isinstance(node, gast.Attribute) and node.attr == "inf":
        return sign * math.inf
    number = syntax.number(node)
    return sign * number if number is not None else "?"


def _norm_specialized(call):
    """np.linalg.norm(x, ord): the 2-norm (ord None; "fro" of a matrix) of vectors and matrices;
    ord 2, 1, np.inf, -np.inf or another positive written number of vectors (the p-norms)."""
    order = _order(results.keyword(call, "ord", 1))
    if len(call.args) > 2 or any(k.arg != "ord" for k in call.keywords) or order == "?" or (
            isinstance(order, float) and not order > 0 and order != -math.inf):
        raise SrcgradError("srcgrad implements np.linalg.norm(x, ord) with ord None or \"fro\" (vectors and matrices), "
                           "or 2, 1, np.inf, -np.inf or another positive written number (vectors); axis= without ord.")
    call.keywords, x = [], call.args[0]
    if order is None or order == "fro":
        return np_linalg_norm, [x]
    chosen = {2.0: norm_2, 1.0: norm_1, math.inf: norm_max, -math.inf: norm_min}.get(float(order))
    return (chosen, [x]) if chosen is not None else (norm_p, [x, syntax.const(float(order))])


@composite("np.linalg.norm", kind=results.float_scalar, samples=((_V,), (_M,)), along=norm_along, ranks=((1, 2),),
           specialize=_norm_specialized)
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


def median_along(x, axis):
    """The medians of a matrix's columns (axis 0) or rows (axis 1): each line sorted, its middle."""
    ordered = np.sort(x.T if axis == 0 or axis == -2 else x)   # np.sort orders each row
    n = ordered.shape[1]
    if n % 2 == 1:
        return ordered[:, n // 2]
    return 0.5 * (ordered[:, n // 2 - 1] + ordered[:, n // 2])


median_along.srcgrad_ranks = ((2,), (0,))


@composite("np.median", kind=results.float_scalar, samples=((_V,), (_V[:5],), (_M,)), along=median_along)
def np_median(x):
    """The middle of the sorted elements (the mean of the two middle ones for an even count):
    its derivative reaches the element(s) in the middle."""
    ordered = np.sort(np.ravel(x))
    n = ordered.shape[0]
    if n % 2 == 1:
        return ordered[n // 2]
    return 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])


@composite("np.trace", kind=results.float_scalar, samples=((_M,),), ranks=((2,),))
def np_trace(a):
    total = 0.0
    for i in range(min(a.shape[0], a.shape[1])):
        total += a[i, i]
    return total


@composite("np.ptp", kind=results.float_scalar, samples=((_V,), (_M,)))
def np_ptp(a):
    """Peak to peak: the largest element less the smallest."""
    return np.max(a) - np.min(a)


@composite("np.inner", kind=results.float_scalar, samples=((_V, _V[::-1]),), ranks=((1,), (1,)))
def np_inner(a, b):
    return np.dot(a, b)


@composite("np.vdot", kind=results.float_scalar, samples=((_V, _V[::-1]), (_M, _M[::-1])))
def np_vdot(a, b):
    """The dot product of the arrays flattened (real arrays: no conjugate)."""
    return np.dot(np.ravel(a), np.ravel(b))


@composite("np.cross", kind=results.float_broadcast, ranks=((1, 2), (1, 2)),
           samples=((_V[:3], _V[1:]), (_SQUARE, _SQUARE[::-1]), (_V[:3], _SQUARE), (_SQUARE[:2], _V[1:])))
def np_cross(a, b):
    """The cross product of 3-vectors, or of the rows of (n, 3) arrays (NumPy's last axis), a
    vector broadcast against rows: the components are the rows of the transposes."""
    at, bt = a.T, b.T
    return np.array([at[1] * bt[2] - at[2] * bt[1], at[2] * bt[0] - at[0] * bt[2], at[0] * bt[1] - at[1] * bt[0]]).T


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


@composite("scipy.special.ndtr", kind=results.float_broadcast, samples=((_V,), (_M,), (0.3,)))
def ndtr(x):
    """The standard normal distribution function, from erfc: accurate in both tails."""
    return 0.5 * scipy.special.erfc(-0.7071067811865476 * x)


@composite("scipy.special.log_ndtr", kind=results.float_broadcast, samples=((_V,), (0.3,)))
def log_ndtr(x):
    """log of the standard normal distribution function (for x above about -37, where it is not 0)."""
    return np.log(0.5 * scipy.special.erfc(-0.7071067811865476 * x))


@composite("scipy.special.betaln", kind=results.float_broadcast, samples=((_P + 1.0, _P[::-1] + 0.5), (0.7, _P)))
def betaln(a, b):
    """log |B(a, b)|, from the log-gamma function (a, b > 0)."""
    return scipy.special.gammaln(a) + scipy.special.gammaln(b) - scipy.special.gammaln(a + b)


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


@composite("np.tril", kind=results.same_as_first, samples=((_SQUARE,), (_M,)), ranks=((2,),))
def np_tril(a):
    """The lower triangle (diagonal included) of a matrix, zeros above."""
    out = np.zeros(a.shape)
    for i in range(a.shape[0]):
        for j in range(min(i + 1, a.shape[1])):
            out[i, j] = a[i, j]
    return out


@composite("np.triu", kind=results.same_as_first, samples=((_SQUARE,), (_M,)), ranks=((2,),))
def np_triu(a):
    """The upper triangle (diagonal included) of a matrix, zeros below."""
    out = np.zeros(a.shape)
    for i in range(a.shape[0]):
        for j in range(i, a.shape[1]):
            out[i, j] = a[i, j]
    return out


@composite("np.polyval", kind=results.polynomial_values, samples=((_V, 0.5), (_V, _V), (_V, _M)))
def np_polyval(p, x):
    """Horner's rule, highest power first as NumPy orders the coefficients."""
    y = p[0] + 0.0 * x
    for k in range(1, p.shape[0]):
        y = y * x + p[k]
    return y


def _trapezoid_path() -> str:
    return "np.trapezoid" if hasattr(np, "trapezoid") else "np.trapz"


def trapezoid_with_spacing(y, dx):
    return 0.5 * dx * np.sum(y[1:] + y[:-1])


def trapezoid_at_points(y, x):
    return 0.5 * np.sum((y[1:] + y[:-1]) * (x[1:] - x[:-1]))


def _trapezoid_specialized(call):
    """np.trapezoid(y), with the sample points x= or the spacing dx= (by keyword or position)."""
    x, dx = results.keyword(call, "x", 1), results.keyword(call, "dx", 2)
    x = None if isinstance(x, gast.Constant) and x.value is None else x   # x=None written out
    if len(call.args) > 3 or any(k.arg not in ("x", "dx") for k in call.keywords) or (x is not None and dx is not None):
        raise SrcgradError(f"srcgrad implements {_trapezoid_path()} of a vector with x= or dx=; along an axis of "
                           "a matrix, call it on each row.")
    y, call.keywords = call.args[0], []
    if x is not None:
        return trapezoid_at_points, [y, x]
    return (trapezoid_with_spacing, [y, dx]) if dx is not None else (np_trapezoid, [y])


@composite(_trapezoid_path(), kind=results.float_scalar, samples=((_V,),), ranks=((1,), (0, 1)),
           specialize=_trapezoid_specialized)
def np_trapezoid(y):
    """The trapezoidal rule with unit spacing; calls with x= or dx= take the functions above."""
    return 0.5 * np.sum(y[1:] + y[:-1])


@composite("np.linalg.matrix_power", kind=results.same_as_first, samples=((_SQUARE, 3), (_SQUARE, 0)), ranks=((2,), (0,)))
def np_matrix_power(a, n):
    """a @ a @ ... (n ≥ 0 factors; the identity for 0) by repeated squaring."""
    result = np.eye(a.shape[0])
    base = a
    k = n
    while k > 0:
        if k % 2 == 1:
            result = result @ base
        base = base @ base
        k = k // 2
    return result


@composite("np.meshgrid", kind=results.two_matrices, samples=((_V, _V[:3]),), ranks=((1,), (1,)))
def np_meshgrid(x, y):
    """The coordinate matrices of two vectors (indexing="xy": x varies along rows)."""
    xs = np.empty((y.shape[0], x.shape[0]))
    ys = np.empty((y.shape[0], x.shape[0]))
    for i in range(y.shape[0]):
        for j in range(x.shape[0]):
            xs[i, j] = x[j]
            ys[i, j] = y[i]
    return xs, ys


@composite("np.linalg.slogdet", kind=results.two_floats, samples=((_SQUARE,),), ranks=((2,),))
def np_linalg_slogdet(a):
    """(sign, log|det a|) through det; its derivative is inv(a).T, as det's rule gives. The
    determinant itself must be representable (it overflows for large, badly scaled matrices)."""
    d = np.linalg.det(a)
    return np.sign(d), np.log(np.abs(d))


@custom_jvp
def _eigh(a):
    return symmetric_eigen(a)


@_eigh.defjvp
def _eigh_jvp(primals, tangents):
    """dw = diag(Vᵀ dS V), dV = V (F ∘ Vᵀ dS V) with F_ij = 1 / (w_j − w_i), dS the symmetric
    change the tangent's lower triangle makes (NumPy reads that triangle only, as for cholesky).
    Reverse mode transposes this rule. Repeated eigenvalues make F infinite, as in JAX."""
    a, = primals
    da, = tangents
    w, v = _eigh(a)   # itself, so that a derivative of this rule uses this rule again
    n = w.shape[0]
    change = np.empty((n, n))
    gaps = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            change[i, j] = da[i, j] if i >= j else da[j, i]
            if i != j:
                gaps[i, j] = 1.0 / (w[j] - w[i])
    rotated = v.T @ change @ v
    dw = np.empty(n)
    for i in range(n):
        dw[i] = rotated[i, i]
    return (w, v), (dw, v @ (gaps * rotated))


def solve_lower_triangular(a, b):
    return np.linalg.solve(np.tril(a), b)


def solve_upper_triangular(a, b):
    return np.linalg.solve(np.triu(a), b)


def _triangular_specialized(call):
    """scipy.linalg.solve_triangular(a, b, lower=...): a solve with the triangle it reads (the
    other's elements get no derivative). LAPACK's substitution would be O(n²); this is O(n³)."""
    lower = results.keyword(call, "lower", 3)
    written = {k.arg: k.value for k in call.keywords}
    defaults = {"trans": 0, "unit_diagonal": False, "check_finite": True, "overwrite_b": False}
    if len(call.args) > 2 or any(name not in defaults and name != "lower" for name in written) or any(
            not (isinstance(v, gast.Constant) and v.value == defaults[k]) for k, v in written.items() if k != "lower") \
            or not (lower is None or isinstance(lower, gast.Constant) and isinstance(lower.value, bool)):
        raise SrcgradError("srcgrad implements scipy.linalg.solve_triangular(a, b, lower=True or False) with "
                           "the other options at their defaults; for trans= solve with a.T.")
    call.keywords = []
    return (solve_lower_triangular if lower is not None and lower.value else solve_upper_triangular), call.args


@composite("scipy.linalg.solve_triangular", kind=results.same_as_second, specialize=_triangular_specialized,
           samples=((_SQUARE, _V[:3]), (_SQUARE, _SQUARE)), ranks=((2,), (1, 2)))
def scipy_solve_triangular(a, b):
    """What the record runs for its samples (lower=False); calls take the functions above."""
    return solve_upper_triangular(a, b)


@composite("np.linalg.eigvalsh", kind=results.vector, samples=((_SQUARE + _SQUARE.T,),), ranks=((2,),))
def np_linalg_eigvalsh(a):
    """The eigenvalues (ascending) of a symmetric matrix: those of eigh, with its rule."""
    values, vectors = _eigh(a)
    return values


@composite("np.linalg.eigh", kind=results.values_and_vectors, samples=((_SQUARE + _SQUARE.T,),), ranks=((2,),))
def np_linalg_eigh(a):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, with the rule above."""
    return _eigh(a)


@composite("np.heaviside", kind=results.float_broadcast, samples=((np.array([-0.5, 0.0, 2.0]), 0.5),))
def np_heaviside(x, h0):
    """The step function, h0 where x is 0 (numba has no np.heaviside); its derivative is zero
    in x and flows to h0 where x is 0."""
    return np.where(x < 0.0, 0.0, np.where(x > 0.0, 1.0, h0))


def roll_along(x, shift, axis):
    """np.roll(x, shift, axis=axis): the elements moved `shift` places along `axis` (negative counts
    from the end), the last ones coming round to the front; as slices of x with the axis in front."""
    rows = np.swapaxes(x, 0, axis)
    n = rows.shape[0]
    k = shift % n
    return np.swapaxes(np.concatenate((rows[n - k:], rows[:n - k])), 0, axis)


def cumsum_along(x, axis):
    """Running sums along `axis` (negative counts from the end) of an array of any rank: down the
    first axis of x with `axis` swapped to the front, then swapped back. (It summed along axis 1
    for every axis but 0: wrong for a 3-D array's axis 2, and for axis=-1 of a vector.)"""
    rows = np.swapaxes(x, 0, axis)
    out = np.empty(rows.shape)
    out[0] = rows[0]
    for i in range(1, rows.shape[0]):
        out[i] = out[i - 1] + rows[i]
    return np.swapaxes(out, 0, axis)


# ----- Vandermonde matrices ---------------------------------------------------------------------

def vander_decreasing(x, n):
    """Columns x**(n-1), ..., x, 1: each a product of the one to its right and x (no power rule at x = 0)."""
    out = np.empty((x.shape[0], n))
    column = np.ones(x.shape[0])
    for j in range(n - 1, -1, -1):
        out[:, j] = column
        column = column * x
    return out


def vander_increasing(x, n):
    return vander_decreasing(x, n)[:, ::-1]


def _vander_specialized(call):
    """np.vander(x, N, increasing=...): N written or computed (x's length without it), increasing written."""
    n = results.keyword(call, "N", 1)
    increasing = results.keyword(call, "increasing", 2)
    if len(call.args) > 3 or any(k.arg not in ("N", "increasing") for k in call.keywords) or not (
            increasing is None or isinstance(increasing, gast.Constant) and isinstance(increasing.value, bool)):
        raise SrcgradError("srcgrad implements np.vander(x, N, increasing=...) with increasing a written True or False.")
    x, call.keywords = call.args[0], []
    if n is None or isinstance(n, gast.Constant) and n.value is None:
        n = rule_call("len", syntax.clone(x))
    chosen = vander_increasing if increasing is not None and increasing.value else vander_decreasing
    return chosen, [x, n]


@composite("np.vander", kind=results.matrix, specialize=_vander_specialized, ranks=((1,), (0,)),
           samples=((_V, 3), (_V[:3], 1)))
def np_vander(x, n):
    """What the record runs for its samples (decreasing powers); calls take the functions above."""
    return vander_decreasing(x, n)


# ----- convolution and padding ------------------------------------------------------------------

def convolve_full(a, v):
    """The full discrete convolution of two vectors: each output element written once, as a sum."""
    n, m = a.shape[0], v.shape[0]
    out = np.empty(n + m - 1)
    for k in range(n + m - 1):
        total = 0.0
        for j in range(max(0, k - n + 1), min(k, m - 1) + 1):
            total += a[k - j] * v[j]
        out[k] = total
    return out


def convolve_same(a, v):
    """The middle max(n, m) elements of the full convolution, as NumPy centres them."""
    start = (min(a.shape[0], v.shape[0]) - 1) // 2
    return convolve_full(a, v)[start:start + max(a.shape[0], v.shape[0])]


def convolve_valid(a, v):
    """Where the shorter vector lies wholly inside the longer."""
    return convolve_full(a, v)[min(a.shape[0], v.shape[0]) - 1:max(a.shape[0], v.shape[0])]


_CONVOLUTIONS = {"full": convolve_full, "same": convolve_same, "valid": convolve_valid}


def _convolve_specialized(call):
    """np.convolve(a, v, mode): mode a written "full" (the default), "same" or "valid"."""
    mode = results.keyword(call, "mode", 2)
    name = "full" if mode is None else mode.value if isinstance(mode, gast.Constant) else None
    if name not in _CONVOLUTIONS or len(call.args) < 2 or any(k.arg != "mode" for k in call.keywords):
        raise SrcgradError('srcgrad implements np.convolve(a, v, mode) of two vectors with mode a written "full", '
                           '"same" or "valid".')
    call.keywords = []
    return _CONVOLUTIONS[name], call.args[:2]


@composite("np.convolve", kind=results.vector, specialize=_convolve_specialized, ranks=((1,), (1,)),
           samples=((_V, _V[:3]), (_V[:2], _V), (_V, _V)))
def np_convolve(a, v):
    """What the record runs for its samples (mode "full"); calls take the functions above."""
    return convolve_full(a, v)


# where element i of the padded axis (i from -before) comes from, n elements along it (NumPy's modes)
_PAD_SOURCES = {"edge": "min(max(i, 0), n - 1)", "wrap": "i % n",
                "reflect": "0 if n == 1 else (i % (2 * n - 2)) if i % (2 * n - 2) < n else 2 * n - 2 - i % (2 * n - 2)",
                "symmetric": "(i % (2 * n)) if i % (2 * n) < n else 2 * n - 1 - i % (2 * n)"}


@functools.cache
def pad_function(widths: tuple, mode: str, value: float):
    """np.pad of a vector or a matrix in `mode`, `widths` a pair per axis, or one pair for every
    axis: then the function for vectors, with the one for matrices beside it (`srcgrad_by_rank`),
    the call being bound to either once its argument's rank is known."""
    if len(widths) == 1:
        vector, matrix = _padded(widths, mode, value), _padded(widths * 2, mode, value)
        vector.srcgrad_by_rank = {1: vector, 2: matrix}
        return vector
    function = _padded(widths, mode, value)
    function.srcgrad_ranks = ((len(widths),),)   # a pair per axis: for arrays of that rank only
    return function


def _padded(widths: tuple, mode: str, value: float):
    """np.pad of an array of rank len(widths): for "constant", the array written into a block of
    `value`; for the others, each element read from where the mode's index map says (an element
    repeated at the edges collects each repeat's derivative)."""
    rank = len(widths)
    name = f"pad_{mode}_" + "_".join(f"{b}_{a}" for b, a in widths)
    lengths = [f"x.shape[{axis}] + {b + a}" for axis, (b, a) in enumerate(widths)]
    if mode == "constant":
        inner = ", ".join(f"{b}:{b} + x.shape[{axis}]" for axis, (b, _) in enumerate(widths))
        body = (f"    out = np.full(({', '.join(lengths)},), {value!r})\n"
                f"    out[{inner}] = x\n")
    else:
        body = f"    out = np.empty(({', '.join(lengths)},))\n"
        indent = "    "
        for axis, (b, _) in enumerate(widths):
            body += (f"{indent}for k{axis} in range({lengths[axis]}):\n"
                     f"{indent}    i = k{axis} - {b}\n"
                     f"{indent}    n = x.shape[{axis}]\n"
                     f"{indent}    j{axis} = {_PAD_SOURCES[mode]}\n")
            indent += "    "
        body += f"{indent}out[{', '.join(f'k{a}' for a in range(rank))}] = x[{', '.join(f'j{a}' for a in range(rank))}]\n"
    function = generated_function(name, (
        f'"""np.pad(x, {widths}, mode={mode!r}), generated by srcgrad (rules/composite.py)."""\n'
        "import numpy as np\n\n\n"
        f"def {name}(x):\n{body}    return out\n"))
    return function


def _pad_widths(node) -> tuple | None:
    """The written widths as ((before, after), ...) per axis, or (pair,) for "every axis"; None if not written integers."""
    def pair(p):
        if _written_integer(p):
            return (syntax.number(p),) * 2
        if isinstance(p, (gast.Tuple, gast.List)) and len(p.elts) == 2 and all(_written_integer(e) for e in p.elts):
            return tuple(syntax.number(e) for e in p.elts)
        return None
    if node is None:
        return None
    if pair(node) is not None:
        return (pair(node),)
    if isinstance(node, (gast.Tuple, gast.List)) and 1 <= len(node.elts) <= 2:
        pairs = tuple(pair(e) for e in node.elts)
        return pairs if None not in pairs and all(len(p) == 2 for p in pairs) else None
    return None


def _pad_specialized(call):
    """np.pad(x, widths, mode=..., constant_values=c) with written widths, mode and c."""
    widths = _pad_widths(results.keyword(call, "pad_width", 1))
    mode_node = results.keyword(call, "mode", 2)
    mode = "constant" if mode_node is None else getattr(mode_node, "value", None)
    value_node = results.keyword(call, "constant_values")
    value = 0.0 if value_node is None else syntax.number(value_node)
    if (widths is None or mode not in ("constant", *_PAD_SOURCES) or value is None or len(call.args) > 3
            or any(k.arg not in ("pad_width", "mode", "constant_values") for k in call.keywords)
            or (value_node is not None and mode != "constant") or any(min(p) < 0 for p in widths)):
        raise SrcgradError("srcgrad implements np.pad(x, widths, mode) of a vector or a matrix with the widths written "
                           "as integers (`1`, `(1, 2)`, or `((1, 1), (0, 2))` per axis of a matrix), mode a written "
                           '"constant" (constant_values= a written number), "edge", "wrap", "reflect" or "symmetric".')
    call.keywords = []
    return pad_function(widths, mode, float(value)), call.args[:1]


@composite("np.pad", kind=results.same_as_first, specialize=_pad_specialized, ranks=((1, 2),),
           samples=((_V, 2), (_V, (1, 3)), (_M, ((1, 0), (2, 1)))))
def np_pad(x, widths):
    """What the record runs for its samples (zeros around); calls take pad_function(...)."""
    pairs = ((widths, widths),) * x.ndim if isinstance(widths, int) else (widths,) * x.ndim if isinstance(widths[0], int) else widths
    return pad_function(tuple(pairs), "constant", 0.0)(x)


# ----- interpolation, squeezing and stacking ---------------------------------------------------

_XP, _FP = np.array([0.0, 0.5, 1.0, 2.0]), np.array([1.0, -0.5, 2.0, 0.25])


@composite("np.interp", kind=results.interpolated, ranks=(None, (1,), (1,)),
           samples=((0.7, _XP, _FP), (np.array([-1.0, 0.0, 0.3, 1.0, 1.9, 2.0, 3.0]), _XP, _FP)))
def np_interp(x, xp, fp):
    """Piecewise-linear interpolation through the points (xp, fp), xp increasing (two points or
    more), at a number or vector x. Left of xp[0] it is fp[0] and right of xp[-1] fp[-1], as NumPy
    clamps: there the weight t is clipped, so the derivative in x is zero."""
    k = np.searchsorted(xp[1:-1], x, side="right")   # x's segment is [xp[k], xp[k + 1]] (an end one outside)
    right = k + 1
    t = np.clip((x - xp[k]) / (xp[right] - xp[k]), 0.0, 1.0)
    return fp[k] + t * (fp[right] - fp[k])


def _written_integer(node) -> bool:
    return type(syntax.number(node)) is int


def _squeeze_specialized(call):
    """np.squeeze(x, axis=k) as squeeze_axis(x, k). Without an axis, the rank of the result would
    depend on which lengths are one at run time, and srcgrad compiles for one rank."""
    axis = results.keyword(call, "axis", 1)
    if axis is None:
        raise SrcgradError("Without axis=, which axes np.squeeze removes depends on the array's shape at run "
                           "time, and srcgrad needs the rank when it compiles. Name the axis of length one "
                           "as a written integer: `np.squeeze(x, axis=1)` or `x.squeeze(axis=1)`.")
    if not _written_integer(axis) or len(call.args) > 2 or any(k.arg != "axis" for k in call.keywords):
        raise SrcgradError("srcgrad takes np.squeeze with one axis, written as an integer: `np.squeeze(x, axis=1)`.")
    call.keywords = []
    return squeeze_function(syntax.number(axis)), [call.args[0]]


@functools.cache
def squeeze_function(axis: int):
    """np.squeeze(x, axis=axis) as the index that drops that axis (`x[:, 0]`, `x[..., 0]`): a view
    of x, as numpy's is, so writes into x show in it and srcgrad's view analysis sees it."""
    index = ", ".join([":"] * axis + ["0"]) if axis >= 0 else ", ".join(["..."] + ["0"] + [":"] * (-axis - 1))
    name = f"squeeze_axis_{axis}" if axis >= 0 else f"squeeze_axis_minus_{-axis}"
    return generated_function(name, (
        f'"""np.squeeze(x, axis={axis}), generated by srcgrad (rules/composite.py)."""\n\n\n'
        f"def {name}(x):\n"
        f"    if x.shape[{axis}] != 1:\n"
        f"        raise ValueError('cannot select an axis to squeeze out which has size not equal to one')\n"
        f"    return x[{index}]\n"))


@composite("np.squeeze", kind=results.squeezed, samples=((results.MATRIX[:, :1], 1), (results.MATRIX[None], 0)),
           methods=("squeeze",), specialize=_squeeze_specialized)
def np_squeeze(x, axis):
    """What the record runs for its samples; calls take squeeze_function(axis) through _squeeze_specialized."""
    return squeeze_function(axis)(x)


@functools.cache
def vstack_function(count: int):
    """np.vstack of `count` pieces: each a block of rows (np.atleast_2d makes a vector one row, so
    vectors and matrices mix as in NumPy), the blocks joined by np.concatenate."""
    params = ", ".join(f"a{k}" for k in range(count))
    rows = ", ".join(f"np.atleast_2d(a{k})" for k in range(count)) + ("," if count == 1 else "")
    return generated_function(f"vstack_of_{count}", (
        f'"""np.vstack of {count} pieces, generated by srcgrad (rules/composite.py)."""\n'
        "import numpy as np\n\n\n"
        f"def vstack_of_{count}({params}):\n    return np.concatenate(({rows}))\n"))


def _vstack_specialized(call):
    """np.vstack((a, b, ...)) as vstack_of_n(a, b, ...); a piece written as a list is np.array of it."""
    pieces = call.args[0] if len(call.args) == 1 and not call.keywords else None
    if not isinstance(pieces, (gast.Tuple, gast.List)) or not pieces.elts:
        raise SrcgradError("srcgrad takes np.vstack with its pieces written in the call, `np.vstack((a, b))`, "
                           "and no options.")
    return vstack_function(len(pieces.elts)), [_as_array(piece) for piece in pieces.elts]


def _as_array(piece):
    if not isinstance(piece, (gast.Tuple, gast.List)):
        return piece
    return gast.copy_location(rule_call("np.array", piece), piece)


@composite("np.vstack", kind=results.vstacked, specialize=_vstack_specialized,
           samples=(((_V, _V),), ((_M, _M),), ((_M, _V[:3]),), ((_V[:3], _M, _V[1:]),)))
def np_vstack(pieces):
    """What the record runs for its samples; calls take vstack_function(n) through _vstack_specialized."""
    return vstack_function(len(pieces))(*pieces)
