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
