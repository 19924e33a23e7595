"""One measurement in a fresh process (one tool, one workload); prints a single `BENCH_RESULT {json}` line.

Usage (run.py does this for you):
    python bench/worker.py time      --tool {numba,srcgrad,jax,autograd} --workload NAME [--quick]
    python bench/worker.py memory    --tool {primal,hand,srcgrad,jax}    --workload NAME [--quick]
    python bench/worker.py firstcall --tool srcgrad                      --workload NAME [--quick]
"""

import argparse
import gc
import json
import os
import sys
import time
import traceback

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
sys.path.insert(1, REPO_ROOT)

from measure import fingerprint, median_seconds, peak_rss_delta_mb, repeat_timed, time_call  # noqa: E402
from workloads import AUTOGRAD_SIZE_DIVISOR, WORKLOADS  # noqa: E402

RESULT_MARKER = "BENCH_RESULT "


def repetition_policy(quick, slow_tool=False):
    """(min_reps, max_reps, budget_s) for median timing; autograd takes seconds a call, so fewer."""
    if slow_tool:
        return (3, 5, 0.3) if quick else (3, 5, 2.0)
    return (3, 7, 0.3) if quick else (5, 15, 2.0)


def warm_up_policy(quick, slow_tool=False):
    """(min_calls, budget_s) of untimed calls after the first: early calls that allocate a tape were
    seen 2-5x slower than later ones here (fresh pages, allocator warm-up), so they are not timed."""
    if slow_tool:
        return (0, 0.0)
    return (1, 0.05) if quick else (2, 0.5)


def measure_gradient_call(call, size, quick, slow_tool=False):
    """First call (compile) timed on its own, untimed warm-up calls, then the median of repeated calls.
    Also returns a fingerprint of the result so gradients can be compared across tools."""
    holder = {}

    def first():
        holder["result"] = call()

    first_call_s = time_call(first)
    min_calls, budget_s = warm_up_policy(quick, slow_tool)
    repeat_timed(call, min_calls, 10**6, budget_s)
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    median_s, times = median_seconds(call, *repetition_policy(quick, slow_tool))
    cpu_per_wall = (time.process_time() - cpu_started) / (time.perf_counter() - wall_started)
    return {"size": size, "median_s": median_s, "min_s": min(times), "times_s": times,
            "cpu_per_wall": cpu_per_wall, "first_call_s": first_call_s,
            "fingerprint": fingerprint(holder["result"])}  # after timing: np.dot may wake BLAS threads


def srcgrad_error(exc):
    return {"error": f"srcgrad unavailable: {type(exc).__name__}: {exc}"}


def guarded(measurement):
    """Runs a measurement; an exception becomes an error entry instead of killing the worker."""
    try:
        return measurement()
    except Exception as exc:  # noqa: BLE001 - any failure is reported in the table cell
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}


# ---- time: one tool on one workload --------------------------------------

def time_numba(workload, quick):
    import numba
    from hand_adjoints import HAND_GRADIENTS
    primal = numba.njit(workload.function)
    hand = HAND_GRADIENTS[workload.name]
    entries = {}
    for suffix, size in sizes_with_small(workload, quick):
        args = workload.make_inputs(size)
        entries["primal" + suffix] = measure_gradient_call(lambda: primal(*args), size, quick)
        entries["hand" + suffix] = measure_gradient_call(lambda: hand(*args), size, quick)
    return entries


