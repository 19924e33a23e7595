"""Array primitives: reductions, reshaping, products, selection, construction.

Linear maps give their transpose beside them (forward mode applies the map itself to tangents).
Bilinear products give the transpose for each factor. Selections and sequence builders are small
forward/reverse generator pairs. `g` is the cotangent of the result, `ans` the result.
"""
import gast
import numpy as np

from .. import syntax
from ..analyze import kinds as K
from ..errors import UnsupportedSyntaxError
from . import results
from .composite import cumsum_along
from .registry import Options, alias, bilinear, by_kind, inactive, linear, structural
from .results import (MATRIX, VECTOR, as_array, broadcast, flattened, from_shape, index_reduction, int_array_like, int_scalar, joined, matmul, matrix, python_bool,
                      reduction, reshaped, same_as_first, stacked, unknown, vector, where, diagonal, at_least_vector,
                      at_least, insertion_points, tiled)

AXIS = Options(positional=2, keywords=frozenset({"axis"}), forward_any=True)   # reduce all, or along axis=
FORWARD_ANY = Options(forward_any=True)   # forward mode applies the call, options and all, to tangents

g = ans = 0.0  # only for linters: templates are parsed, never run
matmul_grad_left = matmul_grad_right = reshape = None  # srcgrad_runtime helpers the templates name
diag_transpose = diff_transpose = repeat_transpose = kron_grad_left = kron_grad_right = sum_to = None
reshape_like = tile_transpose = atleast_1d = None

# ----- Linear maps: forward applies the map to the tangent; reverse applies its transpose -----

@linear("np.sum", kind=reduction, spread="sum", methods=("sum",), fuse="sum", options=AXIS, along_spelling="sum_along",
        samples=((VECTOR,), (MATRIX,)))
def sum_transpose(g, x):
    return g

@linear("np.mean", kind=reduction, spread="mean", methods=("mean",), fuse="mean", options=AXIS, spelling="mean",
        samples=((VECTOR,), (MATRIX,)))
def mean_transpose(g, x):
    return g / x.size

@linear("np.transpose", kind=same_as_first, result="view", methods=("transpose",), options=FORWARD_ANY,
        samples=((MATRIX,), (VECTOR,)))
def transpose_transpose(g, x):
    return np.transpose(g)

@linear("np.swapaxes", kind=same_as_first, result="view", options=Options(positional=3),
        samples=((MATRIX, 0, 1), (VECTOR.reshape(2, 3, 2), 0, 2), (VECTOR.reshape(2, 3, 2), -1, 1)))
def swapaxes_transpose(g, x, axis1, axis2):
    return np.swapaxes(g, axis1, axis2)

@linear("np.moveaxis", kind=same_as_first, result="view", options=Options(positional=3),
        samples=((MATRIX, 0, 1), (VECTOR.reshape(2, 3, 2), 0, 2), (VECTOR.reshape(2, 3, 2), -1, 0)))
def moveaxis_transpose(g, x, source, destination):
    return np.moveaxis(g, destination, source)

@linear("np.ravel", kind=flattened, result="view", methods=("ravel",), options=FORWARD_ANY,
        samples=((MATRIX,),))
def ravel_transpose(g, x):
    return np.reshape(g, x.shape)

# x.flatten() copies where np.ravel(x) may be a view: a later write into x must not reach it
@linear("np.ndarray.flatten", kind=flattened, result="new", methods=("flatten",), options=FORWARD_ANY,
        spelling="flatten", samples=((MATRIX,),))
def flatten_transpose(g, x):
    return np.reshape(g, x.shape)

@linear("np.reshape", kind=reshaped, result="view", methods=("reshape",), options=FORWARD_ANY, spelling="reshape",
        samples=((MATRIX, (-1,)), (VECTOR, (3, 4)), (VECTOR, 12)))
def reshape_transpose(g, x, shape):
    return reshape(g, x.shape)

@linear("srcgrad_runtime.stacked_rows", kind=same_as_first, result="new", options=Options(positional=2), spelling="stacked_rows",
        samples=((MATRIX, 1), (VECTOR.reshape(2, 3, 2), 2)))
