"""Every known wrong derivative and crash, in both modes on both backends, against finite
differences and the dot-product test; a few against hand-derived values too."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from srcgrad_runtime import UnequalLengths

from gradcheck import check_jvp, check_vjp, dot_product_test, numeric_jacobian

import regression_functions as rf
import srcgrad

RNG = np.random.default_rng(7)
M23, M33a, M33b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
V3 = np.array([0.3, -0.5, 0.9])

CASES = [
    (rf.element_read_again_after_subroutine, (V3,), 0),
    (rf.appended_copies_then_written, (0.7,), 0),
    (rf.fresh_arrays_bound_by_one_tuple, (0.7,), 0),
    (rf.remade_each_step_then_appended, (0.7,), 0),
    (rf.smoothed_forwards_then_backwards, (np.array([0.5, 0.7, 0.9, 0.2]), 0.3), (0, 1)),
    (rf.transpose_rescaled_in_loop, (RNG.standard_normal((4, 3)), RNG.standard_normal(4)), (0, 1)),
    (rf.copied_transpose_in_loop, (RNG.standard_normal((4, 3)),), 0),
    (rf.diagonal_then_written, (0.96, -0.52), (0, 1)),
    (rf.where_with_a_wider_condition, (0.56, M33a), (0, 1)),
    (rf.unpacked_into_a_list, (V3,), 0),
    (rf.keywords_to_a_called_helper, (V3,), 0),
    (rf.restored_from_the_tape, (np.array([[1.09, -0.58], [-0.08, -0.81], [1.1, -1.07], [0.9, -0.03]]),), 0),
    (rf.transpose_through_ufunc_in_while, (RNG.standard_normal((5, 3)), RNG.standard_normal(5)), (0, 1)),
    (rf.transpose_rebound_in_nested_loops, (M33a, V3), (0, 1)),
    (rf.grown_trajectory, (1.3,), 0),
    (rf.returns_a_filled_array_from_a_branch, (V3, 0.8), (0, 1)),
    (rf.vector_summed_along_its_axis, (V3, M33a), (0, 1)),
    (rf.written_after_a_loop_that_tapes_it, (np.array([0.3, -0.5, 0.9, 0.2]),), 0),
    (rf.row_sums_of_a_name_that_was_a_number, (0.7, V3), (0, 1)),
    (rf.elementwise_return_inside_a_loop, (M23[:, :2],), 0),
    (rf.number_then_array, (np.array([0.3, -0.5, 0.9, 0.2]), V3), (0, 1)),
    (rf.array_then_number, (V3,), 0),
    (rf.offset_then_field, (V3, M33a), (0, 1)),
    (rf.column_then_matrix_in_loop, (0.7, M33a), (0, 1)),
    (rf.number_then_array_after_early_return, (V3, 0.8), (0, 1)),
    (rf.parameter_reshaped, (np.linspace(-1.0, 1.0, 6), V3), (0, 1)),
    (rf.rebound_with_another_rank_in_loop_body, (V3, M33a), (0, 1)),
    (rf.flag_tested_before_it_is_set_again, (V3, M33a), (0, 1)),
    (rf.flag_tested_inside_a_branch, (V3, M33a), (0, 1)),
    (rf.transpose_bound_inside_nested_loop, (M33a, V3), (0, 1)),
    (rf.shrunk_by_differences, (np.array([0.3, 0.5, 0.9, 1.1]),), 0),
    (rf.work_name_reused, (V3, M33a), (0, 1)),
    (rf.sliced_to_itself, (M33a,), 0),
    (rf.last_of_shrinking_temporary, (V3,), 0),
    (rf.gather_repeated, (np.array([0.3, -0.5, 0.9, 0.2]),), 0),
    (rf.gather_rows_repeated, (M33a, np.array([2, 0, 2, 2])), 0),
    (rf.gather_column_in_loop, (M33a, np.array([1, 1, 0])), 0),
    (rf.gather_masked, (np.array([0.3, -0.5, 0.9, 0.2]),), 0),
    (rf.scatter_repeated, (np.array([0.3, -0.5, 0.9, 0.2]), V3), (0, 1)),
    (rf.scalar_into_repeated_slots, (np.array([0.3, -0.5, 0.9, 0.2]), V3), (0, 1)),
    (rf.subroutine_updates_in_place, (V3,), 0),
    (rf.flatten_then_written, (0.7,), 0),
    (rf.shifted_in_place, (np.array([0.3, -0.5, 0.9, 0.2]),), 0),
    (rf.array_of_a_tuple_variable, (0.7,), 0),
    (rf.scatter_added_in_loop, (np.array([0.3, -0.5, 0.9, 0.2]), V3), (0, 1)),
    (rf.slice_assigned_to_itself, (np.linspace(-1.0, 1.0, 8),), 0),
    (rf.rebound_in_branch_after_nonlinear, (2, M23), 1),
    (rf.rebound_in_branch_after_nonlinear, (0, M33a), 1),
    (rf.rebound_then_filled_in_while, (np.array([-1.18, -1.07, 1.15, 0.21]),), 0),
    (rf.rebound_then_filled_and_read_nested, (V3,), 0),
    (rf.prints_and_asserts, (V3,), 0),
    (rf.lgamma_constant, (V3, 5), 0),
    (rf.lgamma_of_input, (1.5,), 0),
    (rf.overwritten_after_array_read, (V3[:2],), 0),
    (rf.dot_derived, (V3,), 0),
    (rf.dot_method, (V3,), 0),
    (rf.transposed_product, (M33a, M33b), (0, 1)),
    (rf.transposed_scaled, (M23, RNG.standard_normal((3, 2))), (0, 1)),
    (rf.transposed_sum, (M33a, M33b), (0, 1)),
    (rf.unpack_one, (V3,), 0),
    (rf.index_call, (V3,), 0),
    (rf.tuple_kept, (V3,), 0),
    (rf.prod_over_zero, (np.array([1.0, 0.0, 2.0, 3.0]),), 0),
    (rf.prod_over_zero, (np.array([1.5, 0.0, 2.0, 0.0]),), 0),
    (rf.prod_unused, (np.array([1.0, 0.0, 2.0, 3.0]),), 0),
    (rf.prod_unread, (np.array([1.0, 0.0, 2.0, 3.0]),), 0),
    (rf.cumsum_matrix, (M23,), 0),
    (rf.max_of_transpose, (M23,), 0),
    (rf.max_method_of_transpose, (M23,), 0),
    (rf.broadcast_up, (V3,), 0),
    (rf.broadcast_up_read, (V3,), 0),
    (rf.early_constant_return, (0.7,), 0),
    (rf.early_constant_return, (-0.7,), 0),
    (rf.conditional_write_in_loop, (V3,), 0),
    (rf.concatenate_matrices, (M23,), 0),
    (rf.inactive_elementwise, (V3, 0.5), 1),
    (rf.active_in_branch, (V3, 0.5), (0, 1)),
    (rf.helper_in_condition, (0.7,), 0),
    (rf.where_scalar, (V3, 0.5), (0, 1)),
    (rf.identity_written, (V3,), 0),
    (rf.reshape_argument, (np.asfortranarray(M23),), 0),
    (rf.enumerate_loop, (V3,), 0),
    (rf.special_functions_of_columns, (np.arange(12.0).reshape(4, 3) * 0.21 - 1.0,), 0),
    (rf.cross_of_rows, (np.arange(12.0).reshape(4, 3) * 0.3 - 1.1, np.cos(np.arange(12.0)).reshape(4, 3)), (0, 1)),
    (rf.zipped_pairs, (np.array([0.7, -0.1, 0.4, 0.2]), V3), (0, 1)),
    (rf.zipped_rows_and_weights, (RNG.standard_normal((4, 3)), np.array([0.3, -0.5, 0.9, 0.2])), (0, 1)),
    (rf.tuple_return_after_break, (V3,), 0),
    (rf.clip_float, (0.5,), 0),
    (rf.clip_float, (1.5,), 0),
    (rf.filled_from_input, (0.13,), 0),
    (rf.return_arrays_from_loop, (0.5, 4), 0),
    (rf.return_arrays_from_loop, (6.5, 4), 0),
    (rf.overwrite_in_elementwise_run, (V3,), 0),
    (rf.chained_index_write, (RNG.standard_normal((4, 4)),), 0),
    (rf.chained_assignment, (V3,), 0),
    (rf.name_reused_by_run, (0.5, M33a, M33b), (0, 1, 2)),
    (rf.parameter_becomes_active, (V3 + 1.0, 1.5), 0),
    (rf.lists_of_arrays, (V3,), 0),
    (rf.rows_of_rebound_array, (V3,), 0),
    (rf.slice_of_slice, (np.array([1.28, 0.91, -0.08, -0.16]),), 0),
    (rf.rebound_and_written_in_while, (RNG.standard_normal((3, 2)) * 0.3,), 0),
    (rf.transpose_read_after_restore, (np.array([0.89, 0.08, 0.55]),), 0),
    (rf.trajectory_rows, (V3,), 0),
    (rf.interior_slices, (np.linspace(0.1, 1.0, 6), 0.2), (0, 1)),
    (rf.unpack_rows_of_a_reshape, (np.array([0.3, -0.5, 0.9, 0.2]), 0.7), (0, 1)),
    (rf.rows_rebound_inside_nested_loop, (M23, M33a), (0, 1)),
    (rf.literal_pieces_concatenated, (V3, M23), (0, 1)),
    (rf.vstack_of_matrix_and_vector, (0.5,), 0),   # refused until np.vstack took a vector as a row, as NumPy does
    (rf.validated_inputs, (V3, 3), 0),
    (rf.read_then_filled_with_constants, (RNG.standard_normal((3, 4)),), 0),
    (rf.dead_branch_of_an_aliased_name, (0.5,), 0),
    (rf.dead_branch_of_an_aliased_name, (-1.0,), 0),
    (rf.outer_of_a_row, (np.arange(12.0).reshape(3, 4) / 7.0, np.array([0.3, -0.2, 0.5])), (0, 1)),
    (rf.outer_of_a_number, (0.7, V3), (0, 1)),
    (rf.through_asarray, (V3,), 0),
    (rf.list_items_rewritten, (V3, np.array([0.4, 1.1, -0.6])), (0, 1)),
    (rf.second_name_from_a_branch_then_written, (-0.83, -0.37), (0, 1)),   # the second name
    (rf.second_name_from_a_branch_then_written, (-0.83, 0.9), (0, 1)),    # the reversed copy
    (rf.written_under_a_false_global_flag, (np.array([0.3, -0.5, 0.9, 0.2]),), 0),
    (rf.taped_under_a_local_constant_test, (M33a,), 0),
    (rf.branch_on_a_global_number, (np.array([0.3, -0.5, 0.9, 0.2]),), 0),
    (rf.flag_bound_twice, (np.array([0.3, -0.5, 0.9]), 0.4), (0, 1)),
    (rf.flag_bound_twice, (np.array([0.3, -0.5, 0.9]), -0.4), (0, 1)),
    (rf.heat_steps_through_a_work_array, (np.linspace(0.1, 1.0, 7), 0.2), (0, 1)),
    (rf.stencil_slice_and_boundary_element, (np.linspace(0.1, 1.0, 7), 0.2), (0, 1)),
    (rf.stencil_in_place_with_a_boundary, (np.linspace(0.1, 1.0, 7), 0.2), (0, 1)),
    (rf.swapped_then_the_other_updated, (V3,), 0),
    (rf.rows_of_a_work_matrix, (np.array([0.3, -0.5, 0.9, 0.2]), RNG.standard_normal((3, 4))), (0, 1)),
    (rf.whole_array_through_ellipsis, (V3,), 0),
    (rf.zero_d_accumulator, (V3,), 0),
    (rf.integer_index_array, (np.linspace(-0.5, 1.0, 6), V3), (0, 1)),
    (rf.new_grid_each_step, (np.array([0.3, -0.5, 0.9, 0.2, 0.6]), 0.1), (0, 1)),
    (rf.sum_of_a_list_of_numbers, (V3,), 0),
    (rf.largest_of_a_list, (V3,), 0),
    (rf.largest_of_a_list, (np.array([-0.4, 0.25, 0.1]),), 0),   # other elements largest
    (rf.tuple_of_weights, (V3,), 0),
    (rf.pooled_along_the_last_axis, (RNG.standard_normal((2, 6)),), 0),
    (rf.copy_of_the_grid_each_step, (V3,), 0),
    (rf.running_sums_along_axes, (RNG.standard_normal(12),), 0),
    (rf.builtin_bounds_of_a_vector, (np.array([0.25, 1.2, -0.7, 0.05]),), 0),
    (rf.numpy_largest_of_a_list, (V3,), 0),
    (rf.helper_tested_on_gathered_elements, (np.array([0.3, -0.5, 0.9, 0.2]), 0.4), (0, 1)),
    (rf.series_left_over_before_its_name_is_reused, (np.array([1.28, 0.16, -0.73, -0.165]),), 0),
    (rf.loops_over_computed_arrays, (np.array([1.28, 0.16, -0.73, -0.165]),), 0),
    (rf.reductions_over_several_axes, (np.array([0.3, -0.5, 0.9, 0.2]),), 0),
    (rf.sums_and_maps_by_comprehension, (np.array([0.3, -0.5, 0.9]), np.array([1.0, 2.0, 0.5])), (0, 1)),
    (rf.regimes_switched_on_in_turn, (0.8, 0.3), (0, 1)),
    (rf.regimes_switched_on_in_turn, (0.8, 0.9), (0, 1)),
    (rf.regimes_switched_on_in_turn, (0.4, 0.1), (0, 1)),
    (rf.sponge_layer_by_mask, (np.array([0.1, 0.5, 0.9, 0.4, 0.7, 0.2, 0.8]), 0.8), (0, 1)),
    (rf.batched_oscillators_by_ellipsis, (np.array([1.0, 2.0, 0.5]), np.array([0.3, -0.2, 0.5])), (0, 1)),
    (rf.periodic_diffusion_by_roll, (RNG.standard_normal((4, 5)), 0.1), (0, 1)),
    (rf.diagonal_by_method, (RNG.standard_normal((3, 3)),), 0),
    (rf.backward_recursion_by_reversed_range, (np.array([0.3, -0.5, 0.9, 0.2]), 0.7), (0, 1)),
    (rf.branch_temporaries_in_an_unrolled_loop, (np.array([0.3, -0.5, 0.9]),), 0),
    (rf.branch_temporaries_in_an_unrolled_loop, (np.array([0.9, -0.5, 0.4]),), 0),
    (rf.calls_a_tuple_looping_helper, (np.array([0.3, -0.5, 0.9]),), 0),
    (rf.largest_of_a_list_of_values_known_late, (np.array([0.38, 0.26, -1.07, -0.68]),), 0),
    (rf.intercept_column_by_column_stack, (RNG.standard_normal(3), RNG.standard_normal((5, 2)), RNG.standard_normal(5)), (0, 1)),
]
# forward mode follows numpy's views; reverse mode refuses what it cannot restore faithfully
FORWARD_ONLY = [(rf.write_while_viewed, "while `r`, which shares its memory"),
                (rf.einsum_transpose_then_written, "while `t`, which shares its memory"),
                (rf.diagonal_then_matrix_written, "while `[de]`, which shares its memory"),
                (rf.reversed_while_another_name_keeps_it, r"a write into `y`, bound to a view of its own array at line \d+, while another name"),
                (rf.write_into_row, "shares memory with the array `A`"),
                (rf.returned_alias_written, "while `t`, which shares its memory"),
                (rf.transpose_then_written, "while `t`, which shares its memory"),
                (rf.written_through_a_name_a_helper_returned, "while `w`, which shares its memory"),
                (rf.written_while_a_tuple_holds_it, "while `pair`, which shares its memory"),
                (rf.view_of_this_steps_copy, "while `O`, which shares its memory"),
                (rf.real_part_of_a_view_written_later, "while `t`, which shares its memory"),
                (rf.reshaped_view_written_later, "while `t`, which shares its memory"),
                (rf.rows_still_to_come_written, r"while the loop `for r in w\[::-1\]` iterates over its memory")]
REFUSED = [(rf.arange_of_input, (0.5,), "np.arange` with an argument that depends"),
           (rf.arange_scaled_by_input, (0.5,), "np.arange` with an argument that depends"),
           (rf.gamma_of_input, (1.5,), r"register_elementwise\(math.gamma"),
           (rf.length_one_broadcast, (0.5,), "different lengths"),
           (rf.length_one_view_broadcast, (0.5,), "different lengths"),
           (rf.row_into_column, (0.5,), "of a view of `w` taken along other axes"),
           (rf.view_updated_in_place, (0.5,), "augmented assignment to the array `row` while `w` shares"),
           (rf.squeezed_view_updated_in_place, (0.5,), "augmented assignment to the array `w` while `t, "),
           (rf.helper_returns_its_argument_then_updated, (0.5,), "augmented assignment to the array `w` while `kept` shares"),
           (rf.tuple_holds_an_array_then_updated, (0.5,), "augmented assignment to the array `w` while `pair[`,]"),
           (rf.unpacked_from_a_tuple_then_updated, (0.5,), "augmented assignment to the array `w` while `first[`,]"),
           (rf.views_returned_by_a_helper_then_updated, (0.5,), "augmented assignment to the array `state` while `pos"),
           (rf.raises_own_exception, (0.5,), r"(?s)regression_functions.py:\d+.*not a built-in one"),
           (rf.number_stored_into_a_list_of_arrays, (0.5,), r"(?s)regression_functions.py:\d+.*storing a number into a list whose items are arrays"),
           (rf.longer_array_stored_into_a_list, (0.5,), "storing an array into a list whose items have other lengths"),
           (rf.length_one_array_stored_into_a_list, (0.5,), "storing an array into a list whose items have other lengths"),
           (rf.trace_of_a_stack, (0.5,), r"(?s)regression_functions.py:\d+.*`np.trace` of a 3-D array.*for matrices"),
           (rf.lower_triangle_of_a_vector, (0.5,), r"(?s)`np.tril` of a vector \(1-D array\)"),
           (rf.second_name_updated_in_place, (0.5,), "augmented assignment to the array `w` while `v` shares"),
           (rf.rows_scaled_while_iterated, (0.5,), "augmented assignment to the array `w` while the loop `for r in w` iterates"),
           (rf.histogram_by_bincount, (0.5,), "`np.bincount` with an argument that depends on the differentiated input"),
           (rf.diagonal_filled_in_place, (0.5,), r"(?s)regression_functions.py:\d+.*`np.fill_diagonal`, which writes into its array in place.*K\[i, i\] = c"),
           (rf.scattered_by_add_at, (0.5,), r"(?s)regression_functions.py:\d+.*`np.add.at`, numpy's in-place scatter.*for k in range"),
           (rf.comprehension_in_a_while_test, (0.5,), r"(?s)regression_functions.py:\d+.*a list comprehension"),
           (rf.axes_of_both_signs, (0.5,), r"(?s)regression_functions.py:\d+.*a tuple of axes that are not distinct written integers of one sign"),
           (rf.written_after_a_list_took_it, (0.5,), r"(?s)regression_functions.py:\d+.*a change to the array `x` after the list `history` \(line \d+\) took it.*history.append\(x.copy\(\)\)"),
           (rf.written_after_appending_it, (0.5,), r"(?s)regression_functions.py:\d+.*a change to the array `x` after the list `history` \(line \d+\) took it"),
           (rf.updated_after_appending_it, (0.5,), r"(?s)regression_functions.py:\d+.*a change to the array `x` after the list `history` \(line \d+\) took it"),
           (rf.trajectory_kept_by_reference, (0.5,), r"(?s)regression_functions.py:\d+.*a change to the array `x` after the list `hist`"),
           (rf.stored_into_a_list_then_written, (0.5,), r"(?s)regression_functions.py:\d+.*a change to the array `x` after the list `hist`"),
           (rf.written_after_a_comprehension_took_it, (0.5,), r"(?s)regression_functions.py:\d+.*a change to the array `x` after the list")]
IDS = [f"{fn.__name__}-{k}" for k, (fn, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("fn,args,wrt", CASES, ids=IDS)
def test_forward_reverse_and_dot_product(fn, args, wrt, backend):
    check_jvp(fn, args, wrt, backend)
    check_vjp(fn, args, wrt, backend)
    dot_product_test(fn, args, wrt, backend)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_hand_derived_values(backend):
    grad = lambda f, *args: srcgrad.grad(f, backend=backend)(*args)  # noqa: E731
    np.testing.assert_allclose(grad(rf.unpack_one, np.array([1.0, 2.0, 3.0])), [8.0, 16.0, 24.0])
    np.testing.assert_allclose(grad(rf.gather_repeated, np.array([1.0, 2.0, 3.0, 4.0])), [2.0, 0.0, 12.0, 8.0])
    np.testing.assert_allclose(grad(rf.prod_over_zero, np.array([1.0, 0.0, 2.0, 3.0])), [0.0, 6.0, 0.0, 0.0])
    np.testing.assert_allclose(grad(rf.prod_unread, np.array([1.0, 0.0, 2.0, 3.0])), [2.0, 0.0, 4.0, 6.0])
    x = np.array([0.2, 0.4, 1.1])
    np.testing.assert_allclose(grad(rf.dot_derived, x), np.sin(x) + x * np.cos(x))
    A = np.array([[1.0, 5.0, 2.0], [0.5, 3.0, -1.0]])
    np.testing.assert_allclose(grad(rf.max_of_transpose, A), [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert grad(rf.early_constant_return, -1.0) == 0.0
    # at (0, 0, 0): sinc's slopes 0, the product (x0 + 1) x1 (x2 + 0.5)'s gradient (0, 0.5, 0)
    np.testing.assert_allclose(grad(rf.sinc_and_cumprod, np.zeros(3)), [0.0, 0.5, 0.0], atol=1e-15)
    # at (0, 0.5, 0): sinc's slope at 1/2 is -4/pi; the product's gradient (0.25, 0.5, 0.5)
    np.testing.assert_allclose(grad(rf.sinc_and_cumprod, np.array([0.0, 0.5, 0.0])),
                               [0.25, 0.5 - 4.0 / np.pi, 0.5], rtol=1e-14)


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("fn,message", FORWARD_ONLY, ids=[f.__name__ for f, _ in FORWARD_ONLY])
def test_writes_through_views(fn, message, backend):
    check_jvp(fn, (V3,), 0, backend)
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match=message):
        srcgrad.vjp(fn, backend=backend)(V3, np.ones_like(fn(V3)))


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("fn,args,message", REFUSED, ids=[f.__name__ for f, _, _ in REFUSED])
def test_refused_with_a_clear_error(fn, args, message, backend):
    for make in (srcgrad.grad, srcgrad.derivative):
        with pytest.raises(srcgrad.UnsupportedSyntaxError, match=message):
            make(fn, backend=backend)(*args)


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("api", ["grad", "jvp", "vjp"])
def test_derivative_raises_what_the_function_raises(api, backend):
    g = getattr(srcgrad, api)(rf.validated_inputs, backend=backend)
    extra = {"grad": (), "jvp": (V3,), "vjp": (1.0,)}[api]
    for x, n, message in ((V3, 4, "n is longer"), (np.array([0.3, -20.0, 0.1]), 3, "too small")):
        with pytest.raises(ValueError, match=message):
            g(x, n, *extra)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_in_place_update_of_a_viewed_array_is_refused_in_both_modes(backend):
    x = V3[:2]
    message = r"augmented assignment to the array `w` while the loop `for i, r in enumerate\(w\)` iterates over its memory"
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match=message):
        srcgrad.grad(rf.update_while_rows_viewed, backend=backend)(x)
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match=message):
        srcgrad.jvp(rf.update_while_rows_viewed, backend=backend)(x, x)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_name_rebound_with_another_rank(backend):
    """31:583:0 on the python backend. On numba, the adjoint buffer a vector's adjoint left was
    reused for the matrix the name holds next: the helpers that reuse it (zeroed_like, filled_like,
    zeroed_from) returned that buffer on one path and new zeros of the other rank on the other,
    which numba cannot type (a CompilationError; fuzz 928:80:0). They now make new zeros whenever
    the ranks differ, which numba decides when it compiles."""
    check_vjp(rf.rebound_to_a_matrix_then_min, (-0.42,), 0, backend=backend)
    check_jvp(rf.rebound_to_a_matrix_then_min, (-0.42,), 0, backend=backend)
    check_vjp(rf.matrix_rebound_to_a_row, (np.arange(12.0).reshape(4, 3) / 7.0 - 0.5, 2), 0, backend=backend)


@pytest.mark.parametrize("b", [-1.17, 2.5], ids=["number", "array"])
def test_a_result_that_is_an_array_on_one_path_and_a_number_on_the_other(b):
    """Python backend only: numba types one return type per function."""
    check_vjp(rf.array_or_number_from_two_returns, (-1.22, b), 0, "python")


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_float_argument_the_callee_updates_stays_the_callers(backend):
    x = np.array([0.4, -0.3, -0.0179])
    value, _ = srcgrad.value_and_grad(rf.float_argument_updated_by_callee, backend=backend)(x)
    assert value == pytest.approx(rf.float_argument_updated_by_callee(x), rel=1e-14)
    check_vjp(rf.float_argument_updated_by_callee, (x,), 0, backend=backend)
    check_jvp(rf.float_argument_updated_by_callee, (x,), 0, backend=backend)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_jacfwd_through_a_user_call_whose_result_is_unused(backend):
    A = np.array([[-1.17, 0.94, 1.19, -0.31], [0.47, 0.19, 1.07, -0.54]])
    B = np.array([[-0.84, -0.23, -1.10, -1.01], [0.45, -0.45, 0.92, 0.08]])
    check_jvp(rf.unused_user_call_result, (-0.15, A, B), (0, 2), backend=backend)
    J_a, J_B = srcgrad.jacfwd(rf.unused_user_call_result, wrt=(0, 2), backend=backend)(-0.15, A, B)
    assert J_a.shape == (8,) and J_B.shape == (8, 2, 4)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_an_array_updated_after_its_real_part_was_read(backend):
    A = np.array([[1.41, 0.099], [-0.139, -0.626], [-0.190, 0.0994]])
    check_vjp(rf.updated_after_a_real_part, (4, A), 1, backend=backend)
    check_jvp(rf.updated_after_a_real_part, (4, A), 1, backend=backend)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_grad_of_a_function_returning_a_0d_array(backend):
    x = np.array([0.3, -0.5, 0.9])
    want = 1.5 * (np.cos(x) * x + np.sin(x))
    np.testing.assert_allclose(srcgrad.grad(rf.returns_a_0d_array, backend=backend)(x), want, rtol=1e-12)
    value, grad = srcgrad.value_and_grad(rf.returns_a_0d_array, backend=backend)(x)
    np.testing.assert_allclose(value, rf.returns_a_0d_array(x), rtol=1e-12)
    np.testing.assert_allclose(grad, want, rtol=1e-12)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_a_derivative_made_after_a_flag_changes_follows_it(backend, monkeypatch):
    """Flags and numbers folded into the code are read again: a derivative made after the module
    changes DEBUG or SMOOTHING_STEPS takes the other branch (it kept the first one's before; a
    derivative made earlier keeps its code, as a function numba compiled keeps its globals)."""
    x = np.array([0.3, -0.5, 0.9, 0.2])
    by_hand = {False: np.sin(x) + x * np.cos(x), True: np.sin(0.5 * x) + 0.5 * x * np.cos(0.5 * x)}
    for fn, name, values in ((rf.written_under_a_false_global_flag, "DEBUG", (False, True, False)),
                             (rf.branch_on_a_global_number, "SMOOTHING_STEPS", (3, 9, 3, 2))):
        for value in values:
            monkeypatch.setattr(rf, name, value)
            gradient = srcgrad.grad(fn, backend=backend)(x)
            np.testing.assert_allclose(gradient, numeric_jacobian(fn, (x,), 0).ravel(), rtol=1e-6, atol=1e-8)
            if name == "DEBUG":
                np.testing.assert_allclose(gradient, by_hand[value], rtol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("fn, args, wrt", [
    (rf.stencil_and_boundary_in_a_while_loop, (0.5,), 0),
    (rf.heat_until_settled, (np.array([1.0, 0.2, -0.4, 0.9, 0.3, -0.6, 0.5]), 0.21), (0, 1)),
    (rf.relaxation_sweeps_with_an_early_stop, (np.array([0.9, -0.5, 0.7, 0.4, -0.8, 0.6]), 0.7), (0, 1)),
], ids=["while", "while-until-settled", "break-inside-a-range"])
def test_mixed_index_shapes_in_a_loop_of_unknown_trip_count(fn, args, wrt, backend):
    """A while loop, or a loop with a break, that writes a slice and an element of one array each
    iteration (a stencil beside its boundary) keeps a copy of the array per iteration on a list:
    refused before, no trip count sizing the tape."""
    check_vjp(fn, args, wrt, backend=backend)
    check_jvp(fn, args, wrt, backend=backend)
    if fn is rf.relaxation_sweeps_with_an_early_stop:
        gradient = srcgrad.grad(fn, wrt=wrt, backend=backend)
        gradient(*args)
        assert "_snapshots.append(u.copy())" in gradient.source


LENGTH_CHECK = """
import numpy as np, srcgrad, srcgrad_runtime, regression_functions as rf
try:
    srcgrad.grad(rf.rk2_steps_of_a_state, backend="numba")(np.ones(10**7), np.ones(3), 2)
