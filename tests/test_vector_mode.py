"""jacfwd's vector mode (all directions in one pass) against one pass per direction and against
finite differences, over every corpus function it accepts: scalar code (forward_vector.py) and
array code, whose tangents carry a mask of the directions they are live in (forward_vector_arrays.py)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradcheck
from corpus import CORPUS
from srcgrad import api, jacfwd
from srcgrad.transform.forward_vector import NotVectorizable


def _vector_and_per_direction(case, backend):
    args, wrt = case.args(), case.wrt_tuple
    vector = api._vector_pass(api._Specializations(case.fn, "forward_vector", wrt, backend), args, wrt)
    per_direction = api._direction_passes(api._Specializations(case.fn, "forward", wrt, backend), args, wrt)
    return vector, per_direction


def _accepted(backend="python"):
    accepted = []
    for case in CORPUS:
        if "fwd" not in case.modes or any(k in "tm" for k in case.kinds) or isinstance(case.fn(*case.args()), tuple):
            continue   # jacfwd takes functions of floats and arrays with one output
        try:
            vector, _ = _vector_and_per_direction(case, backend)
        except NotVectorizable:
            continue
        if vector is not None:
            accepted.append(case)
    return accepted


ACCEPTED = _accepted()


def test_vector_mode_accepts_scalar_style_code_with_transcendental_work():
    names = {c.name for c in ACCEPTED}
    assert len(names) >= 5, names
    assert "rosenbrock" not in names   # arithmetic only: per-direction passes are faster


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_vector_mode_matches_per_direction_passes_and_finite_differences(case, backend):
    vector, per_direction = _vector_and_per_direction(case, backend)
    np.testing.assert_allclose(vector, per_direction, rtol=1e-12, atol=1e-12)
    args = case.args()
    numeric = gradcheck.numeric_jacobian(case.fn, args, case.wrt)
    blocks = jacfwd(case.fn, wrt=case.wrt_tuple, backend=backend)(*args)
    got = np.concatenate([np.reshape(b, (-1, np.size(args[w]))) for b, w in zip(blocks, case.wrt_tuple)], axis=1)
    np.testing.assert_allclose(got, np.reshape(numeric, got.shape), rtol=1e-5, atol=1e-6)


def _per_direction_only():
    """Corpus functions jacfwd takes one pass per direction for (vector mode refuses them)."""
    names = {c.name for c in ACCEPTED}
    chosen = []
    for case in CORPUS:
        if case.name in names or "fwd" not in case.modes or any(k in "tm" for k in case.kinds) \
                or isinstance(case.fn(*case.args()), tuple):
            continue
        chosen.append(case)
    scalar = [c for c in chosen if set(c.kinds) <= {"s", "n"}]
    return scalar[:4] + [c for c in chosen if c not in scalar][:10]


PER_DIRECTION = _per_direction_only()


def _closed_over(function, kind) -> list:
    """The objects of `kind` a function holds in its closure, or in the closures of functions it holds."""
    found, cells, seen = [], list(function.__closure__ or ()), set()
    while cells:
        value = cells.pop().cell_contents
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, kind):
            found.append(value)
        elif callable(value) and getattr(value, "__closure__", None):
            cells += value.__closure__
    return found


@pytest.mark.parametrize("case", PER_DIRECTION, ids=[c.name for c in PER_DIRECTION])
def test_a_repeated_jacobian_runs_its_passes_in_one_compiled_loop(case):
    args = case.args()
    jacobian = jacfwd(case.fn, wrt=case.wrt_tuple)
    first = jacobian(*args)    # one Python call per direction
    second = jacobian(*args)   # the same passes in one compiled loop, where the kinds allow it
    for a, b in zip(first, second):
        np.testing.assert_allclose(b, a, rtol=1e-14, atol=1e-14)
        assert np.shape(a) == np.shape(b)
    looped = any(loops.built(args) is not None for loops in _closed_over(jacobian._call, api._DirectionLoops))
    one_d = all(np.ndim(args[w]) <= 1 for w in case.wrt_tuple) and np.ndim(first[0]) - np.ndim(args[case.wrt_tuple[0]]) <= 1
    assert looped == one_d


def _rotated(M, x):
    y = M @ x
    return np.tanh(y) * y[0]


def test_a_matrix_argument_gives_the_same_jacobian_again():
    M, x = np.array([[0.5, -1.0], [2.0, 0.3], [0.1, 0.2]]), np.array([0.7, -0.4])
    jacobian = jacfwd(_rotated, wrt=(0, 1))
    first, second = jacobian(M, x), jacobian(M, x)
    for a, b in zip(first, second):
        np.testing.assert_allclose(b, a, rtol=1e-14, atol=1e-14)
    numeric = gradcheck.numeric_jacobian(_rotated, (M, x), 1)
    np.testing.assert_allclose(second[1], np.reshape(numeric, second[1].shape), rtol=1e-6, atol=1e-8)


def _scaled_parameters(params, x):
    return params["a"] * np.sin(x) + params["b"]


def test_a_repeated_jacobian_of_dict_parameters_stays_right():
    params, x = {"a": 1.5, "b": np.array([0.2, -0.1, 0.4])}, np.array([0.3, 0.8, -1.2])
    jacobian = jacfwd(_scaled_parameters, wrt=1)
    for _ in range(3):
        np.testing.assert_allclose(jacobian(params, x), np.diag(1.5 * np.cos(x)), rtol=1e-14)


# ----- array code: directions on a first axis, each tangent with the directions it is live in -----

def _bones(theta, base, weights):
    """A skinned model in miniature: each angle turns one bone, each bone moves all points."""
    positions = np.zeros((base.shape[0], 2))
    for bone in range(theta.shape[0]):
        c, s = np.cos(theta[bone]), np.sin(theta[bone])
        R = np.eye(2)
        R[0, 0] = c
        R[0, 1] = -s
        R[1, 0] = s
        R[1, 1] = c
        positions = positions + (base @ R.T) * weights[:, bone:bone + 1]
    return positions


def _grows_by_broadcasting(x):
    total = np.zeros((3, 1))
    for k in range(2):
        total = total + np.outer(np.sin(x[0:3]), x)   # (3, 1) + (3, 4): the running total grows
        total = total - np.outer(np.cos(x[1:4]), x) * x[k]   # then is taken from in place
    return total


def _view_read_after_its_array_is_written(x):
    A = np.outer(x, x)
    row = A[0]
    A[0, 1] = np.sin(x[1])          # the view sees the write
    A[1] = A[1] * x[2]
    return row * x[0] + A[1]


def _early_return(x, s):
    y = np.sin(x) * s
    if s > 10.0:
        return y
    M = np.outer(y, x)
    M[1:, 0] = 0.5 * y[1:]
    return M @ x


def _matrix_argument(M, x):
    return np.tanh(M @ x) * x[0]


def _carried_arrays(x):
    """Each iteration makes arrays; the next one reads the last one's (its buffer is not free)."""
    prev = np.outer(x, x)
    total = np.zeros((3, 3))
    for k in range(3):
        cur = np.sin(prev) * x[k]
        total = total + cur * prev   # the last iteration's array, read after this one's is made
        prev = cur
    return total


