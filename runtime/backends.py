"""The decorators a generated module applies to its functions: numba-compiled, or left as Python."""
import itertools
import secrets

import numba
from numba.core.bytecode import FunctionIdentity

from . import aliases

aliases.install()   # before anything compiles: numba's dead-code elimination must see tapes' aliases


def _names_unique_across_processes() -> None:
    """Number numba's compiled functions from a random start in each process.

    numba names a compiled function `qualname$uid`, counting uids from 1 in every process, and
    every closure a factory makes has the factory's qualname (the runtime's reductions along an
    axis are such closures). Machine code that two processes cached may then use one symbol for
    two functions: `along$533` was a max in one generated module and a product in another. numba
    links functions as `linkonce_odr`, so a process that loads both modules calls the first one's
    function from the second: a silently wrong value. With a random start per process the names
    of different processes do not meet.
    """
    FunctionIdentity._unique_ids = itertools.count(secrets.randbits(48) << 16)


_names_unique_across_processes()   # before srcgrad_runtime's overloads compile


def numba_jit(fn):
    """Compile with numba, cached on disk next to the generated file; numpy's float error semantics."""
    return numba.njit(cache=True, error_model="numpy", fastmath={"contract"})(fn)


def python_jit(fn):
    """Leave the function uncompiled (backend="python"), for debugging the generated source."""
    return fn


# only the prange loops srcgrad wrote run in parallel: numba's automatic parallelization of array
# expressions would change the order of sums and, on some generated code, fails inside numba
PRANGE_ONLY = {"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
               "setitem": False, "numpy": False, "stencil": False, "fusion": False}


def parallel_jit(fn):
    """A function whose `prange` loops run on every CPU core (target="parallel")."""
    return numba.njit(cache=True, parallel=dict(PRANGE_ONLY), error_model="numpy", fastmath={"contract"})(fn)


def cuda_device_jit(fn):
    """A CUDA device function (target="cuda"), inlined into the kernel that calls it."""
    from numba import cuda   # imported on first use: the CPU targets never load the CUDA driver bindings
    return cuda.jit(device=True, inline="always")(fn)


def cuda_kernel_jit(fn):
    """A CUDA kernel: one thread per element (target="cuda")."""
    from numba import cuda
    return cuda.jit(fn)
