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
import statistics
import sys
import time
import traceback

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)
sys.path.insert(1, REPO_ROOT)

from measure import fingerprint, peak_rss_delta_mb, repeat_timed, time_call  # noqa: E402
from workloads import AUTOGRAD_SIZE_DIVISOR, WORKLOADS  # noqa: E402

RESULT_MARKER = "BENCH_RESULT "


def repetition_policy(quick, slow_tool=False):
    """(min_rounds, max_rounds, budget_s) for median timing; autograd takes seconds a call, so fewer."""
    if slow_tool:
        return (3, 5, 0.3) if quick else (3, 5, 2.0)
    return (3, 7, 0.3) if quick else (5, 15, 2.0)


def warm_up_policy(quick, slow_tool=False):
    """(min_rounds, budget_s) of untimed rounds after the first calls: early calls that allocate a tape
    were seen 2-5x slower than later ones here (fresh pages, allocator warm-up), so they are not timed."""
    if slow_tool:
        return (0, 0.0)
    return (1, 0.05) if quick else (2, 0.5)


def first_calls(calls):
    """Calls each function once (this compiles it); returns results, first-call times and error entries.
    A function whose first call raises is dropped from `calls`."""
    results, seconds, errors = {}, {}, {}
    for name in list(calls):
        started = time.perf_counter()
        try:
            results[name] = calls[name]()
        except Exception as exc:  # noqa: BLE001 - reported in the table cell
            traceback.print_exc()
            errors[name] = {"error": f"{type(exc).__name__}: {exc}"}
            del calls[name]
            continue
        seconds[name] = time.perf_counter() - started
    return results, seconds, errors


def measure_interleaved(calls, size, quick, slow_tool=False):
    """Times several functions in alternating rounds (a, b, c, a, b, c, ...), so that a slow patch of
    the machine hits all of them alike and their ratios stay fair; returns one entry per name."""
    calls = dict(calls)
    results, first_seconds, entries = first_calls(calls)
    times = {name: [] for name in calls}

    def timed_round():
        for name, call in calls.items():
            times[name].append(time_call(call))

    min_rounds, budget_s = warm_up_policy(quick, slow_tool)
    repeat_timed(lambda: [call() for call in calls.values()], min_rounds, 10**6, budget_s)
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    repeat_timed(timed_round, *repetition_policy(quick, slow_tool))
    cpu_per_wall = (time.process_time() - cpu_started) / (time.perf_counter() - wall_started)
    for name in calls:
        entries[name] = {"size": size, "median_s": statistics.median(times[name]), "min_s": min(times[name]),
                         "times_s": times[name], "cpu_per_wall": cpu_per_wall,
                         "first_call_s": first_seconds[name],
                         "fingerprint": fingerprint(results[name])}  # after timing: np.dot may wake BLAS threads
    return entries


def srcgrad_error(exc):
    return {"error": f"srcgrad unavailable: {type(exc).__name__}: {exc}"}


# ---- time: one tool on one workload --------------------------------------

def numba_baselines(workload):
    """Name -> function: the numba primal (`njit` of the workload) and the hand adjoint."""
    import numba
    from hand_adjoints import HAND_GRADIENTS
    return {"primal": numba.njit(workload.function), "hand": HAND_GRADIENTS[workload.name]}


def bind(functions, args, suffix=""):
    """Name+suffix -> zero-argument call of each function on args."""
    return {name + suffix: (lambda f=function: f(*args)) for name, function in functions.items()}


def time_numba(workload, quick):
    baselines = numba_baselines(workload)
    entries = {}
    for suffix, size in sizes_with_small(workload, quick):
        entries.update(measure_interleaved(bind(baselines, workload.make_inputs(size), suffix), size, quick))
    return entries


def sizes_with_small(workload, quick):
    size = workload.size(quick)
    return [("", size), ("_small", max(size // AUTOGRAD_SIZE_DIVISOR, 2))]


def srcgrad_calls(workload, args):
    """Zero-argument calls of srcgrad.grad and value_and_grad (gradient part), or error entries."""
    try:
        import srcgrad
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        return {}, {"srcgrad_grad": srcgrad_error(exc), "srcgrad_vg": srcgrad_error(exc)}
    calls, errors = {}, {}
    for name, api in (("srcgrad_grad", "grad"), ("srcgrad_vg", "value_and_grad")):
        try:
            function = getattr(srcgrad, api)(workload.function, wrt=workload.wrt)
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            errors[name] = srcgrad_error(exc)
            continue
        calls[name] = (lambda f=function: f(*args)) if api == "grad" else (lambda f=function: f(*args)[1])
    return calls, errors


def time_srcgrad(workload, quick):
    """srcgrad timed in rounds with the numba primal and hand adjoint (kept as primal_ref, hand_ref)."""
    size = workload.size(quick)
    args = workload.make_inputs(size)
    calls, errors = srcgrad_calls(workload, args)
    if not calls:
        return errors
    baselines = bind(numba_baselines(workload), args, "_ref")
    measured = measure_interleaved({**baselines, **calls}, size, quick)
    for name in calls:
        if "error" in measured.get(name, {}):
            measured[name] = {"error": "srcgrad unavailable: " + measured[name]["error"]}
    return {**errors, **measured}


def time_jax(workload, quick):
    import jax
    import jax_workloads
    size = workload.size(quick)
    args = jax_workloads.to_device(workload.make_inputs(size))
    grad = jax_workloads.jitted_grad(workload)
    primal = jax_workloads.jitted_primal(workload)
    return measure_interleaved({"jax_grad": lambda: jax.block_until_ready(grad(*args)),
                                "jax_primal": lambda: jax.block_until_ready(primal(*args))}, size, quick)


def time_autograd(workload, quick):
    from autograd_workloads import autograd_grad
    size = max(workload.size(quick) // AUTOGRAD_SIZE_DIVISOR, 2)
    args = workload.make_inputs(size)
    grad = autograd_grad(workload)
    return measure_interleaved({"autograd_grad": lambda: grad(*args)}, size, quick, slow_tool=True)


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