def stacked_rows_transpose(g, x, axis):   # np.stack of a list kept as an array, along axis=
    return np.moveaxis(g, axis, 0)

@linear("np.copy", kind=same_as_first, result="new", methods=("copy",), options=FORWARD_ANY, shape_from="like", samples=((MATRIX,),))
def copy_transpose(g, x):
    return g

@linear("np.ascontiguousarray", kind=same_as_first, result="view", options=FORWARD_ANY, samples=((MATRIX,),))
def ascontiguousarray_transpose(g, x):   # the array itself when it is contiguous already
    return g

@linear("np.asarray", kind=as_array, result="view", options=FORWARD_ANY, samples=((MATRIX,), (0.5,)))
def asarray_transpose(g, x):   # the array itself; a number becomes a 0-d array
    return sum_to(g, x)

@linear("np.real", kind=broadcast, result="view", samples=((0.5,), (VECTOR,), (MATRIX,)))
def real_transpose(g, x):   # of a real array, the array itself: its tangent is dx itself, as writes into x reach it
    return g   # (srcgrad differentiates real values only)

@linear("np.cumsum", kind=flattened, result="new", methods=("cumsum",), options=FORWARD_ANY,
        samples=((VECTOR,), (MATRIX,)), along=cumsum_along)
def cumsum_transpose(g, x):
    return np.reshape(np.ascontiguousarray(np.cumsum(g[::-1])[::-1]), x.shape)   # np.cumsum flattens n-D arrays

@linear("np.where", linear_args=(1, 2), broadcasts=True, kind=where, result="new", samples=((VECTOR > 0.5, VECTOR, 0.5), (MATRIX > 0.5, 0.5, VECTOR[:4])))
def where_transpose(g, c, a, b):
    return np.where(c, g, 0.0), np.where(c, 0.0, g)

@linear("np.full", linear_args=(1,), broadcasts=True, kind=from_shape, result="new", options=FORWARD_ANY, shape_from="sizes",
        samples=(((3, 2), 1.5), (3, 0.5)))
def full_transpose(g, shape, value):
    return g   # summed back to the fill value's shape

@linear("np.full_like", linear_args=(1,), broadcasts=True, kind=same_as_first, result="new", options=FORWARD_ANY,
        shape_from="like", measures=(0,), samples=((MATRIX, 1.5),))
def full_like_transpose(g, x, value):
    return g

@linear("np.linspace", linear_args=(0, 1), kind=vector, result="new", options=FORWARD_ANY, samples=((0.0, 1.0, 5),))
def linspace_transpose(g, start, stop, num):
    return np.sum(g * np.linspace(1.0, 0.0, num)), np.sum(g * np.linspace(0.0, 1.0, num))

@linear("np.diag", kind=diagonal, result="view", methods=("diagonal",), spelling="diag", samples=((VECTOR,), (MATRIX,)))   # of a matrix: a view
def diag_transpose_(g, x):
    return diag_transpose(g, x)

@linear("np.diff", kind=same_as_first, result="new", samples=((VECTOR,), (MATRIX,)), repeated_by="n", ranks=((1, 2),))
def diff_transpose_(g, x):
    return diff_transpose(g, x)

@linear("np.flip", kind=same_as_first, result="view", samples=((VECTOR,), (MATRIX,)))
def flip_transpose(g, x):
    return np.flip(g)

@linear("np.roll", kind=same_as_first, result="new", samples=((VECTOR, 1), (MATRIX, -2)))
def roll_transpose(g, x, shift):
    return np.roll(g, -shift)

@linear("np.repeat", kind=vector, result="new", samples=((VECTOR, 2), (MATRIX, 3)))
def repeat_transpose_(g, x, repeats):
    return repeat_transpose(g, x, repeats)

@linear("np.expand_dims", kind=lambda args, call=None: K.array(K.ndim(args[0]) + 1) if K.ndim(args[0]) is not None
        else K.UNKNOWN, result="view", options=FORWARD_ANY, samples=((VECTOR, 0), (MATRIX, -1)))