def _products_accumulated(x, weights):
    """Running totals taking products with a constant factor: a column, a row, a number, on either
    side; the last total grows by broadcasting first (its product's tangent is then a buffer)."""
    base = np.outer(np.sin(x), x[:2])   # (n, 2)
    total = np.zeros((x.shape[0], 2))
    grown = np.zeros((1, 2))
    for k in range(2):
        total = total + base * weights[:, k:k + 1]
        total = total + weights[0, :2] * np.cos(base)
        total = total + (0.5 + k) * base
        total = total + weights[1, :2] * np.sin(x[1:3])   # a row for every row of the total
        grown = grown + base * weights[:, k:k + 1]
    return total * grown


ARRAY_CASES = [
    (_products_accumulated, (np.array([0.3, -0.5, 0.8, 1.1]), np.abs(np.cos(np.arange(12.0))).reshape(4, 3)), (0,)),
    (_bones, (np.array([0.3, -0.2, 0.5]), np.arange(10.0).reshape(5, 2) / 7.0,
              np.abs(np.sin(np.arange(15.0))).reshape(5, 3)), (0,)),
    (_grows_by_broadcasting, (np.array([0.3, -0.5, 0.8, 1.1]),), (0,)),
    (_view_read_after_its_array_is_written, (np.array([0.3, -0.5, 0.8]),), (0,)),
    (_early_return, (np.array([0.3, -0.5, 0.8]), 1.5), (0, 1)),
    (_matrix_argument, (np.array([[0.5, -1.0], [2.0, 0.3], [0.1, 0.2]]), np.array([0.7, -0.4])), (0, 1)),
    (_carried_arrays, (np.array([0.3, -0.5, 0.8]),), (0,)),
]


def _loop_source(fn, args) -> str:
    specs = api._Specializations(fn, "forward_vector", (0,), "python")
    api._vector_pass(specs, args, (0,))
    return specs.last[1]