except srcgrad_runtime.UnequalLengths as error:
    print("refused:", error)
"""


@pytest.mark.slow
def test_a_fused_stage_checks_its_lengths_before_reading():
    """A stage `y + h / 2.0 * k1` that scalarize fuses into one element loop over k1's length
    read a shorter y past its end in the forward sweep (the check ran only in the reverse sweep's
    replay): an IndexError on backend="python", a segmentation fault on numba. The forward sweep
    checks; the replay, reading the same lengths, does not check again."""
    x, y = np.linspace(0.1, 0.9, 6), np.array([0.4, -0.3, 0.8])
    with pytest.raises(UnequalLengths):
        srcgrad.grad(rf.rk2_steps_of_a_state, backend="python")(x, y, 2)
    run = subprocess.run([sys.executable, "-c", LENGTH_CHECK], capture_output=True, text=True,
                         cwd=Path(__file__).parent, env=dict(os.environ, PYTHONPATH=str(Path(__file__).parent)))
    assert run.returncode == 0 and "refused: operands could not be broadcast together" in run.stdout, run.stderr
    x, y = np.linspace(0.1, 0.9, 6), np.linspace(0.2, -0.3, 6)
    check_vjp(rf.rk2_steps_of_a_state, (x, y, 3), (0, 1), backend="numba")


def test_arrays_written_into_views_on_numba():
    """Rows and slices written from arrays (`S[i] = h`, `S[i, 1:] += v`, `T[0] = S[n - 1]`) and a
    whole array through `...`, on numba: derivatives against finite differences and reverse against
    forward mode. The generated code writes an array into a view with `copy_into` or an in-place
    update of the view (transform/slice_updates.py): numba's own slice assignment of an array
    compiles a shape-mismatch message costing 1.2-1.8 s per rank in each process. `T[...]` and a
    0-d accumulator's `acc[...]` were InternalErrors on numba (it reads no `a[...]`), and so was
    indexing with `np.array([0, 2, 4]) + 1` (computed as floats); an array times a tuple did not
    compile; np.max along an axis of a 3-D array had a wrong gradient on numba."""
    x, W = np.array([0.3, -0.5, 0.9, 0.2]), RNG.standard_normal((3, 4))
    for fn, args, wrt in ((rf.rows_of_a_work_matrix, (x, W), (0, 1)), (rf.whole_array_through_ellipsis, (V3,), 0),
                          (rf.zero_d_accumulator, (V3,), 0), (rf.integer_index_array, (np.linspace(-0.5, 1.0, 6), V3), (0, 1)),
                          (rf.tuple_of_weights, (V3,), 0), (rf.pooled_along_the_last_axis, (RNG.standard_normal((2, 6)),), 0)):
        check_jvp(fn, args, wrt, backend="numba")
        check_vjp(fn, args, wrt, backend="numba")
        dot_product_test(fn, args, wrt, backend="numba")
    g = srcgrad.grad(rf.rows_of_a_work_matrix, wrt=(0, 1), backend="numba")
    g(x, W)
    assert "copy_into(S[i], " in g.source and "copy_into(T[0], " in g.source
    assert not re.search(r"^\s*S_bar\[i\] \+= ", g.source, re.M) and "S_bar_part" in g.source


MATRIX_COPY_BESIDE_CONSTANT_LISTS = """
import numpy as np, numba
from srcgrad_runtime import copy_into

