"""Host-side helpers of target="cuda" code with prange loops: launching a loop's kernel, and device arrays."""
import numpy as np

THREADS_PER_BLOCK = 128
# a grid-stride loop: with more iterations than blocks * threads, each thread runs several and
# stores its sums once, so a sum over 10^7 points makes about 5 * 10^5 partial sums, not 10^7
MAX_BLOCKS = 4096
SCRATCH_BYTES = 1 << 30   # the most the threads' rows of scratch arrays (per-iteration tapes) take together
# the most the copies of a loop's shared adjoints take together. Threads adding into one element
# of one array serialize on it (10^7 points adding into 8 elements of w_bar: 100 ms on an H100);
# each thread adding into its own copy, summed after the loop, takes under a millisecond.
PARTS_BYTES = 1 << 28


def cuda_threads(trips, scratch_bytes=0):
    """How many threads a prange loop's kernel runs: one per iteration up to MAX_BLOCKS blocks, and
    fewer where each thread's rows of scratch arrays (`scratch_bytes`) would pass SCRATCH_BYTES."""
    threads = min(int(trips), MAX_BLOCKS * THREADS_PER_BLOCK)
    if scratch_bytes:
        threads = min(threads, max(THREADS_PER_BLOCK, SCRATCH_BYTES // int(scratch_bytes)))
    if threads > THREADS_PER_BLOCK:
        threads -= threads % THREADS_PER_BLOCK   # whole blocks: every thread's index has its row
    return max(threads, 0)


def cuda_part_count(threads, *shared):
    """How many copies of the `shared` adjoints a kernel of `threads` threads adds into (thread t
    into copy t % parts): one per thread where they fit in PARTS_BYTES, fewer where they are large
    (large arrays spread the threads' adds over many elements anyway)."""
    elements = sum(int(np.prod(a.shape)) for a in shared)
    return max(1, min(int(threads), PARTS_BYTES // (8 * max(elements, 1))))


def cuda_parts(like, parts):
    """Zeros of shape like.shape + (parts,) on the device: copy p of `like`'s adjoint in [..., p],
    so a warp's threads add into neighbouring addresses."""
    return cuda_zeros(tuple(like.shape) + (parts,), like.dtype)


def cuda_add_parts(parts, out):
    """out += parts summed over its last axis, on the device (`out` a device array)."""
    rows, count = int(np.prod(out.shape)), parts.shape[len(parts.shape) - 1]
    if rows == 0 or count == 0:
        return
    blocks = min(max(1, -(-count // THREADS_PER_BLOCK)), 64), min(rows, 65535)
    _kernels()["add_parts"][blocks, THREADS_PER_BLOCK](parts.reshape(rows, count), out.reshape(rows))


def cuda_loop(kernel, threads, n_sums, *args):
    """Run a prange loop's kernel on `threads` threads (from cuda_threads; each runs every
    threads-th iteration); returns the `n_sums` sums the loop adds to, as a list of Python floats,
    or None when it adds to none. Thread t stores its part of sum k in partial_sums[k, t]."""
    if threads <= 0:
        return [0.0] * n_sums if n_sums else None
    partial = cuda_empty((n_sums, threads)) if n_sums else None
    per_block = min(THREADS_PER_BLOCK, threads)
    kernel[threads // per_block, per_block](*args, *((partial,) if n_sums else ()))
    if not n_sums:
        return None
    sums = cuda_zeros((n_sums,))
    cuda_add_parts(partial, sums)
    return sums.copy_to_host().tolist()


def cuda_zeros(shape, dtype=np.float64):
    """A device array of zeros (an adjoint that a kernel accumulates into), filled on the device."""
    zeros = cuda_empty(shape, dtype)
    size = int(np.prod(zeros.shape))
    if size:
        flat = zeros.reshape(size)
        _kernels()["fill_zero"][min(MAX_BLOCKS, -(-size // THREADS_PER_BLOCK)), THREADS_PER_BLOCK](flat)
    return zeros


def cuda_empty(shape, dtype=np.float64):
    """A device array a kernel writes every element of."""
    from numba import cuda
    return cuda.device_array(shape, dtype)


_KERNELS: dict = {}
cuda = float64 = None   # numba.cuda and numba.float64, imported on first use: the CPU targets never load numba.cuda


def _kernels() -> dict:
    """The helpers' own kernels, compiled on first use (module-level functions: numba's CUDA
    simulator runs a kernel by swapping `cuda` in its globals)."""
    global cuda, float64
    if not _KERNELS:
        from numba import cuda, float64
        _KERNELS.update(fill_zero=cuda.jit(_fill_zero), add_parts=cuda.jit(_add_parts))
    return _KERNELS


def _fill_zero(flat):
    for i in range(cuda.grid(1), flat.shape[0], cuda.gridsize(1)):
        flat[i] = 0


def _add_parts(parts, out):
    # block (x, y) sums every (gridDim.x)-th block of row y's parts: in registers, then a tree in
    # shared memory, then one atomic add into out[y]
    block = cuda.shared.array(THREADS_PER_BLOCK, float64)
    t = cuda.threadIdx.x
    for row in range(cuda.blockIdx.y, parts.shape[0], cuda.gridDim.y):
        total = 0.0
        for p in range(cuda.blockIdx.x * THREADS_PER_BLOCK + t, parts.shape[1], cuda.gridDim.x * THREADS_PER_BLOCK):
            total += parts[row, p]
        block[t] = total
        cuda.syncthreads()
        stride = THREADS_PER_BLOCK // 2
        while stride > 0:
            if t < stride:
                block[t] += block[t + stride]
            cuda.syncthreads()
            stride //= 2
        if t == 0:
            cuda.atomic.add(out, row, block[0])
        cuda.syncthreads()
