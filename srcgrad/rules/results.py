"""Result kinds of primitives: each function maps a call's argument kinds to the kind of its result.

A primitive's record names one of these (`kind=`); kind inference calls it with the kinds of the
call's positional arguments (a tuple or list display gives a tuple of kinds) and the call node
(for keyword options such as `axis=`). Unknown inputs give UNKNOWN, never a guess.
"""
from __future__ import annotations

import gast
import numpy as np

from .. import syntax
from ..analyze import kinds as K

# values for a record's `samples`: the tests call the primitive on them and compare the kind of
# what numpy returns with what the record's kind function says
VECTOR = np.linspace(0.1, 0.9, 12)
MATRIX = VECTOR.reshape(3, 4)
SQUARE = np.linspace(0.2, 1.0, 9).reshape(3, 3)


def keyword(call, name: str, position: int | None = None):
    """The node passed as option `name` (by keyword, or at `position`), or None."""
    for k in getattr(call, "keywords", ()):
        if k.arg == name:
            return k.value
    args = getattr(call, "args", [])
    return args[position] if position is not None and position < len(args) else None


def to_float(kind):
    """Integers become floats (math functions, true division): scalars and arrays alike."""
    if kind in (K.INT, K.BOOL):
        return K.FLOAT
    if isinstance(kind, str) and kind.startswith("ia"):
        return kind[1:]
    return kind


def broadcast(args, call=None):
    """Elementwise arithmetic: numpy broadcasting; int stays int."""
    return K.broadcast(*args) if args else K.UNKNOWN


def float_broadcast(args, call=None):
    """Elementwise functions whose result is a float (sin, exp, sqrt, ...), whatever the input."""
    return to_float(broadcast(args))


def math_float(args, call=None):
    """math.* functions: always a Python float."""
    return K.FLOAT


def same_as_first(args, call=None):
    return args[0] if args else K.UNKNOWN


def same_as_second(args, call=None):
    """A solve's result is shaped like its right-hand side."""
    return args[1] if len(args) > 1 else K.UNKNOWN


def as_array(args, call=None):
    """np.asarray: an array as it is; a number as a 0-d array."""
    return K.array(0) if args and K.is_scalar(args[0]) else same_as_first(args)


def python_int(args, call=None):
    return K.INT


def rounded(args, call=None):
    """round(x) is an int, round(x, ndigits) a float."""
    return K.INT if len(args) < 2 else K.FLOAT


def python_bool(args, call=None):
    return K.BOOL


def float_scalar(args, call=None):
    return K.FLOAT


def int_scalar(args, call=None):
    return K.INT


def reduction(args, call=None):
    """sum, mean, max, prod ... : a float over the whole array, one rank less along `axis=`."""
    if keyword(call, "axis", 1) is None:
        return K.FLOAT
    return _one_rank_less(args[0] if args else K.UNKNOWN)


def _one_rank_less(kind):
    """An array reduced along one axis: a float for a vector."""
    rank = K.ndim(kind)
    if rank is None:
        return K.UNKNOWN
    return K.FLOAT if rank <= 1 else K.array(rank - 1)


def taken_along(args, call=None):
    """take_along(t, picked, axis): t with the axis taken away."""
    return _one_rank_less(args[0] if args else K.UNKNOWN)


def index_along(args, call=None):
    """picked_along(x, axis, largest): one index per line along the axis."""
    return int_array_like([taken_along(args)])


def _one_rank_more(kind):
    """Pieces of this kind as the rows of an array: a vector of numbers, a matrix of vectors."""
    if K.is_scalar(kind):
        return "a1"
    rank = K.ndim(kind)
    return K.array(rank + 1) if rank else "a?"


def index_reduction(args, call=None):
    """argmax, argmin: an int over the whole array."""
    return K.INT if keyword(call, "axis", 1) is None else K.UNKNOWN


def int_array_like(args, call=None):
    """isnan, isfinite: booleans shaped like the argument (bool arrays count as integer arrays)."""
    rank = K.ndim(args[0]) if args else None
    if rank == 0:
        return K.BOOL
    return "ia?" if rank is None else f"ia{rank}"


def flattened(args, call=None):
    """ravel, cumsum without axis: one dimension; cumsum along axis= keeps the shape."""
    if call is not None and keyword(call, "axis", 1) is not None:
        return same_as_first(args)
    return "a1"


def vector(args, call=None):
    """linspace: one dimension."""
    return "a1"


