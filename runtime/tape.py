"""Adjoint helpers for the reverse sweep."""
import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from .compile_once import measures, runtime_jitable, runtime_overload


def zeroed(x):
    """Zero an adjoint in place when it is an array; 0.0 when it is a scalar."""
    if isinstance(x, np.ndarray):
        x[...] = 0.0
        return x
    return 0.0


@overload(zeroed, inline="always")
def _zeroed(x):
    if isinstance(x, types.Array):
        def zero_array(x):
            x[...] = 0.0
            return x
        return zero_array
    return lambda x: 0.0



@measures(1)
def zeroed_like(x_bar, old):
    """The adjoint of a name's value before it was bound again: `x_bar` zeroed in place when that
    value `old` has its shape, else new zeros shaped like `old` (the name held an array of
    another shape, or a number: a trajectory grown by np.concatenate, a work name reused)."""
    if isinstance(x_bar, np.ndarray) and isinstance(old, np.ndarray) and x_bar.shape == old.shape:
        x_bar[...] = 0.0
        return x_bar
    return np.zeros(old.shape) if isinstance(old, np.ndarray) else 0.0


@overload(zeroed_like, inline="always")
def _zeroed_like(x_bar, old):
    if not isinstance(old, types.Array):
        return lambda x_bar, old: 0.0
    if not isinstance(x_bar, types.Array) or x_bar.ndim != old.ndim:   # a name bound again with another rank
        return lambda x_bar, old: _zeros_shaped_like(old)

    def zero_or_reshape(x_bar, old):
        if x_bar.shape == old.shape:
            x_bar[...] = 0.0
            return x_bar
        return _zeros_shaped_like(old)
    return zero_or_reshape


# The tape helpers are inlined: each runs once or more per iteration of a reverse loop, on short
# vectors, where a call (lstm: about 15 per cell) cost a fifth of the gradient's time. What they
# rarely need, new arrays and broadcasting copies, is a call to a helper numba caches on disk:
# inlined, that code made each call site take a tenth of a second or more to compile.

@runtime_jitable
def _zeros_shaped_like(old):
    return np.zeros(old.shape)


@runtime_jitable
def _rows_zeroed_from(old, start):
    """New room shaped like `old` whose rows from `start` on are zeros (a loop assigns the others)."""
    out = np.empty(old.shape)
    out[max(start, 0):] = 0.0
    return out


@runtime_jitable
def _filled_anew(old, value):
    out = np.zeros(old.shape)
    copy_into(out, value)
    return out


@measures(1)
def filled_like(x_bar, old, value):
    """`zeroed_like(x_bar, old)` followed by `+= value`, in one pass: the buffer takes `value`
    (broadcast to its shape) instead of being zeroed and then added to."""
    if not isinstance(old, np.ndarray):
        return 0.0 + value
    if not (isinstance(x_bar, np.ndarray) and x_bar.shape == old.shape):
        x_bar = np.zeros(old.shape)
    x_bar[...] = value
    return x_bar


@overload(filled_like, inline="always")
def _filled_like(x_bar, old, value):
    if not isinstance(old, types.Array):
        return lambda x_bar, old, value: 0.0 + value
    if not isinstance(x_bar, types.Array) or x_bar.ndim != old.ndim:   # a name bound again with another rank
        return lambda x_bar, old, value: _filled_anew(old, value)

    if isinstance(value, types.Array) and x_bar.ndim == 1 and value.ndim == 1:
        def reuse_vector(x_bar, old, value):   # the copy written out: no second inlined helper to type
            if x_bar.shape == old.shape and value.shape[0] == x_bar.shape[0]:
                for k in range(x_bar.shape[0]):
                    x_bar[k] = value[k]
                return x_bar
            return _filled_anew(old, value)
        return reuse_vector

    def reuse_or_reshape(x_bar, old, value):
        if x_bar.shape == old.shape:
            copy_into(x_bar, value)
            return x_bar
        return _filled_anew(old, value)
    return reuse_or_reshape


def copy_into(out, value):
    """`out[...] = value` (value broadcast to out's shape), as a loop. numba's slice assignment
    from an array formats its shape-mismatch message with string code that takes 1.3-1.8 s to
    compile the first time a process assigns arrays of each rank (and again under other compiler
    flags than the primal's): most of a small gradient's first call. Generated code writes an
    array into a view as `copy_into(S[i], h)` (srcgrad/transform/slice_updates.py)."""
    out[...] = value


