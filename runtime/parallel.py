"""Helpers of target="parallel" code: numba's prange, and how many parts a parallel loop splits into."""
import numba
from numba import prange  # noqa: F401  (generated code imports it from here)

from .compile_once import runtime_jitable

# read once, as a constant: numba.get_num_threads() inside compiled code would stop numba caching it
THREADS = numba.config.NUMBA_NUM_THREADS


@runtime_jitable
def parallel_parts(trips):
    """One part per thread numba may start, and never more parts than iterations."""
    return max(1, min(THREADS, trips))