def test_a_running_total_takes_a_products_tangent_in_one_pass():
    """`total = total + c * a`, c constant: each live direction adds c * da into the total's
    tangent (add_product_into), with no buffer for the product's, except where the total grows
    by broadcasting (then the product's tangent is made as before, in that branch only)."""
    source = _loop_source(*ARRAY_CASES[0][:2])
    assert source.count("add_product_into(dtotal[direction]") == 3   # the row is a loop of its own (1-D)
    assert "add_product_into(dgrown[direction]" in source
    lines = source.splitlines()
    for k, line in enumerate(lines):
        # a 2-D product's tangent: only where shapes differ (mul_3, a row, is made by an element loop)
        if re.search(r"dmul(_[124])? = direction_buffer", line):
            depth = len(line) - len(line.lstrip())
            owner = next(o for o in reversed(lines[:k]) if o.strip() and len(o) - len(o.lstrip()) < depth)
            assert owner.strip() == "else:", line


def test_a_loop_reuses_the_buffers_of_tangents_its_iterations_make_and_drop():
    """_bones's tangents of each bone's products live within the iteration: one buffer each,
    before the loop. _carried_arrays's `cur` is read by the next iteration (as `prev`): its own
    buffer every iteration, or the next one would write over what it reads."""
    bones = _loop_source(*ARRAY_CASES[1][:2])
    assert "direction_buffer_reused(dmatmul" in bones and "dmatmul = np.empty((0, 0, 0))" in bones
    carried = _loop_source(_carried_arrays, (np.array([0.3, -0.5, 0.8]),))
    assert "dcur = direction_buffer(directions, cur)" in carried and "direction_buffer_reused(dsin" in carried


def test_array_tangents_reach_numba_without_slice_assignment_or_transpose_by_axes():
    """numba compiles `slot[...] = array` with a shape-mismatch message whose string code takes
    1-2 s to compile per rank in each process, and `np.transpose(a, axes)` with a set and an index
    array (1.5 s): GradBench ht's Jacobian spent 6 s of its first call on them. A direction of an
    array tangent is written by copy_into, also where the total's name is the pass's own
    (`positions_new`), and the tangent of `R.T` is transposed_directions(dR)."""
    bones = _loop_source(*ARRAY_CASES[1][:2])
    assert "copy_into(dpositions_new[direction], dpositions[direction] + dmul[direction])" in bones
    assert "dtranspose = transposed_directions(dR)" in bones and "np.transpose(dR" not in bones
    carried = _loop_source(_carried_arrays, (np.array([0.3, -0.5, 0.8]),))
    assert "copy_into(dtotal_new[direction], broadcast_like(dmul[direction], total_new))" in carried
    for fn, args, _ in ARRAY_CASES:
        source = _loop_source(fn, args)
        assert not re.search(r"\[direction\] = broadcast_like|\[direction\] = \w+\[direction\] \+ \w+\[direction\]", source), fn


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("case", ARRAY_CASES, ids=[c[0].__name__.strip("_") for c in ARRAY_CASES])
def test_array_code_in_one_pass_matches_passes_per_direction_and_finite_differences(case, backend):
    fn, args, wrt = case
    specs = api._Specializations(fn, "forward_vector", wrt, backend)
    vector = api._vector_pass(specs, args, wrt)
    assert vector is not None and "_live" in specs.last[1]   # the array form, with masks
    per_direction = api._direction_passes(api._Specializations(fn, "forward", wrt, backend), args, wrt)
    np.testing.assert_allclose(vector, per_direction, rtol=1e-12, atol=1e-12)
    blocks = jacfwd(fn, wrt=wrt, backend=backend)(*args)
    for block, w in zip(blocks, wrt):
        numeric = gradcheck.numeric_jacobian(fn, args, w)
        np.testing.assert_allclose(block, np.reshape(numeric, np.shape(block)), rtol=1e-6, atol=1e-7)


def _pose_rows_share_an_array(theta):
    pose = np.zeros((3, 3))
    for k in range(3):
        pose[k, 0] = theta[k]
    out = np.zeros(3)
    for k in range(3):
        row = pose[k]
        out[k] = np.sum(np.sin(np.outer(row, row)))   # row k moves with theta[k] only
    return out


def test_rows_of_a_written_array_are_dead_in_the_directions_that_miss_them():
    specs = api._Specializations(_pose_rows_share_an_array, "forward_vector", (0,), "python")
    theta = np.array([0.3, -0.7, 1.1])
    J = api._vector_pass(specs, (theta,), (0,))
    assert J is not None and "_live" in specs.last[1]
    np.testing.assert_allclose(J, np.diag(2.0 * theta * np.cos(theta ** 2)), rtol=1e-13, atol=1e-15)
    # an element write takes a float's tangent as it is where the array is live; only a dead
    # array's direction tests it for zero and is revived (no test nor call per live element)
    assert re.search(r"if dout_live\[direction\]:\n\s+dout\[direction, k\] = (\w+)\n"
                     r"\s+elif \1 != 0\.0:\n\s+revive\(dout, dout_live, direction\)", specs.last[1])


