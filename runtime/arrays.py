"""Array helpers for generated code whose spelling depends on whether a value is a scalar or an array.

Each helper is a Python function (used by backend="python") with a numba overload that picks the
branch at compile time from the argument types.
"""
import numpy as np
from numba import types
from numba.extending import overload, register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple
from numpy.lib.stride_tricks import as_strided

from .compile_once import measures, runtime_jitable, runtime_overload


class UnequalLengths(ValueError):
    """Raised by an element loop srcgrad fused from 1-D array operations whose arrays differ in
    length (numpy would broadcast a length-1 array; the loop needs one length)."""


def zeros_like(x):
    """0.0 for a scalar, a C-contiguous float64 zero array for an array."""
    return np.zeros(x.shape) if isinstance(x, np.ndarray) else 0.0


@measures(1)
def sum_to(g, x):
    """Sum a broadcast cotangent `g` back to the shape of `x` (the adjoint of broadcasting)."""
    if not isinstance(x, np.ndarray):
        return float(np.sum(g))
    g = np.asarray(g)
    if g.shape == x.shape:
        return g
    # g and x broadcast together; g's share of each element of x is summed back into it (an axis
    # where g has length one spreads: the cotangent of np.expand_dims(s, 2) reaching (n, m, 2))
    g = np.broadcast_to(g, np.broadcast_shapes(g.shape, x.shape))
    g = g.sum(axis=tuple(range(g.ndim - x.ndim)))
    g = g.sum(axis=tuple(k for k, size in enumerate(x.shape) if size == 1 and g.shape[k] != 1), keepdims=True)
    return g + np.zeros_like(x)


def broadcast_like(t, y):
    """The tangent `t` of an operation whose result `y` numpy broadcast to a larger shape."""
    if np.shape(t) == np.shape(y):
        return t
    return np.broadcast_to(t, np.shape(y)).copy()


def prod_of_others(x):
    """For each element of x, the product of all the others (the partials of np.prod(x)),
    exact where x has zeros: prefix products times suffix products, no division."""
    flat = np.ravel(x)
    out = np.empty(flat.size)
    left = 1.0
    for k in range(flat.size):
        out[k] = left
        left *= flat[k]
    right = 1.0
    for k in range(flat.size - 1, -1, -1):
        out[k] *= right
        right *= flat[k]
    return out.reshape(x.shape)


def clip(x, lo, hi):
    """np.clip, also for floats (numba's np.clip takes arrays only)."""
    return np.clip(x, lo, hi)


def flatten(x):
    """x.flatten(): a new 1-D array (np.ravel may return a view of x)."""
    return np.ravel(x).copy()


def reshape(x, shape):
    """np.reshape, also of a transpose or slice under numba (whose reshape needs C order)."""
    return np.reshape(x, shape)


def diag(a):
    """np.diag: a vector's diagonal matrix, or a matrix's diagonal as a view of it (numba's np.diag
    copies the diagonal, so a later write into the matrix would not show in it)."""
    return np.diag(a)


def mean(x, axis=None):
    """np.mean, also along an axis under numba (whose np.mean takes no axis)."""
    return np.mean(x) if axis is None else np.mean(x, axis=axis)


def sum_along(x, axis=None):
    """np.sum(x, axis=axis), compiled once per machine: numba's own sum along an axis formats its
    out-of-bounds message with string code that takes 1.3 s to compile in each process and for
    each set of compiler flags (GradBench gmm's `np.sum(q, axis=1)`)."""
    return np.sum(x, axis=axis)


def take_flat(x, k):
    """x.flat[k]: the element an argmax/argmin picked."""
    return np.ravel(x)[k]


@runtime_jitable
def placed_flat(g, x, k):
    """An x-shaped array holding g at flat index k, zero elsewhere (the cotangent of take_flat)."""
    out = np.zeros(x.size)
    out[k] = g
    return out.reshape(x.shape)


def add_at_flat(x_bar, k, value):
    """x_bar.flat[k] += value, in place (x_bar is C-contiguous: generated code allocates it)."""
    x_bar[np.unravel_index(k, x_bar.shape)] += value


def scatter_add(x_bar, index, g):
    """x_bar[index] += g, adding once per occurrence of a repeated index (the adjoint of a gather
    `y = x[index]` with an integer-array index, where `x_bar[index] += g` would add only once)."""
    np.add.at(x_bar, index, g)