def expand_dims_transpose(g, x, axis):
    return reshape(g, x.shape)

@linear("np.atleast_2d", kind=at_least(2), result="view", samples=((0.5,), (VECTOR,), (MATRIX,)))
def atleast_2d_transpose(g, x):
    return sum_to(g, x)

# (N,) becomes (1, N, 1): a trailing axis too, so the cotangent is reshaped back, not summed
@linear("np.atleast_3d", kind=at_least(3), result="view", spelling="atleast_3d",
        samples=((0.5,), (VECTOR,), (MATRIX,), (MATRIX[None],)))
def atleast_3d_transpose(g, x):
    return reshape_like(g, x)

# numba has no np.tile: generated code calls srcgrad_runtime's, for x of rank ≤ 2 and reps an int
# or a tuple of one or two ints
@linear("np.tile", kind=tiled, result="new", spelling="tile",
        samples=((VECTOR, 3), (MATRIX, 2), (MATRIX, (2, 3)), (VECTOR, (2, 2)), (0.5, 3)))
def tile_transpose_(g, x, reps):
    return tile_transpose(g, x, reps)

@linear("np.atleast_1d", kind=at_least_vector, result="view", spelling="atleast_1d", samples=((0.5,), (VECTOR,)))
def atleast_1d_transpose(g, x):
    return sum_to(g, x)

# ----- Products --------------------------------------------------------------------------

@bilinear("np.dot", "np.matmul", "op:@", kind=matmul, result="new", methods=("dot",), fuse="dot", ranks=((1, 2), (1, 2)),
          samples=((VECTOR, VECTOR), (MATRIX, VECTOR[:4]), (VECTOR[:3], MATRIX), (MATRIX.T, MATRIX)))
def matmul_transpose(g, a, b):
    return matmul_grad_left(g, a, b), matmul_grad_right(g, a, b)

@bilinear("np.kron", kind=broadcast, result="new", ranks=((1, 2), (1, 2)),
          samples=((VECTOR, VECTOR[:3]), (MATRIX, MATRIX[:2, :2]), (VECTOR[:2], MATRIX[:2, :3]), (MATRIX[:2, :2], VECTOR[:3])))
def kron_transpose(g, a, b):
    return kron_grad_left(g, a, b), kron_grad_right(g, a, b)

@bilinear("np.outer", kind=matrix, result="new", samples=((VECTOR, VECTOR), (MATRIX[:1], VECTOR), (0.5, VECTOR)))
def outer_transpose(g, a, b):   # np.outer flattens its arguments: a (1, n) row (25:4869:0), a number (913:66:0)
    return (reshape_like(np.dot(g, np.ravel(atleast_1d(b))), a),
            reshape_like(np.dot(np.ravel(atleast_1d(a)), g), b))

# ----- Selection: the derivative flows through the selected element -----------------------
# Over the whole array the element is found by argmax (one flat index); along an axis, one per
# line. Generated code calls srcgrad_runtime's largest/smallest/product, which numba compiles
# with an axis too.

def _axis_of(value):
    return results.keyword(value, "axis", 1)


def _selection(argfunc, pick_largest: bool):
    def forward(ctx, result, value, positions):
        x, axis = value.args[0], _axis_of(value)
        if axis is not None:
            picked = syntax.call("picked_along", syntax.clone(x), syntax.clone(axis), syntax.const(pick_largest))
            return False, syntax.call("take_along", ctx.tangent_of(x), picked, syntax.clone(axis))
        return False, syntax.call("take_flat", ctx.tangent_of(x), syntax.call(argfunc, syntax.clone(x)))

    def reverse(ctx, result, value, positions):
        x, axis = value.args[0], _axis_of(value)
        g = syntax.name(ctx.adjoint(result))
        if axis is not None:
            picked = syntax.call("picked_along", syntax.clone(x), syntax.clone(axis), syntax.const(pick_largest))
            return ctx.accumulate(x, syntax.call("put_along", g, picked, syntax.clone(axis), syntax.clone(x)))
        add = syntax.call("add_at_flat", syntax.name(ctx.adjoint(x.id)), syntax.call(argfunc, syntax.clone(x)), g)
        return [syntax.Expr(value=add)]
    return forward, reverse


