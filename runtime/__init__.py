"""srcgrad_runtime: everything generated derivative code calls at run time, and nothing else.

Generated modules import only this package, numpy, math and numba. Every helper here runs both as
plain Python (backend="python") and inside numba-compiled code (backend="numba"), except the
`cuda_*` helpers, which the host-side Python of target="cuda" code calls to launch kernels.
"""
from . import backends  # noqa: F401  (first: its patches to numba must precede any compilation)
from .heap import keep_large_blocks
from .arrays import (UnequalLengths, add_at_flat, appended, appended_head, empty_list, astype, diag, largest, smallest, product, picked_along, take_along, put_along,
                     prod_of_others_along, atleast_1d, atleast_3d, reshape_like, tile, tile_transpose, diag_transpose, diff_transpose, kron_grad_left,
                     kron_grad_right, repeat_transpose, sort_order, sorted_like, unsorted, broadcast_like, clip, flatten, kept_slots, mean, sum_along, reshape, stacked_rows, matmul_grad_left, matmul_grad_right, placed_flat, prod_of_others, stop_gradient, scatter_add, sum_to, take_flat,
                     zeros_like)
from .backends import cuda_device_jit, cuda_kernel_jit, numba_jit, parallel_jit, python_jit
from .parallel import parallel_parts, prange
from .cuda import cuda_add_parts, cuda_empty, cuda_loop, cuda_part_count, cuda_parts, cuda_threads, cuda_zeros
from .linalg import cholesky_adjoint, cholesky_tangent, symmetric_eigen
from .special import digamma, erf, erfc, gammaln, sinc_slope, trigamma
from .directions import direction_buffer, direction_buffer_reused, directions_first, directions_last, may_be_nonzero, multiply_into, add_product_into, matmul_into, revive, seeded_directions, transposed_directions
from .tape import copy_into, filled_like, pushed_row, row_at, sum_in_any_order, zeroed, zeroed_from, zeroed_like
from .revolve import (ACTION, ADVANCE, ARGUMENT, SEGMENTS, SLOTS, UNTIL, checkpoint_schedule, kept_at, nbytes_of,
                      revolve_advances, revolve_turn, segment_start)

__all__ = ["UnequalLengths", "diag", "appended", "appended_head", "empty_list", "astype", "largest", "smallest", "product", "picked_along", "take_along", "put_along",
           "prod_of_others_along", "atleast_1d", "atleast_3d", "reshape_like", "tile", "tile_transpose", "diag_transpose", "diff_transpose", "kron_grad_left",
           "kron_grad_right", "repeat_transpose", "sort_order", "sorted_like", "unsorted", "mean", "sum_along", "reshape", "stacked_rows", "add_at_flat", "clip", "flatten", "kept_slots", "broadcast_like", "placed_flat", "prod_of_others", "stop_gradient", "scatter_add", "matmul_grad_left", "matmul_grad_right", "sum_to", "take_flat", "zeros_like",
           "parallel_parts", "prange", "cuda_loop", "cuda_threads", "cuda_zeros", "cuda_empty", "cuda_part_count", "cuda_parts", "cuda_add_parts", "numba_jit", "python_jit", "parallel_jit", "cuda_device_jit", "cuda_kernel_jit", "zeroed", "zeroed_like", "filled_like", "copy_into", "direction_buffer", "direction_buffer_reused", "directions_first", "directions_last", "may_be_nonzero", "multiply_into", "add_product_into", "matmul_into", "revive", "seeded_directions", "transposed_directions", "zeroed_from", "pushed_row", "row_at", "sum_in_any_order",
           "erf", "erfc", "gammaln", "digamma", "trigamma", "sinc_slope", "cholesky_tangent", "cholesky_adjoint", "symmetric_eigen",
           "ACTION", "ADVANCE", "ARGUMENT", "SEGMENTS", "SLOTS", "UNTIL", "checkpoint_schedule", "kept_at",
           "nbytes_of", "revolve_advances", "revolve_turn", "segment_start"]

keep_large_blocks()   # once per process, before any derivative allocates