def kept_slots(x_bar, index):
    """x_bar[index], with zeros where a later occurrence of the same element in `index` overwrote
    the write (the cotangent of `v` in `x[index] = v`: numpy keeps the last of repeated writes)."""
    positions = np.arange(x_bar.size).reshape(x_bar.shape)[index]
    kept = np.array(x_bar[index], dtype=np.float64)
    _zero_overwritten(kept.reshape(-1), positions.reshape(-1))
    return kept


def _zero_overwritten(kept, positions):
    seen = set()
    for k in range(positions.size - 1, -1, -1):
        if positions[k] in seen:
            kept[k] = 0.0
        seen.add(positions[k])


def matmul_grad_left(g, a, b):
    """The cotangent of `a` in `a @ b` (also np.dot), for vectors and matrices. Written with one
    rank test per branch, so that srcgrad, reading it to differentiate a gradient again, keeps
    only the branch of the ranks it has (a test `a.ndim == 1 and b.ndim == 1` it does not fold)."""
    if a.ndim == 1:
        if b.ndim == 1:
            return g * b
        return np.dot(b, g)
    if b.ndim == 1:
        return np.outer(g, b)
    return np.dot(g, b.T)


def matmul_grad_right(g, a, b):
    """The cotangent of `b` in `a @ b` (also np.dot), for vectors and matrices (written as
    matmul_grad_left is)."""
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return np.outer(a, g)
    return np.dot(a.T, g)


# ----- numba versions ----------------------------------------------------------------------

def _is_array(t):
    return isinstance(t, types.Array)


@runtime_overload(zeros_like)
def _zeros_like(x):
    if _is_array(x):
        return lambda x: np.zeros(x.shape)
    return lambda x: 0.0


@runtime_overload(sum_to)
def _sum_to(g, x):
    if not _is_array(x):
        if _is_array(g):
            return lambda g, x: np.sum(g)
        return lambda g, x: g
    if not _is_array(g):
        return lambda g, x: np.full(x.shape, g)
    if x.ndim == 0:   # a 0-d array (np.array(number)) gathers every element of g
        return lambda g, x: np.full(x.shape, np.sum(g))
    if g.ndim > 2 or x.ndim > 2 or g.ndim < x.ndim:   # one loop for every rank (np.atleast_3d, pairwise differences)
        if g.ndim == x.ndim:
            return lambda g, x: g if g.shape == x.shape else _summed_to_shape(g, x)
        return _summed_to_shape
    # g and x broadcast together to (rows, columns); each element of that goes to x's one
    if g.ndim == x.ndim:
        if g.ndim == 2:
            def same_rank(g, x):
                if g.shape == x.shape:
                    return g
                out = np.zeros(x.shape)
                for i in range(max(g.shape[0], x.shape[0])):
                    for j in range(max(g.shape[1], x.shape[1])):
                        out[i if x.shape[0] != 1 else 0, j if x.shape[1] != 1 else 0] += \
                            g[i if g.shape[0] != 1 else 0, j if g.shape[1] != 1 else 0]
                return out
            return same_rank
        def same_rank_vector(g, x):
            if g.shape == x.shape:
                return g
            if x.shape[0] == 1:
                return np.full(x.shape, np.sum(g))
            return np.full(x.shape, g[0])   # g has one element, broadcast to x
        return same_rank_vector
    if g.ndim == 2 and x.ndim == 1:
        def rows(g, x):
            out = np.zeros(x.shape)
            for i in range(g.shape[0]):
                for j in range(max(g.shape[1], x.shape[0])):
                    out[j if x.shape[0] != 1 else 0] += g[i, j if g.shape[1] != 1 else 0]
            return out
        return rows
    return None