def arange(args, call=None):
    """np.arange: integers when every bound is an integer and no dtype= says otherwise."""
    dtype = keyword(call, "dtype")
    integer = all(k in (K.INT, K.BOOL) for k in args) and (dtype is None or _names_an_integer_type(dtype))
    return "ia1" if integer else "a1"


def _names_an_integer_type(node) -> bool:
    spelled = syntax.dotted_path(node) if isinstance(node, (gast.Name, gast.Attribute)) else None
    return bool(spelled) and spelled[-1] in ("int", "int64", "int32", "intp")


def matrix(args, call=None):
    return "a2"


def matmul(args, call=None):
    return K.matmul_kind(*args[:2]) if len(args) >= 2 else K.UNKNOWN


def transpose(args, call=None):
    return same_as_first(args)


def from_shape(args, call=None):
    """zeros, ones, empty, full: the rank is the length of the shape argument."""
    shape = args[0] if args else K.UNKNOWN
    if isinstance(shape, tuple):
        return K.array(len(shape))
    return "a1" if shape == K.INT else "a?"


def float_like(args, call=None):
    """zeros_like, ones_like, empty_like: an array shaped like the argument (float when asked)."""
    return same_as_first(args)


def reshaped(args, call=None):
    shape = args[1] if len(args) > 1 else K.UNKNOWN
    if isinstance(shape, tuple):
        return K.array(len(shape))
    return "a1" if shape == K.INT else "a?"


def where(args, call=None):
    """np.where(condition, a, b): a float array shaped by broadcasting all three. A condition of
    kind bool that is no comparison of arrays may still be an array: with number branches, unknown."""
    if len(args) < 3:
        return K.UNKNOWN
    if args[0] == K.BOOL and not any(K.is_array(k) for k in args[1:3]):
        return K.UNKNOWN
    return to_float(K.broadcast(*args[:3], K.FLOAT))


def joined(args, call=None):
    """concatenate: the kind of the pieces (of one whose rank is known: all have one rank)."""
    parts = args[0] if args and isinstance(args[0], tuple) else ()
    known = [p for p in parts if K.ndim(p) is not None]
    return known[0] if known else (parts[0] if parts else K.UNKNOWN)


def stacked(args, call=None):
    """stack, np.array of pieces: one dimension more than a piece; of one array, a copy of it."""
    if args and K.is_array(args[0]):
        return args[0]
    if args and K.is_scalar(args[0]):   # np.array(number): a 0-d array
        return K.array(0)
    parts = args[0] if args and isinstance(args[0], tuple) else ()
    if parts and all(p in (K.INT, K.BOOL) for p in parts):   # np.array((0, 2, 4)): numpy's int64 (an index)
        return "ia1"
    return _one_rank_more(parts[0] if parts else K.UNKNOWN)


def unknown(args, call=None):
    return K.UNKNOWN


def diagonal(args, call=None):
    """np.diag: a vector's diagonal matrix, a matrix's diagonal."""
    return {1: "a2", 2: "a1"}.get(K.ndim(args[0]), K.UNKNOWN) if args else K.UNKNOWN


def at_least_vector(args, call=None):
    return "a1" if args and K.is_scalar(args[0]) else same_as_first(args)


def at_least(rank: int):
    """np.atleast_2d, np.atleast_3d: the argument with dimensions added up to `rank`."""
    def kind(args, call=None):
        known = K.ndim(args[0]) if args else None
        return K.UNKNOWN if known is None else K.array(max(rank, known))
    kind.__name__ = f"at_least_{rank}"
    return kind


def tiled(args, call=None):
    """np.tile(x, reps): the rank of x or the number of repetitions given, whichever is larger."""
    if len(args) < 2 or K.ndim(args[0]) is None:
        return K.UNKNOWN
    reps = args[1]
    given = len(reps) if isinstance(reps, tuple) else 1 if reps == K.INT else None
    return K.UNKNOWN if given is None else K.array(max(K.ndim(args[0]), given))


def insertion_points(args, call=None):
    """np.searchsorted(a, v): an int for a number v, an int array shaped like an array v."""
    rank = K.ndim(args[1]) if len(args) > 1 else None
    return K.UNKNOWN if rank is None else K.INT if rank == 0 else f"ia{rank}"


def interpolated(args, call=None):
    """np.interp(x, xp, fp): floats shaped like x."""
    return to_float(args[0]) if args else K.UNKNOWN


def squeezed(args, call=None):
    """np.squeeze(x, axis=k): one rank less (a float for a vector of one element)."""
    return _one_rank_less(args[0] if args else K.UNKNOWN)


