"""Composite primitives: NumPy functions written here in plain Python from other primitives.

srcgrad reads these implementations and differentiates them as it does a user function, in both
modes, so a composite needs no derivative of its own: only its record (result kind, samples), and
a test that it computes what NumPy computes. Calls with options the implementation does not take
(`np.var(x, axis=0)`) are refused when resolved.
"""
from __future__ import annotations

import functools

import gast
import numpy as np

from srcgrad_runtime import symmetric_eigen

from .. import syntax
from ..custom import custom_jvp
from ..errors import SrcgradError
from . import results
from .registry import CompositeRule, register, resolve_path, rule_call


def composite(path: str, kind, samples: tuple, along=None, methods: tuple = (), specialize=None):
    """Register the decorated implementation for `path`; `along(x, axis)` serves calls with axis=,
    `specialize(call)` picks the code from what is written in the call (see CompositeRule)."""
    def register_implementation(implementation):
        register(resolve_path(path), CompositeRule(name=path, kind=kind, implementation=implementation,
                                                  samples=samples, along=along, methods=methods,
                                                  specialize=specialize))
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


@composite("np.var", kind=results.float_scalar, samples=((_V,), (_M,)), along=var_along, methods=("var",))
def np_var(x):
    deviation = x - np.mean(x)
    return np.mean(deviation * deviation)


@composite("np.std", kind=results.float_scalar, samples=((_V,), (_M,)), along=std_along, methods=("std",))
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


@composite("np.median", kind=results.float_scalar, samples=((_V,), (_V[:5],), (_M,)))
def np_median(x):
    """The middle of the sorted elements (the mean of the two middle ones for an even count):
    its derivative reaches the element(s) in the middle."""
    ordered = np.sort(np.ravel(x))
    n = ordered.shape[0]
    if n % 2 == 1:
        return ordered[n // 2]
    return 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])


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


@composite("np.tril", kind=results.same_as_first, samples=((_SQUARE,), (_M,)))
def np_tril(a):
    """The lower triangle (diagonal included) of a matrix, zeros above."""
    out = np.zeros(a.shape)
    for i in range(a.shape[0]):
        for j in range(min(i + 1, a.shape[1])):
            out[i, j] = a[i, j]
    return out


@composite("np.triu", kind=results.same_as_first, samples=((_SQUARE,), (_M,)))
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


@composite(_trapezoid_path(), kind=results.float_scalar, samples=((_V,),))
def np_trapezoid(y):
    """The trapezoidal rule with unit spacing (integrate against x by writing the sum out)."""
    return 0.5 * np.sum(y[1:] + y[:-1])


@composite("np.linalg.matrix_power", kind=results.same_as_first, samples=((_SQUARE, 3), (_SQUARE, 0)))
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


@composite("np.meshgrid", kind=results.two_matrices, samples=((_V, _V[:3]),))
def np_meshgrid(x, y):
    """The coordinate matrices of two vectors (indexing="xy": x varies along rows)."""
    xs = np.empty((y.shape[0], x.shape[0]))
    ys = np.empty((y.shape[0], x.shape[0]))
    for i in range(y.shape[0]):
        for j in range(x.shape[0]):
            xs[i, j] = x[j]
            ys[i, j] = y[i]
    return xs, ys


@composite("np.linalg.slogdet", kind=results.two_floats, samples=((_SQUARE,),))
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


@composite("np.linalg.eigh", kind=results.values_and_vectors, samples=((_SQUARE + _SQUARE.T,),))
def np_linalg_eigh(a):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, with the rule above."""
    return _eigh(a)


@composite("np.heaviside", kind=results.float_broadcast, samples=((np.array([-0.5, 0.0, 2.0]), 0.5),))
def np_heaviside(x, h0):
    """The step function, h0 where x is 0 (numba has no np.heaviside); its derivative is zero
    in x and flows to h0 where x is 0."""
    return np.where(x < 0.0, 0.0, np.where(x > 0.0, 1.0, h0))


def cumsum_along(x, axis):
    """Running sums down the rows (axis 0) or along them (axis 1) of a matrix."""
    out = np.empty(x.shape)
    if axis == 0:
        out[0] = x[0]
        for i in range(1, x.shape[0]):
            out[i] = out[i - 1] + x[i]
    else:
        out[:, 0] = x[:, 0]
        for j in range(1, x.shape[1]):
            out[:, j] = out[:, j - 1] + x[:, j]
    return out


# ----- interpolation, squeezing and stacking ---------------------------------------------------

_XP, _FP = np.array([0.0, 0.5, 1.0, 2.0]), np.array([1.0, -0.5, 2.0, 0.25])


@composite("np.interp", kind=results.interpolated,
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