@runtime_jitable
def _summed_to_shape(g, x):
    """g and x, lined up at the right, broadcast together; each element of that shape adds g's
    element it was broadcast from into x's. So g is summed over the axes where x has length one
    or no axis at all, and spread along those where g has length one or no axis (the cotangent
    of `np.expand_dims(s, 2)` reaching x of shape (n, m, 2))."""
    values = np.ascontiguousarray(g).reshape(g.size)
    out = np.zeros(x.size)
    rank = max(g.ndim, x.ndim)
    g_lead, x_lead = rank - g.ndim, rank - x.ndim
    total = 1
    for k in range(rank):
        total *= max(g.shape[k - g_lead] if k >= g_lead else 1, x.shape[k - x_lead] if k >= x_lead else 1)
    for flat in range(total):
        rest, source, target, g_stride, x_stride = flat, 0, 0, 1, 1
        for k in range(rank - 1, -1, -1):
            g_size = g.shape[k - g_lead] if k >= g_lead else 1
            x_size = x.shape[k - x_lead] if k >= x_lead else 1
            i = rest % max(g_size, x_size)
            rest //= max(g_size, x_size)
            if g_size != 1:
                source += i * g_stride
            g_stride *= g_size
            if x_size != 1:
                target += i * x_stride
            x_stride *= x_size
        out[target] += values[source]
    return out.reshape(x.shape)


@runtime_overload(broadcast_like)
def _broadcast_like(t, y):
    if not _is_array(y):
        return lambda t, y: t
    if not _is_array(t):
        return lambda t, y: np.full(y.shape, t)
    if t.ndim == y.ndim:
        def same_rank(t, y):
            if t.shape == y.shape:
                return t
            return np.broadcast_to(t, y.shape).copy()
        return same_rank
    return lambda t, y: np.broadcast_to(t, y.shape).copy()


@runtime_overload(prod_of_others)
def _prod_of_others(x):
    return prod_of_others   # plain loops: numba compiles the Python version itself


@runtime_overload(clip)
def _clip(x, lo, hi):
    if _is_array(x) or _is_array(lo) or _is_array(hi):
        return lambda x, lo, hi: np.clip(x, lo, hi)
    return lambda x, lo, hi: min(max(x, lo), hi)


@runtime_overload(flatten)
def _flatten(x):
    return lambda x: x.flatten()


def stacked_rows(x, axis):
    """np.stack of the rows of x along `axis` (a list kept as an array, stacked along axis=): a new
    array with x's first axis at `axis`."""
    return np.copy(np.moveaxis(x, 0, axis))


@runtime_overload(stacked_rows)
def _stacked_rows(x, axis):
    return stacked_rows   # numba compiles the Python version itself


@runtime_overload(reshape)
def _reshape(x, shape):
    if isinstance(x, types.Array) and x.layout != "C" and isinstance(shape, types.UniTuple) and shape.count == x.ndim:
        def same_or_copied(x, shape):   # to its own shape: x itself, a view, as numpy gives (979:547:0)
            if x.shape == shape:
                return x
            return np.reshape(np.ascontiguousarray(x), shape)
        return same_or_copied
    return lambda x, shape: np.reshape(np.ascontiguousarray(x), shape)


@runtime_overload(diag)
def _diag(a):
    if isinstance(a, types.Array) and a.ndim == 2:
        def diagonal_view(a):
            return as_strided(a, shape=(min(a.shape[0], a.shape[1]),), strides=(a.strides[0] + a.strides[1],))
        return diagonal_view
    return lambda a: np.diag(a)


@runtime_overload(sum_along)
def _sum_along(x, axis=None):
    if axis is None or isinstance(axis, (types.NoneType, types.Omitted)):
        return lambda x, axis=None: np.sum(x)
    return lambda x, axis=None: np.sum(x, axis=axis)


@runtime_overload(mean)
def _mean(x, axis=None):
    if axis is None or isinstance(axis, (types.NoneType, types.Omitted)):
        return lambda x, axis=None: np.mean(x)
    return lambda x, axis=None: np.sum(x, axis=axis) / x.shape[axis]


@overload(take_flat, inline="always")
def _take_flat(x, k):
    return lambda x, k: np.ravel(x)[k]


@overload(add_at_flat, inline="always")
def _add_at_flat(x_bar, k, value):
    if x_bar.ndim == 1:
        def add1(x_bar, k, value):
            x_bar[k] += value
        return add1

    def add(x_bar, k, value):
        x_bar.reshape(-1)[k] += value
    return add