def _transposed_view_of_a_written_array(x):
    w = np.column_stack((x, np.repeat(x[:1], 2))).copy()
    t = w.T.T                  # a view made by a function: it sees the writes below
    w[0, 0] = 0.25 * x[1]
    for k in range(1, 4):
        w[:, k % 2] += x[:2]
    return w.sum() + np.mean(t) + np.sin(t[1, 0])


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_transposed_view_of_a_written_array_sees_the_writes(backend):
    # fuzz 56:2285:0: the array form computed the view's tangent into a buffer of its own
    x = np.array([0.3, 0.7])
    J = jacfwd(_transposed_view_of_a_written_array, backend=backend)(x)
    per_direction = api._direction_passes(api._Specializations(_transposed_view_of_a_written_array, "forward", (0,),
                                                               backend), (x,), (0,))
    np.testing.assert_allclose(J, per_direction.reshape(J.shape), rtol=1e-13, atol=1e-13)
    numeric = gradcheck.numeric_jacobian(_transposed_view_of_a_written_array, (x,), 0)
    np.testing.assert_allclose(J, np.reshape(numeric, J.shape), rtol=1e-6, atol=1e-8)


def _packed_point(x):
    """Float arithmetic on a short vector whose first three are a point: code per length."""
    c = x[0:3] - np.array([0.1, 0.2, 0.3])
    return c * (np.sum(x * x) + x[0])


def test_a_repeated_jacobian_of_short_vectors_serves_each_length():
    jacobian = jacfwd(_packed_point)
    for n in (3, 5, 3, 5, 3):   # the second call of a length runs its passes in a compiled loop
        x = np.linspace(0.2, 1.0, n)
        np.testing.assert_allclose(jacobian(x), gradcheck.numeric_jacobian(_packed_point, (x,)), rtol=1e-6, atol=1e-8)


WARNINGS_SCRIPT = """
import sys, warnings
sys.path.insert(0, {tests!r})
import test_vector_mode as t
from srcgrad import jacfwd
fn, args, wrt = t.ARRAY_CASES[0]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    jacfwd(fn, wrt=wrt)(*args)
print(sum("NumbaPerformanceWarning" in x.category.__name__ for x in caught))
"""


@pytest.mark.slow
def test_numba_advice_about_generated_code_does_not_reach_the_user(tmp_path):
    """_bones's tangent of `base @ R.T` is a transposed view: compiling it, numba advises that `@`
    is faster on contiguous arrays, naming a generated line the user cannot change."""
    script = WARNINGS_SCRIPT.format(tests=str(Path(__file__).parent))
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path))   # empty: numba compiles, and would advise
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0"


def _barycentric_points(theta, us, tri):
    v = np.sin(np.outer(theta, np.array([1.0, 2.0, 3.0])))
    total = 0.0
    err = np.empty((us.shape[0], 3))
    for i in range(us.shape[0]):
        u = us[i]
        p = u[0] * v[tri[i, 0]] + u[1] * v[tri[i, 1]] + (1.0 - u[0] - u[1]) * v[tri[i, 2]]
        total = total + p[0] * u[0]
        err[i] = p * p + total
    return err


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_floats_tangent_within_one_pass_over_the_directions_is_a_local(backend):
    """ht's per-point residual: the tangents of the products each direction computes and uses at
    once are numbers in the loop, not buffers stored into and read back; a running total's (read
    before it is written: carried from one point to the next) and the weights' (read by later
    loops over the directions) stay buffers."""
    theta = np.array([0.3, -0.7, 1.1, 0.5])
    us = np.random.default_rng(0).random((5, 2))
    tri = np.array([[0, 1, 2], [1, 2, 3], [3, 0, 1], [2, 2, 0], [0, 3, 1]])
    J_theta, J_us = jacfwd(_barycentric_points, wrt=(0, 1), backend=backend)(theta, us, tri)
    np.testing.assert_allclose(J_theta.reshape(15, 4), gradcheck.numeric_jacobian(_barycentric_points, (theta, us, tri), 0),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(J_us.reshape(15, 10), gradcheck.numeric_jacobian(_barycentric_points, (theta, us, tri), 1),
                               rtol=1e-6, atol=1e-8)
    specs = api._Specializations(_barycentric_points, "forward_vector", (0, 1), backend)
    api._vector_pass(specs, (theta, us, tri), (0, 1))
    source = specs.last[1]
    assert "dtotal = np.zeros(directions)" in source and "dtotal[direction] = dtotal[direction] + dmul" in source
    assert "du_0 = np.zeros(directions)" in source and "dsub_1[direction] = dsub - du_1[direction]" in source
    assert "dmul = np.zeros(directions)" not in source and re.search(r"\n\s+dmul = \w+ \* du_0\[direction\] \+ u_0 \* dv_tri_item_k\n", source)
