"""numba's `overload` and `register_jitable` for the runtime's helpers, with their machine code kept on disk.

A derivative's first call compiles, besides its own generated function, every runtime helper that
function calls, and did so again in each new process: GradBench ode's gradient spent 2.3 of its
4.3 s compiling sum_to, filled_like, zeroed_like and zeroed_from. numba caches an overload's
implementation like any function compiled with cache=True (next to the runtime, or in numba's
user-wide cache where the runtime's folder is read-only), so each helper compiles once per
machine and argument types, and later derivatives and processes load it.

Helpers numba inlines (`inline="always"`) are compiled into each caller and cannot be cached; they
stay plain `overload`s. A cached helper is recompiled when its own file changes, not when a helper
it calls in another file does: helpers call across files only what pip installs with them.
"""
from __future__ import annotations

from numba.core.caching import FunctionCache
from numba.extending import overload, register_jitable


def _probe():
    return None


def _cache_works() -> bool:
    """Whether numba has a writable place to cache the runtime's code (else compile per process)."""
    try:
        FunctionCache(_probe)
    except RuntimeError:   # numba's "no locator available": neither the runtime's folder nor a user cache
        return False
    return True


JIT_OPTIONS = {"cache": True} if _cache_works() else {}


def runtime_overload(func, **options):
    """`numba.extending.overload(func)`, its implementations compiled once per machine."""
    return overload(func, jit_options=dict(JIT_OPTIONS), **options)


def runtime_jitable(fn):
    """`numba.extending.register_jitable(fn)`, compiled once per machine."""
    return register_jitable(**JIT_OPTIONS)(fn) if JIT_OPTIONS else register_jitable(fn)


def measures(*positions: int):
    """Mark a helper that reads only the shape of its arguments at `positions` (`old` of
    `zeroed_like(x_bar, old)`): srcgrad's dataflow then counts such an argument as neither read
    for its values nor sharing memory with the result."""
    def mark(fn):
        fn.measures = positions
        return fn
    return mark