@runtime_overload(scatter_add)
def _scatter_add(x_bar, index, g):
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    if not any(isinstance(part, types.Array) for part in parts):
        def basic(x_bar, index, g):   # integers and slices select each element at most once
            x_bar[index] += g
        return basic
    if isinstance(index, types.Array) and isinstance(index.dtype, types.Boolean):
        def masked(x_bar, index, g):   # a mask selects each element at most once
            x_bar[index] += g
        return masked
    if isinstance(index, types.Array) and index.ndim == 1:
        if _is_array(g):
            def per_row(x_bar, index, g):
                for k in range(index.shape[0]):
                    x_bar[index[k]] += g[k]
            return per_row

        def same_value(x_bar, index, g):
            for k in range(index.shape[0]):
                x_bar[index[k]] += g
        return same_value

    def by_position(x_bar, index, g):
        # the flat position of each selected element, by applying the same index to their numbers
        positions = np.arange(x_bar.size).reshape(x_bar.shape)[index]
        contributions = np.broadcast_to(g, positions.shape)
        flat = x_bar.reshape(-1)
        for position, contribution in zip(positions.ravel(), np.ravel(contributions)):
            flat[position] += contribution
    return by_position


@runtime_overload(kept_slots)
def _kept_slots(x_bar, index):
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    if not any(isinstance(part, types.Array) and isinstance(part.dtype, types.Integer) for part in parts):
        return lambda x_bar, index: np.copy(x_bar[index])   # no element is selected twice

    def overwritten_zeroed(x_bar, index):
        positions = np.ascontiguousarray(np.arange(x_bar.size).reshape(x_bar.shape)[index])
        kept = np.ascontiguousarray(x_bar[index])
        flat_kept, flat_positions = kept.reshape(-1), positions.reshape(-1)
        last = np.full(x_bar.size, -1)
        for k in range(flat_positions.size):
            last[flat_positions[k]] = k
        for k in range(flat_positions.size):
            if last[flat_positions[k]] != k:
                flat_kept[k] = 0.0
        return kept
    return overwritten_zeroed


