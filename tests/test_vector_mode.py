"""jacfwd's vector mode (all directions in one pass) against one pass per direction and against
finite differences, over every corpus function it accepts."""
import numpy as np
import pytest

import gradcheck
from corpus import CORPUS
from srcgrad import api, jacfwd
from srcgrad.transform.forward_vector import NotVectorizable


def _vector_and_per_direction(case, backend):
    args, wrt = case.args(), case.wrt_tuple
    sizes = [np.size(args[w]) for w in wrt]
    vector = api._vector_pass(api._Specializations(case.fn, "forward_vector", wrt, backend), args, wrt, sizes)
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


@pytest.mark.parametrize("case", PER_DIRECTION, ids=[c.name for c in PER_DIRECTION])
def test_a_repeated_jacobian_runs_its_passes_in_one_compiled_loop(case):
    args = case.args()
    jacobian = jacfwd(case.fn, wrt=case.wrt_tuple)
    first = jacobian(*args)    # one Python call per direction
    second = jacobian(*args)   # the same passes in one compiled loop, where the kinds allow it
    for a, b in zip(first, second):
        np.testing.assert_allclose(b, a, rtol=1e-14, atol=1e-14)
        assert np.shape(a) == np.shape(b)
    kinds = tuple(api.K.of_value(a) for a in args)
    looped = jacobian._call.__closure__ is not None and any(
        isinstance(cell.cell_contents, api._DirectionLoops) and cell.cell_contents.loops.get(kinds) is not None
        for cell in jacobian._call.__closure__)
    one_d = all(np.ndim(args[w]) <= 1 for w in case.wrt_tuple) and np.ndim(first[0]) - np.ndim(args[case.wrt_tuple[0]]) <= 1
    assert looped == one_d


def _rotated(M, x):
    y = M @ x
    return np.tanh(y) * y[0]


def test_a_matrix_argument_keeps_the_python_passes():
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
