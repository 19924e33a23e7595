"""Host-side helpers of target="cuda" code with prange loops: launching a loop's kernel, and device arrays."""
import numpy as np

THREADS_PER_BLOCK = 128
# a grid-stride loop: with more iterations than blocks * threads, each thread runs several and
# adds its sums once, so a sum over 10^7 points makes about 5 * 10^5 atomic adds, not 10^7
MAX_BLOCKS = 4096
SCRATCH_BYTES = 1 << 30   # the most the threads' rows of scratch arrays (per-iteration tapes) take together


def cuda_threads(trips, scratch_bytes=0):
    """How many threads a prange loop's kernel runs: one per iteration up to MAX_BLOCKS blocks, and
    fewer where each thread's rows of scratch arrays (`scratch_bytes`) would pass SCRATCH_BYTES."""
    threads = min(int(trips), MAX_BLOCKS * THREADS_PER_BLOCK)
    if scratch_bytes:
        threads = min(threads, max(THREADS_PER_BLOCK, SCRATCH_BYTES // int(scratch_bytes)))
    if threads > THREADS_PER_BLOCK:
        threads -= threads % THREADS_PER_BLOCK   # whole blocks: every thread's index has its row
    return max(threads, 0)


def cuda_loop(kernel, threads, n_sums, *args):
    """Run a prange loop's kernel on `threads` threads (from cuda_threads; each runs every
    threads-th iteration); returns the `n_sums` sums the loop adds to, as a list of Python floats,
    or None when it adds to none."""
    from numba import cuda
    partial = cuda.to_device(np.zeros(max(n_sums, 1)))
    if threads > 0:
        per_block = min(THREADS_PER_BLOCK, threads)
        kernel[threads // per_block, per_block](*args, *((partial,) if n_sums else ()))
    return partial.copy_to_host().tolist() if n_sums else None


def cuda_zeros(shape, dtype=np.float64):
    """A device array of zeros (an adjoint that a kernel accumulates into)."""
    from numba import cuda
    return cuda.to_device(np.zeros(shape, dtype))


def cuda_empty(shape, dtype=np.float64):
    """A device array a kernel writes every element of."""
    from numba import cuda
    return cuda.device_array(shape, dtype)
