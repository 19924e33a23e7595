"""Rules for the runtime helpers derivative code calls, so that a derivative can be differentiated again.

Forward-mode code is inside the differentiable subset: hvp and hessian run reverse mode over a
jvp, and derivative(derivative(f)) runs forward mode over one. The helpers it calls are either
another spelling of a registered primitive (`largest` is np.max), a linear map of a tangent
(`take_flat` picks the element an argmax found), or an index computation with no derivative.
"""
import srcgrad_runtime

from .registry import all_rules, inactive, linear, lookup, register
from .results import (MATRIX, SQUARE, VECTOR, float_scalar, index_along, int_array_like, int_scalar, python_bool,
                      same_as_first, taken_along)

# helpers written in differentiable Python: srcgrad reads their source like a user function's
READ_AS_PYTHON = frozenset({srcgrad_runtime.prod_of_others, srcgrad_runtime.sum_in_any_order,
                            srcgrad_runtime.matmul_grad_left, srcgrad_runtime.matmul_grad_right})

put_along = placed_flat = sum_to = unsorted = broadcast_like = None   # srcgrad_runtime helpers the templates name


def _helper_spellings() -> None:
    """A rule emitted as a runtime helper (np.max as `largest`) also covers calls of that helper."""
    for _, rule in all_rules():
        for spelling in (rule.spelling, rule.along_spelling):
            helper = getattr(srcgrad_runtime, spelling, None) if spelling else None
            if callable(helper) and lookup(helper) is None:
                register(helper, rule)


_helper_spellings()


@linear("srcgrad_runtime.take_flat", spelling="take_flat", kind=float_scalar, result="value", samples=((MATRIX, 5), (VECTOR, 2)))
def take_flat_transpose(g, x, k):
    return placed_flat(g, x, k)


@linear("srcgrad_runtime.take_along", spelling="take_along", kind=taken_along, result="new",
        samples=((MATRIX, srcgrad_runtime.picked_along(MATRIX, 1, True), 1),
                 (MATRIX, srcgrad_runtime.picked_along(MATRIX, 0, False), 0)))
def take_along_transpose(g, t, picked, axis):
    return put_along(g, picked, axis, t)


@linear("srcgrad_runtime.sorted_like", spelling="sorted_like", kind=same_as_first, result="new",
        samples=((VECTOR, srcgrad_runtime.sort_order(VECTOR[::-1])),))
def sorted_like_transpose(g, t, order):
    return unsorted(g, order)


@linear("srcgrad_runtime.broadcast_like", spelling="broadcast_like", kind=lambda args, call=None: args[1], result="new",
        samples=((0.5, VECTOR), (VECTOR[:4], MATRIX)))
def broadcast_like_transpose(g, t, y):
    return sum_to(g, t)


@linear("srcgrad_runtime.sum_to", spelling="sum_to", kind=lambda args, call=None: args[1], result="view",
        samples=((MATRIX, VECTOR[:4]), (VECTOR, 0.5), (VECTOR, VECTOR)))
def sum_to_transpose(g, t, x):
    return broadcast_like(g, t)


inactive("srcgrad_runtime.picked_along", spelling="picked_along", kind=index_along, result="new", samples=((MATRIX, 1, True),))
inactive("srcgrad_runtime.sort_order", spelling="sort_order", kind=int_array_like, result="new", samples=((VECTOR,), (SQUARE,)))
inactive("srcgrad_runtime.stop_gradient", spelling="stop_gradient", kind=same_as_first, result="new",
         samples=((VECTOR,), (0.5,)))   # srcgrad.stop_gradient: the user's way to say "a constant here"
inactive("srcgrad_runtime.zeros_like", spelling="zeros_like", kind=same_as_first, result="constant", samples=((VECTOR,), (0.5,)))

inactive("srcgrad_runtime.symmetric_eigen", spelling="symmetric_eigen", kind=lambda args, call=None: ("a1", "a2"),
         result="new", zero_derivative=False, samples=((SQUARE + SQUARE.T,),),
         advice="it is np.linalg.eigh inside eigh's own rule, which is differentiated once.")

# the schedule of a checkpointed loop (runtime/revolve.py): integer bookkeeping, no derivative
inactive("srcgrad_runtime.checkpoint_schedule", spelling="checkpoint_schedule", kind=lambda args, call=None: "ia1",
         result="new", samples=((100, 24, 24, 0, 4, 0),))
inactive("srcgrad_runtime.segment_start", spelling="segment_start", kind=int_scalar, result="value",
         samples=((srcgrad_runtime.checkpoint_schedule(100, 24, 24, 0, 4, 0), 3),))
inactive("srcgrad_runtime.kept_at", spelling="kept_at", kind=python_bool, result="value",
         samples=((srcgrad_runtime.checkpoint_schedule(100, 24, 24, 0, 4, 0), 0, 0),))
inactive("srcgrad_runtime.nbytes_of", spelling="nbytes_of", kind=int_scalar, result="value", samples=((VECTOR,), (0.5,)))
inactive("srcgrad_runtime.revolve_turn", spelling="revolve_turn", kind=python_bool, result="value",
         samples=((srcgrad_runtime.checkpoint_schedule(100, 24, 24, 0, 4, 0),),))
inactive("srcgrad_runtime.revolve_advances", spelling="revolve_advances", kind=python_bool, result="value",
         samples=((srcgrad_runtime.checkpoint_schedule(100, 24, 24, 0, 4, 0),),))