def appended_row(args, call=None):
    """list.append, the list kept as an array: one dimension more than the value appended."""
    return _one_rank_more(args[1] if len(args) > 1 else K.UNKNOWN)


def empty_list(args, call=None):
    """`[]`: the kind of whatever is appended to it."""
    return K.EMPTY


def first_axis_summed(args, call=None):
    """Python's sum over an array: one rank less (a vector gives a float)."""
    return _one_rank_less(args[0] if args else K.UNKNOWN)


def hstacked(args, call=None):
    """np.hstack: the kind of the pieces (vectors end to end, matrices side by side)."""
    return joined(args, call)


def one_of_two_numbers(args, call=None):
    """Python's max(a, b) / min(a, b): one of two numbers (of arrays it raises), an int when both are."""
    return K.INT if args and all(k in (K.INT, K.BOOL) for k in args) else K.FLOAT


def polynomial_values(args, call=None):
    """np.polyval(p, x): shaped like x, floats."""
    return to_float(args[1]) if len(args) > 1 else K.UNKNOWN


def two_matrices(args, call=None):
    return (K.array(2), K.array(2))


def two_floats(args, call=None):
    return (K.FLOAT, K.FLOAT)


def values_and_vectors(args, call=None):
    """np.linalg.eigh: (eigenvalues, eigenvectors as columns)."""
    return (K.array(1), K.array(2))


def column_stacked(args, call=None):
    """np.column_stack: a matrix, of vectors as columns or of matrices side by side."""
    parts = args[0] if args and isinstance(args[0], tuple) else ()
    return K.array(2) if parts and all(K.is_array(p) and K.ndim(p) in (1, 2) for p in parts) else K.UNKNOWN


def vstacked(args, call=None):
    """np.vstack: a matrix, of vectors as rows and matrices one above the other (mixed as NumPy allows)."""
    parts = args[0] if args and isinstance(args[0], tuple) else ()
    ranks = [K.ndim(p) for p in parts if K.ndim(p) is not None]
    return "a2" if ranks and ranks[0] in (1, 2) else K.UNKNOWN


def sampled(fn):
    """The kind of what `fn` returns, read from a call on sample values of the arguments' kinds
    (constants in the call as written): for a NumPy function without a record (rules/registry.py
    `opaque_numpy`). UNKNOWN when a kind has no sample or the call fails on the samples."""
    def kind(args, call=None):
        values = [_constant_or_sample(node, arg) for node, arg in zip(getattr(call, "args", [None] * len(args)), args)]
        keywords = {k.arg: _constant(k.value) for k in getattr(call, "keywords", ())}
        if any(v is _NO_SAMPLE for v in values) or any(v is _NO_SAMPLE for v in keywords.values()):
            return K.UNKNOWN
        try:
            with np.errstate(all="ignore"):
                return K.of_value(fn(*values, **keywords))
        except Exception:   # the samples do not suit it: nothing is known of its result
            return K.UNKNOWN
    return kind


_NO_SAMPLE = object()


def _constant(node):
    return node.value if isinstance(node, gast.Constant) else _NO_SAMPLE


def _constant_or_sample(node, kind):
    constant = _constant(node) if node is not None else _NO_SAMPLE
    return constant if constant is not _NO_SAMPLE else _sample(kind)


def sample_of(kind):
    """A value of `kind` (see `_sample`), or None when the kind has none (unknown, any rank)."""
    value = _sample(kind)
    return None if value is _NO_SAMPLE else value


def _sample(kind):
    """A well-conditioned value of `kind`: a symmetric positive definite matrix, a vector of
    distinct positive values, 0.5, 2, True."""
    if isinstance(kind, tuple):
        parts = [_sample(k) for k in kind]
        return _NO_SAMPLE if any(p is _NO_SAMPLE for p in parts) else tuple(parts)
    if kind in (K.FLOAT, K.INT, K.BOOL):
        return {K.FLOAT: 0.5, K.INT: 2, K.BOOL: True}[kind]
    if not K.is_array(kind) or K.ndim(kind) is None:
        return _NO_SAMPLE
    values = np.eye(3) * 2.0 + np.linspace(0.1, 0.3, 9).reshape(3, 3) * 0.1 if K.ndim(kind) >= 2 else np.linspace(0.3, 0.9, 3)
    values = values + values.T if values.ndim == 2 else values
    values = values.reshape(values.shape + (1,) * (K.ndim(kind) - values.ndim))
    return values.astype(np.int64) + 1 if kind.startswith("i") else values
