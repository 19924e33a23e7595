"""Shared pieces of the srcgrad GradBench tool: the timing wrapper and the finite-difference checks."""

import time

import numpy as np
from gradbench import wrap


def timed(*, pre, post, first_call_input=None):
    """GradBench's `wrap.multiple_runs`, preceded once per function by an untimed first call.

    The first call compiles (numba for the primal, srcgrad's transform plus numba for the
    derivative). GradBench's metric excludes it, so it runs before the timed runs and is
    reported as its own timing, named "first_call", which GradBench's scorer ignores.
    `first_call_input` may cut the prepared input down, where a whole run would take minutes
    and say nothing more about compiling.
    """
    def decorator(function):
        runs = wrap.multiple_runs(pre=pre, post=post)(function)
        state = {"compiled": False}

        def wrapped(input_raw):
            timings = []
            if not state["compiled"]:
                args = pre(input_raw)
                if first_call_input is not None:
                    args = first_call_input(args)
                start = time.perf_counter_ns()
                function(args)
                timings.append({"name": "first_call", "nanoseconds": time.perf_counter_ns() - start})
                state["compiled"] = True
            result = runs.wrapped(input_raw)
            result["timings"] = timings + result["timings"]
            return result

        return wrap.Wrapped(function=function, wrapped=wrapped)

    return decorator


def directions(shape, count, seed=0):
    """`count` random unit directions shaped like an argument."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        v = rng.standard_normal(shape)
        yield v / np.linalg.norm(v)


def central_difference(f, x, v, h):
    """(f(x + h v) - f(x - h v)) / 2h, for array- or float-valued f."""
    return (np.asarray(f(x + h * v)) - np.asarray(f(x - h * v))) / (2.0 * h)


def relative_error(derivative, reference, scale):
    """Largest absolute difference over `scale`, the size of the derivative being checked."""
    derivative, reference = np.asarray(derivative, float), np.asarray(reference, float)
    return float(np.max(np.abs(derivative - reference)) / max(scale, 1e-300))


STEPS = (1e-3, 1e-4, 1e-5, 1e-6)
TOLERANCE = 1e-5


def best_difference(f, x, v, exact, scale):
    """Relative error of `exact` against central differences, at the step size that agrees best.

    Too large a step shows truncation error, too small one rounding error in f; the best of a few
    steps is a fair estimate of how far off the derivative is.
    """
    step_scale = max(1.0, float(np.max(np.abs(x))))
    return min(relative_error(exact, central_difference(f, x, v, h * step_scale), scale) for h in STEPS)


def check_gradient(f, x, gx, count=3):
    """Directional central differences of scalar f at x against gradient gx: the worst relative error.

    A directional derivative sums many gradient entries, so one wrong entry shows; three random
    directions make a cancellation by chance negligible. Errors are relative to |gx| (v is a unit
    vector): relative to g.v itself, a direction almost orthogonal to gx would inflate them.
    """
    scale = float(np.linalg.norm(gx))
    return max(best_difference(f, x, v, np.sum(gx * v), scale) for v in directions(np.shape(x), count))


def check_jacobian(f, x, jx, count=3):
    """As check_gradient, for a Jacobian jx of shape out.shape + x.shape (relative to its largest row)."""
    in_axes = tuple(range(jx.ndim - np.ndim(x), jx.ndim))
    scale = float(np.max(np.sqrt(np.sum(np.asarray(jx) ** 2, axis=in_axes)))) if in_axes else float(np.max(np.abs(jx)))
    axes = (in_axes, tuple(range(np.ndim(x))))
    return max(best_difference(f, x, v, np.tensordot(jx, v, axes=axes), scale)
               for v in directions(np.shape(x), count))


def gradient_is_zero(g):
    """GradBench accepts an all-zero gradient where the true one is tiny; say so in the report."""
    return bool(np.all(np.asarray(g) == 0.0))


def fd_report(**errors):
    """The check's report: each relative error by name, ok when all are below TOLERANCE."""
    return {"ok": all(e < TOLERANCE for e in errors.values())} | errors