structural("np.max", forward=_selection("np.argmax", True)[0], reverse=_selection("np.argmax", True)[1],
           kind=reduction, methods=("max",), spelling="largest", options=AXIS, samples=((VECTOR,), (MATRIX,), (MATRIX, 1)))
structural("np.min", forward=_selection("np.argmin", False)[0], reverse=_selection("np.argmin", False)[1],
           kind=reduction, methods=("min",), spelling="smallest", options=AXIS, samples=((VECTOR,), (MATRIX,), (MATRIX, 0)))
alias(np.amax, "np.max")   # the same reductions under their older names
alias(np.amin, "np.min")


def _others(x, axis):
    if axis is None:
        return syntax.call("prod_of_others", syntax.clone(x))
    return syntax.call("prod_of_others_along", syntax.clone(x), syntax.clone(axis))


def _prod_forward(ctx, result, value, positions):
    x, axis = value.args[0], _axis_of(value)
    change = syntax.binop(_others(x, axis), "*", ctx.tangent_of(x))
    return False, syntax.call("np.sum", change) if axis is None else _call_with_axis("np.sum", change, axis)


def _prod_reverse(ctx, result, value, positions):
    x, axis = value.args[0], _axis_of(value)
    g = syntax.name(ctx.adjoint(result))
    spread = g if axis is None else syntax.call("np.expand_dims", g, syntax.clone(axis))
    return ctx.accumulate(x, syntax.binop(_others(x, axis), "*", spread))


def _call_with_axis(function: str, value, axis):
    call = syntax.call(function, value)
    call.keywords = [gast.keyword(arg="axis", value=syntax.clone(axis))]
    return call


structural("np.prod", forward=_prod_forward, reverse=_prod_reverse, kind=reduction, methods=("prod",),
           spelling="product", options=AXIS, samples=((VECTOR,), (MATRIX,), (MATRIX, 1)))

# np.sort: the tangent and cotangent follow each element to where the sort put it
def _sort_forward(ctx, result, value, positions):
    x = value.args[0]
    return False, syntax.call("sorted_like", ctx.tangent_of(x), syntax.call("sort_order", syntax.clone(x)))


def _sort_reverse(ctx, result, value, positions):
    x = value.args[0]
    order = syntax.call("sort_order", syntax.clone(x))
    return ctx.accumulate(x, syntax.call("unsorted", syntax.name(ctx.adjoint(result)), order))


structural("np.sort", forward=_sort_forward, reverse=_sort_reverse, kind=same_as_first, result="new",
           samples=((VECTOR,), (MATRIX,)), ranks=((1, 2),))


# x.astype(float) copies (a derivative passes through); to int or bool it rounds (none does)
def _to_float(value) -> bool:
    return getattr(value, "srcgrad_to_float", False)   # decided by the resolve pass from the dtype


def _astype_forward(ctx, result, value, positions):
    if _to_float(value):
        return False, syntax.call("astype", ctx.tangent_of(value.args[0]), syntax.clone(value.args[1]))
    return True, syntax.call("zeros_like", syntax.name(result))


def _astype_reverse(ctx, result, value, positions):
    return ctx.accumulate(value.args[0], syntax.name(ctx.adjoint(result))) if _to_float(value) else []


def _astype_kind(args, call=None):
    rank = K.ndim(args[0]) if args else None
    if rank is None:
        return K.UNKNOWN
    if call is not None and _to_float(call):
        return K.array(rank) if rank else K.FLOAT
    return ("ia" + str(rank)) if rank else K.INT


structural("np.ndarray.astype", forward=_astype_forward, reverse=_astype_reverse, kind=_astype_kind, result="new",
           methods=("astype",), spelling="astype", options=Options(positional=2), samples=((VECTOR, int),))

# ----- Building arrays from pieces -------------------------------------------------------

def _pieces(value):
    return list(value.args[0].elts)