def sizes_with_small(workload, quick):
    size = workload.size(quick)
    return [("", size), ("_small", max(size // AUTOGRAD_SIZE_DIVISOR, 2))]


def time_srcgrad(workload, quick):
    try:
        import srcgrad
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        return {"srcgrad_grad": srcgrad_error(exc), "srcgrad_vg": srcgrad_error(exc)}
    size = workload.size(quick)
    args = workload.make_inputs(size)
    return {
        "srcgrad_grad": srcgrad_measurement(lambda: srcgrad.grad(workload.function, wrt=workload.wrt),
                                            args, size, quick),
        "srcgrad_vg": srcgrad_measurement(lambda: srcgrad.value_and_grad(workload.function, wrt=workload.wrt),
                                          args, size, quick, keep_gradient_only=True),
    }


def srcgrad_measurement(build, args, size, quick, keep_gradient_only=False):
    try:
        function = build()
        if keep_gradient_only:
            return measure_gradient_call(lambda: function(*args)[1], size, quick)
        return measure_gradient_call(lambda: function(*args), size, quick)
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        return srcgrad_error(exc)


def time_jax(workload, quick):
    import jax
    import jax_workloads
    size = workload.size(quick)
    args = jax_workloads.to_device(workload.make_inputs(size))
    grad = jax_workloads.jitted_grad(workload)
    primal = jax_workloads.jitted_primal(workload)
    return {
        "jax_grad": guarded(lambda: measure_gradient_call(
            lambda: jax.block_until_ready(grad(*args)), size, quick)),
        "jax_primal": guarded(lambda: measure_gradient_call(
            lambda: jax.block_until_ready(primal(*args)), size, quick)),
    }


def time_autograd(workload, quick):
    from autograd_workloads import autograd_grad
    size = max(workload.size(quick) // AUTOGRAD_SIZE_DIVISOR, 2)
    args = workload.make_inputs(size)
    grad = autograd_grad(workload)
    return {"autograd_grad": measure_gradient_call(lambda: grad(*args), size, quick, slow_tool=True)}


TIMERS = {"numba": time_numba, "srcgrad": time_srcgrad, "jax": time_jax, "autograd": time_autograd}


# ---- memory: peak RSS of one call at full size ------------------------------

def memory_callable(tool, workload):
    """The function whose single call is measured, for tool in primal/hand/srcgrad/jax."""
    if tool == "primal":
        import numba
        return numba.njit(workload.function)
    if tool == "hand":
        from hand_adjoints import HAND_GRADIENTS
        return HAND_GRADIENTS[workload.name]
    if tool == "srcgrad":
        import srcgrad
        return srcgrad.grad(workload.function, wrt=workload.wrt)
    if tool == "jax":
        import jax
        import jax_workloads
        grad = jax_workloads.jitted_grad(workload)
        return lambda *args: jax.block_until_ready(grad(*jax_workloads.to_device(args)))
    raise ValueError(f"unknown memory tool {tool}")


def measure_memory(tool, workload, quick):
    """Compile on a tiny input (numba) or the same input (jax, which recompiles per T), then one measured call."""
    size = workload.size(quick)
    args = workload.make_inputs(size)
    try:
        function = memory_callable(tool, workload)
        warmup_args = args if tool == "jax" else workload.make_inputs(10)
        function(*warmup_args)
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        return {"memory_" + tool: srcgrad_error(exc) if tool == "srcgrad" else {"error": repr(exc)}}
    gc.collect()
    holder = {}
    delta_mb = peak_rss_delta_mb(lambda: holder.setdefault("result", function(*args)))
    return {"memory_" + tool: {"size": size, "peak_rss_delta_mb": delta_mb}}


# ---- firstcall: srcgrad transform + compile in a fresh process --------------

def measure_first_call(workload, quick):
    """Import, build and first-call timings of srcgrad.grad; SRCGRAD_CACHE_DIR is set by the caller."""
    size = workload.quick_size
    args = workload.make_inputs(size)
    started = time.perf_counter()
    try:
        import srcgrad
        imported = time.perf_counter()
        grad = srcgrad.grad(workload.function, wrt=workload.wrt)
        built = time.perf_counter()
        grad(*args)
        called = time.perf_counter()
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        return {"firstcall": srcgrad_error(exc)}
    return {"firstcall": {"size": size, "cache_dir": os.environ.get("SRCGRAD_CACHE_DIR"),
                          "import_s": imported - started, "build_s": built - imported,
                          "first_call_s": called - built, "total_s": called - imported}}


def run_task(options):
    workload = WORKLOADS[options.workload]
    if options.task == "time":
        return TIMERS[options.tool](workload, options.quick)
    if options.task == "memory":
        return measure_memory(options.tool, workload, options.quick)
    if options.task == "firstcall":
        return measure_first_call(workload, options.quick)
    raise ValueError(f"unknown task {options.task}")


def parse_options(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["time", "memory", "firstcall"])
    parser.add_argument("--tool", required=True)
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    options = parse_options(argv)
    entries = run_task(options)
    sys.stdout.flush()
    print(RESULT_MARKER + json.dumps({"task": options.task, "tool": options.tool,
                                      "workload": options.workload, "entries": entries}), flush=True)


if __name__ == "__main__":
    main()
