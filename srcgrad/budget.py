"""Memory budgets for reverse mode: byte sizes, the SRCGRAD_MEMORY default, and the `checkpoint` loop marker."""
from __future__ import annotations

import os
from typing import Iterable

from numba.extending import overload

from .errors import SrcgradError

_UNITS = [("GIB", 2 ** 30), ("MIB", 2 ** 20), ("KIB", 2 ** 10), ("GB", 10 ** 9), ("MB", 10 ** 6), ("KB", 10 ** 3),
          ("G", 10 ** 9), ("M", 10 ** 6), ("K", 10 ** 3), ("B", 1)]


def checkpoint(iterations: Iterable, snapshots: int | None = None, segment: int | None = None,
               memory: int | str | None = None) -> Iterable:
    """Mark a loop whose reverse sweep keeps snapshots instead of a tape of every iteration.

    Write ``for t in srcgrad.checkpoint(range(n), snapshots=20):``. Without srcgrad the call returns
    `iterations` unchanged, so the function runs as before (also under ``numba.njit``). In reverse
    mode, srcgrad keeps the loop's state at the start of a few segments and re-runs segments from
    them (binomial checkpointing, Griewank's revolve).

    Parameters
    ----------
    iterations : range
        A ``range`` with step 1; the loop must run to its end (no break or return in it).
    snapshots : int, optional
        How many copies of the loop's state to keep. With only this, each segment is one iteration
        (classic revolve): the least memory, the most recomputation.
    segment : int, optional
        Iterations per segment: the reverse sweep keeps the tape of one segment at a time.
    memory : int or str, optional
        A budget in bytes ("64MB") for this loop's snapshots and tape; srcgrad chooses both numbers.
        Without any of the three, the function's `memory=` applies, or, without that, about
        sqrt(n) snapshots and segments of sqrt(n) iterations.
    """
    return iterations


@overload(checkpoint)
def _checkpoint(iterations, snapshots=None, segment=None, memory=None):
    return lambda iterations, snapshots=None, segment=None, memory=None: iterations


def parse_memory(memory) -> int:
    """Bytes from a number of bytes or a size such as "256MB", "1.5 GiB", "800kB"; 0 for None."""
    if memory is None:
        return 0
    if isinstance(memory, (int, float)) and not isinstance(memory, bool):
        value, scale = float(memory), 1
    else:
        text = str(memory).strip().upper().replace(" ", "")
        unit, scale = next(((unit, size) for unit, size in _UNITS if text.endswith(unit)), ("", 1))
        try:
            value = float(text[:len(text) - len(unit)])
        except ValueError:
            raise SrcgradError(f"memory={memory!r} is not a size: write a number of bytes or a size such as "
                               "'256MB' or '2GiB'") from None
    if value <= 0:
        raise SrcgradError(f"memory={memory!r}: a memory budget must be positive")
    return int(value * scale)


def memory_option(memory) -> int:
    """The budget of a reverse-mode derivative: its `memory=`, else SRCGRAD_MEMORY, else none (0)."""
    if memory is None:
        memory = os.environ.get("SRCGRAD_MEMORY") or None
    return parse_memory(memory)