def _of_one_value(value) -> bool:
    """`np.array(x)`, `np.stack(t)`: one array (a copy) or one tuple variable, not a literal list."""
    return isinstance(value.args[0], syntax.Name)


def _build_forward(ctx, result, value, positions):
    if _of_one_value(value):
        sequence = ctx.tangent_of(value.args[0])
    else:
        sequence = type(value.args[0])(elts=[ctx.tangent_of(e) for e in _pieces(value)], ctx=syntax.gast.Load())
    call = syntax.call(syntax.clone(value.func), sequence, *[syntax.clone(a) for a in value.args[1:]])
    call.keywords = [syntax.clone(k) for k in value.keywords]
    return False, call


def _concatenate_reverse(ctx, result, value, positions):
    if _of_one_value(value):
        raise UnsupportedSyntaxError("`np.concatenate` of a variable in reverse mode", ctx.location(value),
                                     "Write the pieces in the call: `np.concatenate((a, b))`.")
    axis = results.keyword(value, "axis", 1)
    along = 0 if axis is None else getattr(axis, "value", None)
    if along not in (0, 1):
        raise UnsupportedSyntaxError("`np.concatenate` along an axis other than 0 or 1 in reverse mode", ctx.location(value),
                                     "Pass axis=0 or axis=1 as a written integer.")
    out, offset = [], syntax.const(0)
    g = syntax.name(ctx.adjoint(result))
    for piece in _pieces(value):
        length = syntax.subscript(syntax.Attribute(value=syntax.clone(piece), attr="shape", ctx=syntax.gast.Load()), syntax.const(along)) \
            if not isinstance(piece, syntax.Constant) else syntax.const(1)
        end = syntax.binop(syntax.clone(offset), "+", length) if not _is_zero(offset) else length
        if isinstance(piece, syntax.Name) and piece.id in ctx.active:
            part = syntax.Slice(lower=syntax.clone(offset), upper=syntax.clone(end), step=None)
            index = part if along == 0 else syntax.tuple_([syntax.Slice(lower=None, upper=None, step=None), part])
            out.extend(ctx.accumulate(piece, syntax.subscript(syntax.clone(g), index)))
        offset = end
    return out


def _stack_reverse(ctx, result, value, positions):
    out = []
    g = syntax.name(ctx.adjoint(result))
    axis = results.keyword(value, "axis", 1)
    along = 0 if axis is None else getattr(axis, "value", None)
    if not isinstance(along, int) or along < 0:
        raise UnsupportedSyntaxError("`np.stack` along an axis that is not a written integer ≥ 0 in reverse mode",
                                     ctx.location(value), "Pass axis= as a written integer, counted from the front.")
    if _of_one_value(value):   # a copy of an array, or a tuple variable's items in rows
        # along axis k, the pieces are the rows of the cotangent with that axis moved to the front
        return ctx.accumulate(value.args[0], g if not along else syntax.call("np.moveaxis", g, syntax.const(along), syntax.const(0)))
    for k, piece in enumerate(_pieces(value)):
        if isinstance(piece, syntax.Name) and piece.id in ctx.active:
            index = syntax.const(k) if not along else syntax.tuple_(
                [syntax.Slice(lower=None, upper=None, step=None)] * along + [syntax.const(k)])
            out.extend(ctx.accumulate(piece, syntax.subscript(syntax.clone(g), index)))
    return out


def _is_zero(node):
    return isinstance(node, syntax.Constant) and node.value == 0


structural("np.concatenate", forward=_build_forward, reverse=_concatenate_reverse, kind=joined, result="new",
           options=Options(positional=2, keywords=frozenset({"axis"}), forward_any=True),
           samples=(((VECTOR, VECTOR),), ((MATRIX, MATRIX),), ((MATRIX, MATRIX), 1)))


def _hstack(pieces: tuple):
    """np.hstack: vectors end to end, matrices side by side."""
    return ("np.concatenate", {}) if K.ndim(pieces[0]) == 1 else ("np.concatenate", {"axis": 1})


