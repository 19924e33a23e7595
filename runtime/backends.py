"""The decorators a generated module applies to its functions: numba-compiled, or left as Python."""
import numba

from . import aliases

aliases.install()   # before anything compiles: numba's dead-code elimination must see tapes' aliases


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
