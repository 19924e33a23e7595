"""Runs the whole benchmark: one fresh subprocess per (workload, tool), then prints and saves one table of ratios.

    python bench/run.py            # full sizes, writes bench/results.{json,md} and bench/bench.png (~5 min)
    python bench/run.py --quick    # small sizes smoke test (<1 min), writes to a temp dir unless --out-dir
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

import report  # noqa: E402
from check_adjoints import check_all  # noqa: E402
from measure import OtherLoadMeter  # noqa: E402
from worker import RESULT_MARKER  # noqa: E402
from workloads import AUTOGRAD_SIZE_DIVISOR, WORKLOADS  # noqa: E402

TIMING_TOOLS = ["numba", "srcgrad", "jax", "autograd"]
MEMORY_TOOLS = ["primal", "hand", "srcgrad", "jax"]
MEMORY_WORKLOAD = "lorenz"
BUSY_LOAD = 0.5           # 1-min load average above which another process is probably competing for the 2 cores
PAUSE_AFTER_JAX_S = 0.5   # XLA threads spin ~1 s after JAX work (MEASURED.md); they die with the worker, this is a margin


class Runner:
    """Launches worker subprocesses one at a time and logs progress to stderr."""

    def __init__(self, quick, scratch_dir):
        self.quick = quick
        self.scratch_dir = scratch_dir
        self.started = time.perf_counter()
        self.timeout_s = 120 if quick else 400

    def base_environment(self):
        env = dict(os.environ)
        env["JAX_PLATFORMS"] = "cpu"
        env.setdefault("SRCGRAD_CACHE_DIR", os.path.join(self.scratch_dir, "srcgrad_cache_timing"))
        os.makedirs(env["SRCGRAD_CACHE_DIR"], exist_ok=True)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
        return env

    def run_worker(self, task, tool, workload, extra_env=None):
        command = [sys.executable, os.path.join(BENCH_DIR, "worker.py"), task, "--tool", tool,
                   "--workload", workload] + (["--quick"] if self.quick else [])
        env = self.base_environment()
        env.update(extra_env or {})
        launched = time.perf_counter()
        try:
            finished = subprocess.run(command, capture_output=True, text=True, env=env, timeout=self.timeout_s)
            outcome = parse_worker_output(finished)
        except subprocess.TimeoutExpired:
            outcome = {"error": f"worker timed out after {self.timeout_s} s"}
        self.log(f"{task:9s} {workload:16s} {tool:8s} {time.perf_counter() - launched:6.1f} s"
                 + (f"  ({outcome['error']})" if "error" in outcome else ""))
        if tool == "jax":
            time.sleep(PAUSE_AFTER_JAX_S)
        return outcome

    def log(self, message):
        print(f"[{time.perf_counter() - self.started:6.1f} s] {message}", file=sys.stderr, flush=True)


def parse_worker_output(finished):
    """The worker's entries dict, or {'error': ...} with the last line of its stderr."""
    for line in reversed(finished.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])["entries"]
    last_error = (finished.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"worker exited {finished.returncode}: {last_error}"}


def spread_error(outcome, keys):
    """A failed worker gives every entry it would have produced the same error."""
    if set(outcome) == {"error"}:
        return {key: outcome for key in keys}
    return outcome


EXPECTED_KEYS = {"numba": ["primal", "hand", "primal_small", "hand_small"],
                 "srcgrad": ["srcgrad_grad", "srcgrad_vg"],
                 "jax": ["jax_grad", "jax_primal"], "autograd": ["autograd_grad"]}


def measure_times(runner, workloads):
    results = {}
    for workload in workloads:
        entries = {}
        for tool in TIMING_TOOLS:
            entries.update(spread_error(runner.run_worker("time", tool, workload.name), EXPECTED_KEYS[tool]))
        results[workload.name] = entries
    return results


def measure_memory(runner):
    memory = {}
    for tool in MEMORY_TOOLS:
        outcome = runner.run_worker("memory", tool, MEMORY_WORKLOAD,
                                    extra_env={"MALLOC_MMAP_THRESHOLD_": "131072"})
        memory[tool] = outcome.get("memory_" + tool, outcome)
    return memory


def measure_first_calls(runner, workloads):
    """srcgrad transform + compile in a fresh process with an empty cache dir, then again reusing it."""
    first_calls = {}
    for workload in workloads:
        cache_dir = tempfile.mkdtemp(prefix=f"srcgrad_cache_{workload.name}_", dir=runner.scratch_dir)
        first_calls[workload.name] = {
            phase: runner.run_worker("firstcall", "srcgrad", workload.name,
                                     extra_env={"SRCGRAD_CACHE_DIR": cache_dir}).get("firstcall", {})
            for phase in ("cold", "warm")
        }
    return first_calls


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions():
    versions = {"python": platform.python_version()}
    for package in ("numpy", "numba", "scipy", "jax", "autograd", "srcgrad"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def machine_meta(quick, argv, load_before, other_cores):
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "loadavg_1min_before": load_before, "cores_used_by_other_processes": other_cores,
            "platform": platform.platform(), "cpu_model": cpu_model(), "nproc": os.cpu_count(),
            "versions": package_versions(), "quick": quick,
            "command": " ".join(["python bench/run.py"] + argv)}