@overload(copy_into, inline="always")
def _copy_into(out, value):
    if not isinstance(value, types.Array):
        def fill(out, value):
            out[...] = value   # a number: no shape to check, nothing slow to compile
        return fill
    if out.ndim == 1 and value.ndim == 1:
        def copy_vector(out, value):   # no ravel: its reshape check is a C call per copy (lstm: 5%)
            if out.shape[0] != value.shape[0]:
                _broadcast_copy(out, value)
                return
            for k in range(out.shape[0]):
                out[k] = value[k]
        return copy_vector
    if out.layout == "C" and value.layout == "C" and out.ndim == value.ndim:
        def copy_flat(out, value):
            if out.shape != value.shape:
                _broadcast_copy(out, value)
                return
            # views: both are in C order. np.ravel, not the method: numba's inliner renames an
            # array method with a process-wide counter that can collide with the name its
            # constant-list rewrite gives `np.array([1, 2])` in the caller (AssertionError)
            flat_out, flat_value = np.ravel(out), np.ravel(value)
            for k in range(flat_out.shape[0]):
                flat_out[k] = flat_value[k]
        return copy_flat
    if out.ndim == 2 and value.ndim == 2:
        def copy_matrix(out, value):   # a view of other strides (`M[1:, :2]`): not element by element through np.ndindex
            if out.shape != value.shape:
                _broadcast_copy(out, value)
                return
            for i in range(out.shape[0]):
                for j in range(out.shape[1]):
                    out[i, j] = value[i, j]
        return copy_matrix
    return lambda out, value: _broadcast_copy(out, value)


@runtime_jitable
def _broadcast_copy(out, value):
    spread = np.broadcast_to(value, out.shape)   # raises numpy's error for shapes that do not broadcast
    for index in np.ndindex(out.shape):
        out[index] = spread[index]


@measures(1)
def zeroed_from(x_bar, old, start):
    """`zeroed_like(x_bar, old)` for a buffer whose rows below `start` a loop assigns next: only
    the rows from `start` on are zeroed (all of them when `start` is negative: the loop ran no
    iteration)."""
    if not (isinstance(x_bar, np.ndarray) and x_bar.shape == old.shape):
        x_bar = np.empty(old.shape)
    x_bar[max(start, 0):] = 0.0
    return x_bar


@overload(zeroed_from, inline="always")
def _zeroed_from(x_bar, old, start):
    if not isinstance(x_bar, types.Array) or x_bar.ndim != old.ndim:   # a name bound again with another rank
        return lambda x_bar, old, start: _rows_zeroed_from(old, start)

    if x_bar.ndim == 1:
        def zero_the_rest_of_a_vector(x_bar, old, start):   # a loop, not a slice: usually nothing is left to zero
            if x_bar.shape == old.shape:
                for k in range(max(start, 0), x_bar.shape[0]):
                    x_bar[k] = 0.0
                return x_bar
            return _rows_zeroed_from(old, start)
        return zero_the_rest_of_a_vector

    def zero_the_rest(x_bar, old, start):
        if x_bar.shape == old.shape:
            x_bar[max(start, 0):] = 0.0
            return x_bar
        return _rows_zeroed_from(old, start)
    return zero_the_rest


def pushed_row(rows, ends, position, values):
    """Copy a 1-D array an iteration made into the flat buffer `rows`, after the row of the
    iteration before it (`ends[position - 1]`), and record where it ends; returns the buffer,
    doubled when it was too short. The reverse sweep reads the row back with `row_at` instead of
    replaying what computed it."""
    start = _row_start(ends, position)
    stop = start + values.shape[0]
    out = _with_room(rows, start, stop)
    for k in range(values.shape[0]):
        out[start + k] = values[k]
    ends[position] = stop
    return out


def row_at(rows, ends, position):
    """The row `pushed_row` stored for iteration `position` (a view: nothing is copied)."""
    return rows[_row_start(ends, position):ends[position]]


def _row_start(ends, position):
    if position == 0:
        return 0
    return ends[position - 1]


def _with_room(rows, start, stop):
    """`rows`, or a buffer twice as long holding its first `start` values when `stop` does not fit."""
    if rows.shape[0] >= stop:
        return rows
    grown = np.empty(max(stop, 2 * rows.shape[0]))
    copy_into(grown[:start], rows[:start])   # not slice assignment: its message's string code compiles for 0.6 s
    return grown


@runtime_overload(_row_start)
def _row_start_overload(ends, position):
    return _row_start


@runtime_overload(_with_room)
def _with_room_overload(rows, start, stop):
    return _with_room


@overload(pushed_row, inline="always")
def _pushed_row(rows, ends, position, values):
    return pushed_row


@overload(row_at, inline="always")
def _row_at(rows, ends, position):
    return row_at



def sum_in_any_order(total, term):
    """`total + term`, an addition the compiler may reorder with the loop's other additions into
    `total`: a loop summing into one float then keeps several partial sums at once (vectorizes)
    instead of waiting for each addition in turn. The result differs from the sequential sum by
    rounding only."""
    return total + term


@intrinsic
def _reassociable_add(typingctx, total, term):
    if not (isinstance(total, types.Float) and isinstance(term, (types.Float, types.Integer, types.Boolean))):
        return None

    def codegen(context, builder, signature, args):
        term_value = context.cast(builder, args[1], signature.args[1], signature.return_type)
        return builder.fadd(args[0], term_value, flags=("reassoc", "contract"))
    return total(total, term), codegen


@overload(sum_in_any_order, inline="always")
def _sum_in_any_order(total, term):
    if isinstance(total, types.Float):
        return lambda total, term: _reassociable_add(total, term)
    return lambda total, term: total + term