@runtime_overload(matmul_grad_left)
def _matmul_grad_left(g, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return lambda g, a, b: g * b
    if a.ndim == 2 and b.ndim == 1:
        return lambda g, a, b: np.outer(g, b)
    if a.ndim == 1:
        return lambda g, a, b: np.dot(b, g)
    return lambda g, a, b: np.dot(g, np.ascontiguousarray(b.T))


@runtime_overload(matmul_grad_right)
def _matmul_grad_right(g, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return lambda g, a, b: g * a
    if a.ndim == 2 and b.ndim == 1:
        return lambda g, a, b: np.dot(np.ascontiguousarray(a.T), g)
    if a.ndim == 1:
        return lambda g, a, b: np.outer(a, g)
    return lambda g, a, b: np.dot(np.ascontiguousarray(a.T), g)


# ----- transposes and helpers of array-building primitives ------------------------------------
# Each is written once per rank as a numba-compilable function; the public helper picks by rank,
# in Python at run time and in numba at compile time.

def _diag_of_matrix(g, x):
    return np.diag(g)


def _diag_into_matrix(g, x):
    out = np.zeros(x.shape)
    for i in range(min(x.shape[0], x.shape[1])):
        out[i, i] = g[i]
    return out


def _diff_transpose_1(g, x):
    out = np.zeros(x.shape)
    out[1:] += g
    out[:-1] -= g
    return out


def _diff_transpose_2(g, x):
    out = np.zeros(x.shape)
    out[:, 1:] += g
    out[:, :-1] -= g
    return out


def _kron_left_1(g, a, b):
    return np.reshape(np.ascontiguousarray(g), (a.shape[0], b.shape[0])) @ b


def _kron_left_rows(g, a, b):
    """a and b as matrices: a vector beside a matrix is a row, as NumPy takes it."""
    a2, b2 = np.atleast_2d(a), np.atleast_2d(b)
    out = np.zeros(a2.shape)
    r, c = b2.shape
    for i in range(a2.shape[0]):
        for j in range(a2.shape[1]):
            out[i, j] = np.sum(g[i * r:(i + 1) * r, j * c:(j + 1) * c] * b2)
    return out.reshape(a.shape)


def _kron_right_1(g, a, b):
    return a @ np.reshape(np.ascontiguousarray(g), (a.shape[0], b.shape[0]))


def _kron_right_rows(g, a, b):
    a2, b2 = np.atleast_2d(a), np.atleast_2d(b)
    out = np.zeros(b2.shape)
    r, c = b2.shape
    for i in range(a2.shape[0]):
        for j in range(a2.shape[1]):
            out += a2[i, j] * g[i * r:(i + 1) * r, j * c:(j + 1) * c]
    return out.reshape(b.shape)


def _sort_order_1(x):
    return np.argsort(x)


def _sort_order_2(x):
    order = np.empty(x.shape, dtype=np.int64)
    for i in range(x.shape[0]):
        order[i] = np.argsort(x[i])
    return order


def _sorted_like_1(t, order):
    return t[order]


def _sorted_like_2(t, order):
    out = np.empty(t.shape)
    for i in range(t.shape[0]):
        out[i] = t[i][order[i]]
    return out


def _unsorted_1(g, order):
    out = np.zeros(g.shape)
    out[order] = g
    return out


def _unsorted_2(g, order):
    out = np.zeros(g.shape)
    for i in range(g.shape[0]):
        out[i][order[i]] = g[i]
    return out


def _by_rank(name: str, doc: str, versions: dict, rank_of: int = 1):
    """A helper calling versions[ndim of its argument number `rank_of`], in Python and in numba."""
    jitted = {rank: runtime_jitable(fn) for rank, fn in versions.items()}

    def helper(*args):
        return versions[np.ndim(args[rank_of])](*args)

    helper.__name__, helper.__doc__ = name, doc
    params = ", ".join(versions[1].__code__.co_varnames[:versions[1].__code__.co_argcount])
    namespace = {"runtime_overload": runtime_overload, "helper": helper, "jitted": jitted}
    exec(f"@runtime_overload(helper)\ndef typer({params}):\n    return jitted.get({params.split(', ')[rank_of]}.ndim)",
         namespace)
    return helper


diag_transpose = _by_rank("diag_transpose", "The cotangent of x in np.diag(x).",
                          {1: _diag_of_matrix, 2: _diag_into_matrix})
diff_transpose = _by_rank("diff_transpose", "The cotangent of x in np.diff(x) (along the last axis).",
                          {1: _diff_transpose_1, 2: _diff_transpose_2})
# by the rank of the cotangent: a matrix's when either operand is one (NumPy takes a vector with a
# matrix as a row)
kron_grad_left = _by_rank("kron_grad_left", "The cotangent of a in np.kron(a, b).",
                          {1: _kron_left_1, 2: _kron_left_rows}, rank_of=0)
kron_grad_right = _by_rank("kron_grad_right", "The cotangent of b in np.kron(a, b).",
                           {1: _kron_right_1, 2: _kron_right_rows}, rank_of=0)
sort_order = _by_rank("sort_order", "np.argsort along the last axis.", {1: _sort_order_1, 2: _sort_order_2},
                      rank_of=0)
sorted_like = _by_rank("sorted_like", "t in the order np.sort put x in: the tangent of np.sort(x).",
                       {1: _sorted_like_1, 2: _sorted_like_2}, rank_of=0)
unsorted = _by_rank("unsorted", "The cotangent of x in np.sort(x): g put back where each element came from.",
                    {1: _unsorted_1, 2: _unsorted_2}, rank_of=0)


@runtime_jitable
def repeat_transpose(g, x, repeats):
    """The cotangent of x in np.repeat(x, repeats): the copies of each element summed."""
    return np.reshape(np.sum(np.reshape(np.ascontiguousarray(g), (x.size, repeats)), axis=1), x.shape)


def stop_gradient(x):
    """x's value, through which no derivative flows: srcgrad differentiates it as a constant."""
    return np.copy(x) if isinstance(x, np.ndarray) else x


@runtime_overload(stop_gradient)
def _stop_gradient(x):
    if _is_array(x):
        return lambda x: np.copy(x)
    return lambda x: x


def atleast_1d(x):
    """np.atleast_1d, also of a float under numba."""
    return np.atleast_1d(x)


def astype(x, dtype):
    """x.astype(dtype), also for `float` under numba (which takes numpy dtypes only)."""
    return np.asarray(x).astype(dtype)


@runtime_overload(atleast_1d)
def _atleast_1d(x):
    if _is_array(x):
        return lambda x: x
    return lambda x: np.full(1, x)


@runtime_overload(astype)
def _astype(x, dtype):
    builtin = {float: np.float64, int: np.int64, bool: np.bool_}.get(getattr(dtype, "typing_key", None))
    if builtin is not None:   # numba's astype takes numpy dtypes, not the builtin float, int or bool
        return lambda x, dtype: x.astype(builtin)
    return lambda x, dtype: x.astype(dtype)


def atleast_3d(x):
    """np.atleast_3d, also of a float under numba: (N,) -> (1, N, 1), (M, N) -> (M, N, 1)."""
    return np.atleast_3d(x)


def reshape_like(g, x):
    """g with x's shape, a number for a number x: the cotangent of x through a reshaping
    primitive whose result has x's elements in order (np.atleast_3d)."""
    if np.ndim(x) == 0:
        return float(np.sum(g))
    return np.reshape(g, np.shape(x))


@runtime_overload(atleast_3d)
def _atleast_3d(x):
    if _is_array(x):
        return lambda x: np.atleast_3d(x)
    return lambda x: np.full((1, 1, 1), x)


@runtime_overload(reshape_like)
def _reshape_like(g, x):
    if _is_array(x):
        return lambda g, x: np.reshape(np.ascontiguousarray(g), x.shape)
    return lambda g, x: np.sum(g)


# ----- np.tile of a number, vector or matrix (numba has no np.tile) ---------------------------
# NumPy lines x and reps up by prepending ones to the shorter; srcgrad handles results of rank
# 1 and 2: every case is a matrix tiled by (rows, columns), made a vector again for rank 1.

def tile(x, reps):
    """np.tile(x, reps) for x of rank at most 2 and reps an int or a tuple of one or two ints."""
    return np.tile(x, reps)


def tile_transpose(g, x, reps):
    """The cotangent of x in np.tile(x, reps): the copies' cotangents summed (a number for a number)."""
    shape = np.shape(x)
    reps = tuple(reps) if isinstance(reps, tuple) else (reps,)
    rank = max(len(shape), len(reps))
    shape, reps = (1,) * (rank - len(shape)) + shape, (1,) * (rank - len(reps)) + reps
    copies = np.reshape(g, [size for pair in zip(reps, shape) for size in pair])   # (reps_0, shape_0, ...)
    summed = np.sum(copies, axis=tuple(range(0, 2 * rank, 2)))
    return float(np.sum(summed)) if np.ndim(x) == 0 else np.reshape(summed, np.shape(x))


@runtime_jitable
def _tiled_matrix(a, rows, columns):
    m, n = a.shape
    out = np.empty((rows * m, columns * n))
    for i in range(rows):
        for j in range(columns):
            out[i * m:(i + 1) * m, j * n:(j + 1) * n] = a
    return out


@runtime_jitable
def _copies_summed(g, m, n, rows, columns):
    out = np.zeros((m, n))
    for i in range(rows):
        for j in range(columns):
            out += g[i * m:(i + 1) * m, j * n:(j + 1) * n]
    return out


def _tile_counts(reps):
    """(rows, columns) of copies for numba's type of reps, or None for reps srcgrad does not tile by."""
    if isinstance(reps, types.Integer):
        return lambda reps: (1, reps)
    if isinstance(reps, types.UniTuple) and isinstance(reps.dtype, types.Integer) and reps.count in (1, 2):
        return (lambda reps: (1, reps[0])) if reps.count == 1 else (lambda reps: (reps[0], reps[1]))
    return None


def _tile_rank(x, reps) -> int:
    return max(x.ndim if _is_array(x) else 0, reps.count if isinstance(reps, types.UniTuple) else 1)


def _as_matrix(x):
    """x as the matrix it is tiled as: a number is (1, 1), a vector one row."""
    if not _is_array(x):
        return lambda x: np.full((1, 1), x)
    if x.ndim == 1:
        return lambda x: np.ascontiguousarray(x).reshape((1, x.shape[0]))
    return lambda x: x


@runtime_overload(tile)
def _tile(x, reps):
    counts = _tile_counts(reps)
    if counts is None or (_is_array(x) and x.ndim > 2):
        return None
    counts, matrix = register_jitable(counts), register_jitable(_as_matrix(x))
    if _tile_rank(x, reps) == 2:
        return lambda x, reps: _tiled_matrix(matrix(x), *counts(reps))

    def tiled_vector(x, reps):
        out = _tiled_matrix(matrix(x), *counts(reps))
        return out.reshape((out.shape[1],))
    return tiled_vector


@runtime_overload(tile_transpose)
def _tile_transpose(g, x, reps):
    counts = _tile_counts(reps)
    if counts is None or (_is_array(x) and x.ndim > 2):
        return None
    counts, matrix = register_jitable(counts), register_jitable(_as_matrix(x))

    def summed(g, x, reps):
        rows, columns = counts(reps)
        m, n = matrix(x).shape
        return _copies_summed(np.ascontiguousarray(g).reshape((rows * m, columns * n)), m, n, rows, columns)
    summed = register_jitable(summed)
    if not _is_array(x):
        return lambda g, x, reps: summed(g, x, reps)[0, 0]
    return lambda g, x, reps: summed(g, x, reps).reshape(x.shape)

# ----- max, min and prod over the whole array or along one axis (numba's take no axis) --------

def largest(x, axis=None):
    """np.max, also along an axis under numba."""
    return np.max(x, axis=axis)


def smallest(x, axis=None):
    """np.min, also along an axis under numba."""
    return np.min(x, axis=axis)


def product(x, axis=None):
    """np.prod, also along an axis under numba."""
    return np.prod(x, axis=axis)


def picked_along(x, axis, pick_largest):
    """The index, along `axis`, of each line's largest (or smallest) element: np.argmax(x, axis)."""
    return np.argmax(x, axis=axis) if pick_largest else np.argmin(x, axis=axis)


def take_along(t, picked, axis):
    """t's element at `picked` in each line along `axis` (the tangent of a max along an axis)."""
    return np.squeeze(np.take_along_axis(t, np.expand_dims(picked, axis), axis), axis)


def put_along(g, picked, axis, x):
    """An x-shaped array holding g at `picked` along `axis`, zero elsewhere (its cotangent)."""
    out = np.zeros(x.shape)
    np.put_along_axis(out, np.expand_dims(picked, axis), np.expand_dims(g, axis), axis)
    return out


def prod_of_others_along(x, axis):
    """For each element, the product of the others in its line along `axis`."""
    return np.apply_along_axis(prod_of_others, axis, x)


@runtime_jitable
def _line_axis(axis, ndim):
    return axis + ndim if axis < 0 else axis


def _reduce_overload(whole, of_line):
    """A numba overload reducing an array whole, or each of its lines along `axis` (any rank)."""
    def typer(x, axis=None):
        if axis is None or isinstance(axis, (types.NoneType, types.Omitted)):
            return lambda x, axis=None: whole(x)
        if x.ndim == 1:
            return lambda x, axis=None: whole(x)
        rank = x.ndim - 1

        def along(x, axis=None):
            a = _line_axis(axis, x.ndim)
            lines = _as_lines(x, a)
            out = np.empty(lines.shape[0] * lines.shape[2])
            for o in range(lines.shape[0]):
                for i in range(lines.shape[2]):
                    out[o * lines.shape[2] + i] = of_line(lines[o, :, i])
            return out.reshape(to_fixed_tuple(_shape_without(x.shape, a), rank))
        return along
    return typer


@runtime_jitable
def _as_lines(x, a):
    """x as (before, along, after): its lines along axis `a` are [o, :, i]."""
    before, after = 1, 1
    for d in range(a):
        before *= x.shape[d]
    for d in range(a + 1, x.ndim):
        after *= x.shape[d]
    return np.ascontiguousarray(x).reshape((before, x.shape[a], after))


@runtime_jitable
def _shape_without(shape, a):
    """The lengths of `shape` but the one of axis `a`, as an array (to_fixed_tuple makes it a shape)."""
    out = np.empty(len(shape) - 1, dtype=np.int64)
    j = 0
    for d in range(len(shape)):
        if d != a:
            out[j] = shape[d]
            j += 1
    return out


@runtime_jitable
def _max_of(x):
    return np.max(x)


@runtime_jitable
def _min_of(x):
    return np.min(x)


@runtime_jitable
def _prod_of(x):
    return np.prod(x)


@runtime_jitable
def _argmax_of(x):
    return np.argmax(x)


@runtime_jitable
def _argmin_of(x):
    return np.argmin(x)


runtime_overload(largest)(_reduce_overload(_max_of, _max_of))
runtime_overload(smallest)(_reduce_overload(_min_of, _min_of))
overload(product)(_reduce_overload(_prod_of, _prod_of))


@runtime_overload(picked_along)
def _picked_along(x, axis, pick_largest):
    if x.ndim == 1:
        return lambda x, axis, pick_largest: _argmax_of(x) if pick_largest else _argmin_of(x)
    rank = x.ndim - 1

    def picked(x, axis, pick_largest):
        a = _line_axis(axis, x.ndim)
        lines = _as_lines(x, a)
        out = np.empty(lines.shape[0] * lines.shape[2], dtype=np.int64)
        for o in range(lines.shape[0]):
            for i in range(lines.shape[2]):
                line = lines[o, :, i]
                out[o * lines.shape[2] + i] = _argmax_of(line) if pick_largest else _argmin_of(line)
        return out.reshape(to_fixed_tuple(_shape_without(x.shape, a), rank))
    return picked


@runtime_overload(take_along)
def _take_along(t, picked, axis):
    if t.ndim == 1:
        return lambda t, picked, axis: t[picked]

    def taken(t, picked, axis):
        lines = _as_lines(t, _line_axis(axis, t.ndim))
        flat = np.ravel(picked)
        out = np.empty(flat.shape[0])
        for o in range(lines.shape[0]):
            for i in range(lines.shape[2]):
                k = o * lines.shape[2] + i
                out[k] = lines[o, flat[k], i]
        return out.reshape(picked.shape)
    return taken


@runtime_overload(put_along)
def _put_along(g, picked, axis, x):
    if x.ndim == 1:
        def put1(g, picked, axis, x):
            out = np.zeros(x.shape)
            out[picked] = g
            return out
        return put1

    def put(g, picked, axis, x):
        a = _line_axis(axis, x.ndim)
        lines = np.zeros(_as_lines(x, a).shape)
        flat_g, flat = np.ravel(np.asarray(g)), np.ravel(picked)
        for o in range(lines.shape[0]):
            for i in range(lines.shape[2]):
                k = o * lines.shape[2] + i
                lines[o, flat[k], i] = flat_g[k]
        return lines.reshape(x.shape)
    return put


@runtime_overload(prod_of_others_along)
def _prod_of_others_along(x, axis):
    if x.ndim == 1:
        return lambda x, axis: prod_of_others(x)

    def along(x, axis):
        lines = _as_lines(x, _line_axis(axis, x.ndim))
        out = np.empty(lines.shape)
        for o in range(lines.shape[0]):
            for i in range(lines.shape[2]):
                out[o, :, i] = prod_of_others(np.ascontiguousarray(lines[o, :, i]))
        return out.reshape(x.shape)
    return along


def empty_list():
    """`items = []` before numbers or arrays are appended (generated code has the rank instead)."""
    return np.zeros(0)


def appended(items, value):
    """`items.append(value)` for a list kept as an array: one row more (a copy, as lists grow)."""
    row = np.asarray(value, dtype=np.float64)[np.newaxis]
    if items.shape[0] == 0:
        return row.copy()
    return np.concatenate((items, row))


def appended_head(g, items):
    """The part of `appended(items, value)`'s cotangent that belongs to `items`."""
    if items.shape[0] == 0:
        return np.zeros(items.shape)
    return g[:items.shape[0]]


@runtime_overload(appended)
def _appended(items, value):
    if not _is_array(value):
        def append_number(items, value):
            out = np.empty(items.shape[0] + 1)
            out[:items.shape[0]] = items
            out[items.shape[0]] = value
            return out
        return append_number
    if value.ndim == 1:
        def append_row(items, value):
            n = items.shape[0]
            out = np.empty((n + 1, value.shape[0]))
            if n:
                out[:n] = items
            out[n] = value
            return out
        return append_row

    def append_block(items, value):   # a matrix or more: a list of 2-D fields over time
        n = items.shape[0]
        out = np.empty((n + 1,) + value.shape)
        if n:
            out[:n] = items
        out[n] = value
        return out
    return append_block


@runtime_overload(appended_head)
def _appended_head(g, items):
    def head(g, items):
        if items.shape[0] == 0:
            return np.zeros(items.shape)
        return np.ascontiguousarray(g[:items.shape[0]])
    return head

