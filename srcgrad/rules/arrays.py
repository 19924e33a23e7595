"""Array primitives: reductions, reshaping, products, selection, construction.

Linear maps give their transpose beside them (forward mode applies the map itself to tangents).
Bilinear products give the transpose for each factor. Selections and sequence builders are small
forward/reverse generator pairs. `g` is the cotangent of the result, `ans` the result.
"""
import numpy as np

from .. import syntax
from .registry import bilinear, inactive, linear, structural

g = ans = 0.0  # only for linters: templates are parsed, never run
matmul_grad_left = matmul_grad_right = None  # srcgrad_runtime helpers the templates name

# ----- Linear maps: forward applies the map to the tangent; reverse applies its transpose -----

@linear("np.sum")
def sum_transpose(g, x):
    return g

@linear("np.mean")
def mean_transpose(g, x):
    return g / x.size

@linear("np.transpose")
def transpose_transpose(g, x):
    return np.transpose(g)

@linear("np.ravel")
def ravel_transpose(g, x):
    return np.reshape(g, x.shape)

@linear("np.reshape")
def reshape_transpose(g, x, shape):
    return np.reshape(np.ascontiguousarray(g), x.shape)

@linear("np.copy", "np.ascontiguousarray")
def copy_transpose(g, x):
    return g

@linear("np.cumsum")
def cumsum_transpose(g, x):
    return np.reshape(np.ascontiguousarray(np.cumsum(g[::-1])[::-1]), x.shape)   # np.cumsum flattens n-D arrays

@linear("np.where", linear_args=(1, 2), broadcasts=True)
def where_transpose(g, c, a, b):
    return np.where(c, g, 0.0), np.where(c, 0.0, g)

# ----- Products --------------------------------------------------------------------------

@bilinear("np.dot", "np.matmul", "op:@")
def matmul_transpose(g, a, b):
    return matmul_grad_left(g, a, b), matmul_grad_right(g, a, b)

@bilinear("np.outer")
def outer_transpose(g, a, b):
    return np.dot(g, b), np.dot(a, g)

# ----- Selection: the derivative flows through the selected element -----------------------

def _selection(argfunc):
    def forward(ctx, result, value, positions):
        x = value.args[0]
        return False, syntax.call("take_flat", ctx.tangent_of(x), syntax.call(argfunc, syntax.clone(x)))

    def reverse(ctx, result, value, positions):
        x = value.args[0]
        add = syntax.call("add_at_flat", syntax.name(ctx.adjoint(x.id)), syntax.call(argfunc, syntax.clone(x)),
                          syntax.name(ctx.adjoint(result)))
        return [syntax.Expr(value=add)]
    return forward, reverse


structural("np.max", forward=_selection("np.argmax")[0], reverse=_selection("np.argmax")[1])
structural("np.min", forward=_selection("np.argmin")[0], reverse=_selection("np.argmin")[1])


def _prod_forward(ctx, result, value, positions):
    x = value.args[0]
    return False, syntax.call("np.sum", syntax.binop(syntax.call("prod_of_others", syntax.clone(x)), "*", ctx.tangent_of(x)))


def _prod_reverse(ctx, result, value, positions):
    x = value.args[0]
    partial = syntax.call("prod_of_others", syntax.clone(x))
    return ctx.accumulate(x, syntax.binop(partial, "*", syntax.name(ctx.adjoint(result))))


structural("np.prod", forward=_prod_forward, reverse=_prod_reverse)

# ----- Building arrays from pieces -------------------------------------------------------

def _pieces(value):
    return list(value.args[0].elts)


def _build_forward(ctx, result, value, positions):
    sequence = type(value.args[0])(elts=[ctx.tangent_of(e) for e in _pieces(value)], ctx=syntax.gast.Load())
    call = syntax.call(syntax.clone(value.func), sequence, *[syntax.clone(a) for a in value.args[1:]])
    call.keywords = [syntax.clone(k) for k in value.keywords]
    return False, call


def _concatenate_reverse(ctx, result, value, positions):
    out, offset = [], syntax.const(0)
    g = syntax.name(ctx.adjoint(result))
    for piece in _pieces(value):
        length = syntax.subscript(syntax.Attribute(value=syntax.clone(piece), attr="shape", ctx=syntax.gast.Load()), syntax.const(0)) \
            if not isinstance(piece, syntax.Constant) else syntax.const(1)
        end = syntax.binop(syntax.clone(offset), "+", length) if not _is_zero(offset) else length
        if isinstance(piece, syntax.Name) and piece.id in ctx.active:
            out.extend(ctx.accumulate(piece, syntax.subscript(g, syntax.Slice(lower=syntax.clone(offset), upper=syntax.clone(end), step=None))))
        offset = end
    return out


def _stack_reverse(ctx, result, value, positions):
    out = []
    g = syntax.name(ctx.adjoint(result))
    for k, piece in enumerate(_pieces(value)):
        if isinstance(piece, syntax.Name) and piece.id in ctx.active:
            out.extend(ctx.accumulate(piece, syntax.subscript(g, syntax.const(k))))
    return out


def _is_zero(node):
    return isinstance(node, syntax.Constant) and node.value == 0


structural("np.concatenate", forward=_build_forward, reverse=_concatenate_reverse)
structural("np.stack", "np.array", forward=_build_forward, reverse=_stack_reverse)

# ----- Zero derivative: shapes, indices and constructors ---------------------------------

inactive("len", "range", "np.zeros", "np.ones", "np.empty", "np.zeros_like", "np.ones_like", "np.empty_like",
         "np.full", "np.arange", "np.linspace", "np.eye", "np.argmax", "np.argmin", "np.shape", "np.isnan",
         "np.isfinite", "np.any", "np.all", "np.argsort")
