"""The test suite's finite-difference and structure helpers (tests/gradcheck.py), importable from the package."""
import os
import sys

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from gradcheck import (as_wrt_tuple, assert_same_structure, copy_args, flatten, numeric_jacobian,  # noqa: E402,F401
                       random_like)