def notes(workloads, quick):
    sizes = ", ".join(f"{w.name} {w.size_symbol}={w.size(quick)}" for w in workloads)
    return [
        f"Sizes: {sizes}. Every ratio is a median wall time divided by the numba primal's median at the same size, "
        "measured in the same run; each (workload, tool) ran in its own fresh process: a first call (compile), "
        "untimed warm-up calls, then timed rounds in which the functions of that process alternate.",
        "srcgrad columns are relative to a numba primal and hand adjoint timed in alternating rounds in the "
        "srcgrad process itself (rows 'beside srcgrad'), so srcgrad / hand compares calls made seconds apart. "
        "Compare those rows with the plain numba primal row to see the run-to-run noise.",
        f"autograd runs at size/{AUTOGRAD_SIZE_DIVISOR} and its ratio is against the numba primal at that "
        "size (reported at its own size, not extrapolated). autograd on indexing code is superlinear "
        "(each x[i] vjp builds a full-size zero array), so scaling it up would understate its cost.",
        "autograd runs the unchanged workload code with `np` rebound to autograd.numpy and `math` to a shim "
        "over autograd.numpy (exp, log, sqrt).",
        "JAX: float64, `jax.jit(jax.grad(f))` of a lax.fori_loop rewrite; (c) is plain jnp; in (d) the inner K "
        "loop is a length-K vector op (as a JAX user writes it). JAX used its default CPU threading.",
        "The hand adjoint of (c) is the loop adjoint of (a): same function, so the ratio differs only because "
        "the numba primal of the vectorised code (slices and temporaries) is slower than the loop.",
        "Gradient rel. diff: |<g, r> - <g_hand, r>| / |<g_hand, r>| for a fixed random r, at the same size.",
        "Memory: peak RSS minus RSS just before one call (VmHWM reset through /proc/self/clear_refs), "
        "in a fresh process after compiling on a tiny input (JAX compiles per T, so it warms up at the same T).",
    ]


def parse_options(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and few repetitions (smoke test)")
    parser.add_argument("--out-dir", help="where results.json/.md and bench.png go "
                        "(default: bench/ for a full run, a temp dir for --quick)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated subset of: " + ", ".join(WORKLOADS))
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    options = parse_options(argv)
    workloads = [WORKLOADS[name] for name in options.workloads.split(",")]
    out_dir = options.out_dir or (tempfile.mkdtemp(prefix="srcgrad_bench_quick_") if options.quick else BENCH_DIR)
    os.makedirs(out_dir, exist_ok=True)

    load_before = os.getloadavg()[0]
    if load_before > BUSY_LOAD:
        print(f"warning: 1-min load average is {load_before:.2f} before starting; timings will be noisy",
              file=sys.stderr)
    other_load = OtherLoadMeter()
    print("hand adjoints match central differences:", ", ".join(check_all()), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="srcgrad_bench_") as scratch_dir:
        runner = Runner(options.quick, scratch_dir)
        results = measure_times(runner, workloads)
        memory = measure_memory(runner) if MEMORY_WORKLOAD in {w.name for w in workloads} else {}
        first_calls = measure_first_calls(runner, workloads[:1] if options.quick else workloads)
        runner.log("done")

    meta = machine_meta(options.quick, argv, load_before, other_load.cores_used_by_others())
    tape_mb = WORKLOADS[MEMORY_WORKLOAD].size(options.quick) * 3 * 8 / 1e6
    sections = [("Gradient time / numba primal time (median)", report.summary_table(workloads, results)),
                ("All measurements", report.detail_table(workloads, results))]
    if memory:
        sections.append(("Peak memory of one gradient call, (b) Lorenz", report.memory_table(memory, tape_mb)))
    sections.append(("First call: srcgrad transform + numba compile, fresh processes",
                     report.first_call_table([w for w in workloads if w.name in first_calls],
                                             first_calls, results)))

    errors = report.full_errors(results, memory, first_calls)
    contention = report.contention_warning(results, meta)
    for title, (header, body) in sections:
        print(f"\n== {title} ==\n{report.render_plain(header, body)}")
    for error in errors:
        print("error:", error)
    if contention:
        print("warning:", contention)
    paths = report.output_paths(out_dir)
    report.write_json(paths["results.json"], meta, workloads, results, memory, first_calls)
    with open(paths["results.md"], "w") as out:
        out.write(report.markdown_report(meta, sections, notes(workloads, options.quick)
                                         + [f"Error: `{error}`" for error in errors]
                                         + ([f"**Warning:** {contention}"] if contention else [])))
    report.plot_ratios(paths["bench.png"], workloads, results, meta)
    print("\nwrote " + ", ".join(paths.values()))


if __name__ == "__main__":
    main()