by_kind("np.hstack", choose=_hstack, kind=results.hstacked, result="new", samples=(((VECTOR, VECTOR),), ((MATRIX, MATRIX),)))
def _column_stack(pieces: tuple):
    """np.column_stack: vectors as the columns of a matrix, matrices side by side."""
    return ("np.stack", {"axis": 1}) if K.ndim(pieces[0]) == 1 else ("np.concatenate", {"axis": 1})


by_kind("np.column_stack", choose=_column_stack, kind=results.column_stacked, result="new",
        samples=(((VECTOR, VECTOR),), ((MATRIX, MATRIX),)))
structural("np.stack", forward=_build_forward, reverse=_stack_reverse, kind=stacked, result="new",
           options=Options(positional=2, keywords=frozenset({"axis"}), forward_any=True),
           samples=(((0.5, 1.5),), ((VECTOR, VECTOR),), ((VECTOR, VECTOR), 1)))
structural("np.array", forward=_build_forward, reverse=_stack_reverse, kind=stacked, result="new",
           options=FORWARD_ANY, samples=(((0.5, 1.5),), ((VECTOR, VECTOR),)))

# ----- Zero derivative: shapes, indices and constructors ---------------------------------

inactive("len", kind=int_scalar, measures=(0,), samples=((VECTOR,), ((1.0, 2.0),)))
inactive("np.argmax", kind=index_reduction, methods=("argmax",), samples=((VECTOR,), (MATRIX,)))
inactive("np.argmin", kind=index_reduction, methods=("argmin",), samples=((VECTOR,), (MATRIX,)))
inactive("range", kind=unknown)
inactive("np.shape", kind=unknown)
inactive("np.zeros", "np.ones", "np.empty", kind=from_shape, result="constant", shape_from="sizes", samples=((3,), ((3, 2),)))

inactive("np.zeros_like", "np.ones_like", "np.empty_like", kind=same_as_first, result="constant", shape_from="like", measures=(0,),
         samples=((VECTOR,), (MATRIX,)))
inactive("np.arange", kind=results.arange, result="constant", zero_derivative=False, samples=((0.0, 1.0, 0.25), (1, 7), (5,)))
inactive("np.eye", "np.identity", kind=matrix, result="constant", samples=((3,),))
inactive("np.isnan", "np.isfinite", kind=int_array_like, result="new", samples=((VECTOR,), (0.5,)))
inactive("np.any", "np.all", kind=python_bool)
# the builtins, of a generator (`if any(v > 2.0 for v in x):`, made a list): numba compiles numpy's
inactive("any", kind=python_bool, spelling="np.any")
inactive("all", kind=python_bool, spelling="np.all")
inactive("np.argsort", kind=int_array_like, result="new", samples=((VECTOR,),))
# where values would be inserted into a sorted array: integers, constant between the breakpoints
inactive("np.searchsorted", kind=insertion_points, result="new", samples=((VECTOR, 0.5), (VECTOR, MATRIX)))


# ----- Python lists of numbers or arrays, kept as arrays that grow -------------------------------

def _appended_forward(ctx, result, value, positions):
    items, item = value.args
    return False, syntax.call("appended", ctx.tangent_of(items), ctx.tangent_of(item))


def _appended_reverse(ctx, result, value, positions):
    items, item = value.args
    g = syntax.name(ctx.adjoint(result))
    length = syntax.subscript(gast.Attribute(value=syntax.clone(items), attr="shape", ctx=gast.Load()), syntax.const(0))
    return (ctx.accumulate(items, syntax.call("appended_head", g, syntax.clone(items)))
            + ctx.accumulate(item, syntax.subscript(syntax.clone(g), length)))


structural("srcgrad_runtime.appended", forward=_appended_forward, reverse=_appended_reverse, kind=results.appended_row,
           result="new", methods=("append",), spelling="appended", options=Options(positional=2),
           samples=((np.zeros(0), 0.5), (np.zeros((0, 0)), VECTOR), (VECTOR, 0.5)))
inactive("srcgrad_runtime.empty_list", kind=results.empty_list, result="constant")   # no samples: [] takes the kind of what is appended
