"""Helpers for vector forward mode on array code: tangents holding every direction on a first axis,
with a boolean per direction that says where they may be nonzero (transform/forward_vector_arrays.py)."""
import numpy as np
from numba.core import types

from .compile_once import runtime_jitable, runtime_overload

SETTLED = 64   # elements: a tangent this small is checked for zeros after it is computed


@runtime_jitable
def direction_buffer(count, like):
    """Room for `count` directions of a tangent shaped like the array `like` (not zeroed: the
    directions a mask marks dead are never read)."""
    return np.empty((count,) + like.shape)


@runtime_jitable
def direction_buffer_reused(buffer, count, like):
    """`direction_buffer(count, like)`, which is `buffer` when that has the shape: a loop whose
    iterations each make a tangent writes them all into one buffer, not into fresh memory that
    the allocator may map, and the kernel zero, page by page on every iteration."""
    if buffer.shape == (count,) + like.shape:
        return buffer
    return np.empty((count,) + like.shape)


@runtime_jitable
def may_be_nonzero(slot):
    """Whether one direction of a tangent, just computed, is worth carrying: a small one is
    checked, so a 3x3 rotation that one angle does not move stays dead in that angle's direction
    even when it was computed from arrays live in it."""
    if slot.size > SETTLED:
        return True
    for value in slot.flat:
        if value != 0.0:
            return True
    return False


@runtime_jitable
def revive(tangent, live, direction):
    """Make a dead direction of `tangent` hold zeros and mark it live, before part of it is written."""
    if not live[direction]:
        tangent[direction] = 0.0
        live[direction] = True


@runtime_jitable
def seeded_directions(tangent):
    """The directions a seed may move: all, for a seed longer than SETTLED per direction."""
    live = np.empty(tangent.shape[0], np.bool_)
    for direction in range(tangent.shape[0]):
        live[direction] = may_be_nonzero(tangent[direction])
    return live


def directions_first(seed):
    """A seed as the caller passes it (directions on the last axis) as the code carries it."""
    return np.ascontiguousarray(np.transpose(seed, (seed.ndim - 1,) + tuple(range(seed.ndim - 1))))


def directions_last(tangent, live):
    """A tangent as the caller gets it: dead directions zero, directions on the last axis."""
    for direction in range(tangent.shape[0]):
        if not live[direction]:
            tangent[direction] = 0.0
    return np.transpose(tangent, tuple(range(1, tangent.ndim)) + (0,))


@runtime_overload(directions_last)
def _directions_last(tangent, live):
    axes = tuple(range(1, tangent.ndim)) + (0,)

    def last(tangent, live):
        for direction in range(tangent.shape[0]):
            if not live[direction]:
                tangent[direction] = 0.0
        return np.transpose(tangent, axes)
    return last


@runtime_overload(directions_first)
def _directions_first(seed):
    axes = (seed.ndim - 1,) + tuple(range(seed.ndim - 1))
    return lambda seed: np.ascontiguousarray(np.transpose(seed, axes))


def _each_direction_reversed(ndim: int) -> tuple:
    return (0,) + tuple(range(ndim - 1, 0, -1))


def transposed_directions(tangent):
    """Each direction of a tangent transposed, the directions still first: the tangent of `x.T`.
    A helper compiled once per machine: numba's transpose by an axes tuple builds a set and
    indexes by an array to check the axes, 1.5 s of compile in each process that uses it."""
    return np.transpose(tangent, _each_direction_reversed(tangent.ndim))


@runtime_overload(transposed_directions)
def _transposed_directions(tangent):
    axes = _each_direction_reversed(tangent.ndim)
    return lambda tangent: np.transpose(tangent, axes)


def matmul_into(slot, a, b):
    """slot[...] = a @ b, written straight into one direction of a tangent: numba's `@` makes a
    temporary to copy, and takes a slow path for a transposed operand (GradBench ht's
    `base_positions @ transform.T`, 10000 x 4 by 4 x 4: 133 us against 16 us)."""
    np.matmul(a, b, out=slot)


@runtime_overload(matmul_into)
def _matmul_into(slot, a, b):
    def into(slot, a, b):
        if slot.size <= SETTLED:   # a 3 x 3 rotation: numba's own product is quicker than a BLAS call
            slot[:] = a @ b   # not copy_into: a third slower in this cached helper (ht's rotations)
        else:
            np.dot(np.ascontiguousarray(a), np.ascontiguousarray(b), slot)
    return into


def multiply_into(slot, a, b):
    """slot[...] = a * b, written straight into one direction of a tangent: numba makes a
    temporary for an array expression and then copies it (ht's weighted vertices, 10000 x 3:
    152 us against 75 us through np.multiply's output argument)."""
    np.multiply(a, b, out=slot)


@runtime_overload(multiply_into)
def _multiply_into(slot, a, b):
    def into(slot, a, b):
        if slot.size <= SETTLED:   # small: numba's own expression is quicker than the ufunc's machinery
            slot[:] = a * b
        else:
            np.multiply(a, b, slot)
    return into


def add_product_into(slot, a, b):
    """slot[...] += a * b in one pass, a direction of a running total taking the tangent of a
    product with a constant factor (GradBench ht's `positions += curr[:, :3] * weights[:, i:i + 1]`,
    10000 x 3 by a column: 37 us against 85 us for multiply_into and then np.add)."""
    slot += a * b


@runtime_overload(add_product_into)
def _add_product_into(slot, a, b):
    if all(isinstance(x, types.Array) and x.ndim == 2 for x in (slot, a, b)):
        def matrices(slot, a, b):
            rows, columns = slot.shape
            if not (a.shape[0] in (1, rows) and a.shape[1] in (1, columns)
                    and b.shape[0] in (1, rows) and b.shape[1] in (1, columns)):
                slot += a * b   # numpy's broadcasting, and its error
                return
            # a stride of 0 reads an operand's one row or column for all (broadcasting)
            ai, aj = int(a.shape[0] != 1), int(a.shape[1] != 1)
            bi, bj = int(b.shape[0] != 1), int(b.shape[1] != 1)
            for i in range(rows):
                for j in range(columns):
                    slot[i, j] += a[i * ai, j * aj] * b[i * bi, j * bj]
        return matrices
    if all(isinstance(x, types.Array) and x.ndim == 1 for x in (slot, a, b)):
        def vectors(slot, a, b):
            n = slot.shape[0]
            if not (a.shape[0] in (1, n) and b.shape[0] in (1, n)):
                slot += a * b
                return
            ai, bi = int(a.shape[0] != 1), int(b.shape[0] != 1)
            for i in range(n):
                slot[i] += a[i * ai] * b[i * bi]
        return vectors

    def any_shapes(slot, a, b):
        slot += a * b
    return any_shapes
