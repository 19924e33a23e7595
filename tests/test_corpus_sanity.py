"""The corpus itself is sound: sources are readable, functions run, and are smooth at their inputs.

Needs no srcgrad; it guards the corpus that every srcgrad mode test relies on.
"""
import inspect
import re

import numpy as np
import pytest

from corpus import CORPUS, DEFAULT_SHAPES, Case
from gradcheck import copy_args, flatten, numeric_jacobian

CASES = [pytest.param(c, id=c.name) for c in CORPUS]


@pytest.mark.parametrize("case", CASES)
def test_source_available(case):
    assert inspect.getsource(case.fn).lstrip().startswith(("def ", "@"))


@pytest.mark.parametrize("case", CASES)
def test_runs_finite_deterministic_no_mutation(case):
    args = case.args()
    assert case.args() is not args and np.array_equal(flatten(case.args()), flatten(args)), "seeded args unstable"
    kept = copy_args(args)
    out = case.fn(*args)
    np.testing.assert_array_equal(flatten(args), flatten(kept), err_msg="corpus function mutated its input")
    assert np.all(np.isfinite(flatten(out)))
    np.testing.assert_array_equal(flatten(case.fn(*copy_args(args))), flatten(out))
    assert len(args) == len(case.kinds)
    for w in case.wrt_tuple:
        assert case.kinds[w] != "n", "wrt must not point at an int argument"


@pytest.mark.parametrize("case", CASES)
def test_smooth_at_inputs(case):
    """FD with two step sizes agree, so no kink/branch switch sits next to the sampled point."""
    args = case.args()
    J1 = numeric_jacobian(case.fn, args, case.wrt, eps=1e-6)
    J2 = numeric_jacobian(case.fn, args, case.wrt, eps=1e-5)
    assert np.all(np.isfinite(J1))
    assert np.any(J1 != 0.0), "Jacobian is identically zero: the case tests nothing"
    scale = max(1.0, float(np.max(np.abs(flatten(case.fn(*args))))))
    np.testing.assert_allclose(J1, J2, rtol=1e-4, atol=1e-6 * scale)


def test_corpus_size_and_names():
    assert len(CORPUS) >= 70
    assert all(isinstance(c, Case) for c in CORPUS)
    assert len({c.name for c in CORPUS}) == len(CORPUS)


def test_argument_kinds_covered():
    kinds = "".join(c.kinds for c in CORPUS)
    for k in "svmnt":
        assert k in kinds
    assert DEFAULT_SHAPES["v"] == (5,)


# Every construct srcgrad must differentiate appears in at least one corpus function.
REQUIRED = {
    "math": "sin cos tan asin acos atan atan2 sinh cosh tanh exp exp2 expm1 log log2 log10 log1p "
    "sqrt cbrt fabs hypot pow floor ceil",
    "np": "sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh exp exp2 expm1 log log2 log10 "
    "log1p sqrt cbrt abs fabs hypot power square reciprocal floor ceil round sign minimum maximum "
    "where clip sum mean prod dot matmul outer cumsum max min transpose reshape ravel concatenate "
    "stack zeros ones empty zeros_like empty_like copy",
    "builtin": "abs( min( max( round( len( range(",
    "syntax": "+= -= *= /= // ** @ .T .shape .reshape( .ravel() .copy() .sum() .max() [1:] [:-1] "
    "while break continue elif ' if ' ' else ' ' and ' ' or ' 'not ' ', -1)' 'for row in' @numba.njit "
    "'return r * math.cos(th), r * math.sin(th)'",
}


def _corpus_source():
    import corpus

    return inspect.getsource(corpus)


def test_required_constructs_present():
    src = _corpus_source()
    missing = []
    for group, names in REQUIRED.items():
        for name in re.findall(r"'[^']*'|\S+", names):
            name = name.strip("'")
            if group == "math":
                needle = f"math.{name}("
            elif group == "np":
                needle = f"np.{name}("
            else:
                needle = name
            if needle not in src:
                missing.append(f"{group}:{name}")
    assert not missing, f"corpus lacks: {missing}"
