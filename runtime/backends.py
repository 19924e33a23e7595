"""The decorators a generated module applies to its functions: numba-compiled, or left as Python."""
import numba


def numba_jit(fn):
    """Compile with numba, cached on disk next to the generated file; numpy's float error semantics."""
    return numba.njit(cache=True, error_model="numpy", fastmath={"contract"})(fn)


def python_jit(fn):
    """Leave the function uncompiled (backend="python"), for debugging the generated source."""
    return fn