@numba.njit
def stacked(x, y):
    out = np.empty((3, 4, 4))
    for k in range(3):
        copy_into(out[k], np.outer(x, x))
    steps = 0
    while steps < 2 and y[np.array([-1, -1])] @ x[2:] >= 0.25:   # the test is compiled twice
        steps += 1
    return out.sum() + steps

print(stacked(np.ones(4), np.ones(3)))
"""


def test_a_copied_matrix_compiles_beside_constant_lists_in_a_fresh_process():
    """Generated code copies a matrix into a view with the runtime's inlined `copy_into`. Its
    `value.ravel()` made numba's inliner name a variable with a process-wide counter, and numba's
    rewrite of a second `np.array([-1, -1])` in the caller picked the same name: jacfwd raised
    numba's AssertionError "key already in dictionary" (fuzz 958:100:0). Which names collide
    depends on what the process compiled before, so a fresh process checks it."""
    run = subprocess.run([sys.executable, "-c", MATRIX_COPY_BESIDE_CONSTANT_LISTS], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "50.0", run.stderr[-2000:]


def test_a_sum_by_comprehension_fills_an_array_by_position():
    """`sum(w[i] * x[i] ** 2 for i in range(n))`: the numbers fill an array of the range's length,
    not a list grown by a copy per item (4,000 terms took 11.6 ms, the loop written out 5 µs)."""
    x, w = np.linspace(0.1, 1.0, 50), np.linspace(1.0, 2.0, 50)
    g = srcgrad.grad(rf.weighted_sum_by_comprehension, wrt=(0, 1), backend="python")
    gx, gw = g(x, w)
    np.testing.assert_allclose(gx, 2.0 * w * x, rtol=1e-13)
    np.testing.assert_allclose(gw, x ** 2, rtol=1e-13)
    assert "np.zeros(items_length)" in g.source and "appended" not in g.source


def test_float32_arrays_on_numba():
    """float32 data (from a file, a GPU library) reached numba's generated code as it was, which
    mixes it with float64 adjoints: a CompilationError. They are taken as float64."""
    w, X = np.linspace(-0.5, 0.5, 3).astype(np.float32), RNG.standard_normal((5, 3)).astype(np.float32)
    expected = 2.0 * X.astype(float).T @ (X.astype(float) @ w.astype(float))
    for _ in range(2):   # the second call takes the repeated-call route
        gradient = srcgrad.grad(rf.sum_of_squared_projections, backend="numba")(w, X)
        np.testing.assert_allclose(gradient, expected, rtol=1e-12)
    assert srcgrad.jvp(rf.sum_of_squared_projections, backend="numba")(w, X, np.ones(3, np.float32))[1] == \
        pytest.approx(np.sum(expected), rel=1e-12)


def test_a_slice_object_is_refused_with_advice():
    """`window = slice(1, 3)` then `x[window]`: the advice was about reversed and zip."""
    with pytest.raises(srcgrad.NoRuleError, match=r"(?s)regression_functions.py:\d+.*a slice object.*`x\[a:b\]`"):
        srcgrad.grad(rf.sum_over_a_slice_object, backend="python")(0.5)


@pytest.mark.parametrize("api", ["jacfwd", "jacrev", "hessian"])
def test_blocks_with_respect_to_a_tuple_of_arrays_are_refused_clearly(api):
    """A Jacobian's or Hessian's blocks are per argument: numpy's ValueError before."""
    params = (np.ones((3, 2)), np.ones(3))
    fn = rf.tuple_of_weights_loss if api == "hessian" else rf.tuple_of_weights_layer
    with pytest.raises(srcgrad.WrtError, match="a tuple or dict holding arrays"):
        getattr(srcgrad, api)(fn, backend="python")(params)
