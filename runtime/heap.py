"""The C heap's thresholds, set once per process so derivative code's large buffers are reused, not mapped anew each call.

Forward vector mode keeps a tangent of every array for every direction: GradBench ht's skinned
vertices, 10000 x 3 floats, take 6.7 MB in 28 directions, and one call makes a handful of such
buffers and frees them again. glibc's malloc serves a block above its mmap threshold (128 KB at
first, raised to the size of the largest mapped block freed so far, at most 32 MB) with a fresh
mapping, and gives the top of its heap back to the kernel once more than twice that threshold is
free there. A process that has allocated little else then maps, faults in page by page, zeroes and
returns those buffers on every call: ht's Jacobian took 14-18 ms in such a process and 8 ms in one
whose heap an earlier compilation had grown, with nothing else different (4,585 page faults per
call against none). Setting the thresholds to the largest values glibc's own rule reaches (32 MB
and twice that) makes every process behave like the second one from the start.
"""
from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1   # mallopt's parameter numbers, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2 ** 20   # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit machines
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD


def keep_large_blocks() -> bool:
    """Set glibc's mmap and trim thresholds to the values its own heuristic ends at; True if set.

    Left alone: other C libraries (no `mallopt`, or another meaning of it), a process whose user
    tunes malloc through glibc's MALLOC_*_ variables, and SRCGRAD_MALLOC=default.
    """
    if os.environ.get("SRCGRAD_MALLOC") == "default" or not sys.platform.startswith("linux"):
        return False
    if any(os.environ.get(name) for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                                                "GLIBC_TUNABLES")):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version   # glibc only: musl's mallopt does nothing, others differ
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
