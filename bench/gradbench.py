"""Runs GradBench's evals against srcgrad and prints one markdown table of derivative/primal ratios.

Each eval runs as GradBench's own eval process (`python -m gradbench.evals.<eval>.run`, which
also validates every output against GradBench's golden C++ `manual` tool) talking JSON lines to
srcgrad's tool (bench/gradbench/tool.py); this script starts both and relays the lines, as
GradBench's Rust CLI would. See bench/gradbench/README.md.

    python bench/gradbench.py                  # all evals, full sizes
    python bench/gradbench.py --quick          # small sizes, a smoke run
    python bench/gradbench.py --evals gmm,ode  # a subset
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOL = HERE / "gradbench" / "tool.py"
RESULTS = HERE / "gradbench_results.md"
DEFAULT_GRADBENCH = Path(os.environ.get("GRADBENCH_DIR", "/work/gradbench"))
DEFAULT_CACHE = Path(os.environ.get("SRCGRAD_CACHE_DIR", "/tmp/gb-cache"))


@dataclass
class Eval:
    """One GradBench eval: its function names, the sizes we run, our target and published ratios."""
    name: str
    primal: str
    derivative: str
    full: list        # command-line size options of the eval's run.py
    quick: list
    target: float
    published: tuple  # manual C++, Enzyme, Tapenade, JAX ("–": none published)
    gradbench_eval: str = ""   # the GradBench eval, when `name` is a variant of it
    variant: str = ""          # the tool then runs `<function>_<variant>` of the eval's module


EVALS = {e.name: e for e in [
    Eval("lse", "primal", "gradient", ["-n", "10000", "160000", "1280000"], ["-n", "10000"], 2,
         ("–", "–", "–", "–")),
    Eval("llsq", "primal", "gradient", ["-n", "256", "4096", "16392"], ["-n", "256"], 2,
         ("–", "–", "–", "–")),
    Eval("ode", "primal", "gradient", ["-n", "1000", "10000", "-s", "1", "10", "100"],
         ["-n", "1000", "-s", "10"], 3, ("–", "2.5", "–", "2.1")),
    Eval("gmm", "objective", "jacobian", ["-d", "2", "10", "20", "32", "64", "-k", "5", "25", "100"],
         ["-d", "2", "10", "-k", "5"], 3, ("2.4", "7.6", "3.3", "3.0")),
    Eval("lstm", "objective", "jacobian", ["-l", "2", "4", "-c", "1024", "4096"],
         ["-l", "2", "-c", "1024"], 3, ("8.5", "2.8", "3.2", "–")),
    Eval("ba", "objective", "jacobian", ["--min", "1", "--max", "3"], ["--min", "0", "--max", "0"], 5,
         ("–", "–", "–", "–")),
    Eval("ba-python-loop", "objective", "jacobian", ["--min", "1", "--max", "1"], ["--min", "0", "--max", "0"],
         5, ("–", "–", "–", "–"), gradbench_eval="ba", variant="python_loop"),
    Eval("ht", "objective", "jacobian", ["--min", "1", "--max", "8"], ["--min", "1", "--max", "2"], 5,
         ("–", "–", "–", "–")),
]}


QUICK_BA = (49, 500, 1000)   # n cameras, m points, p observations of the --quick BA size "ba0"


# ----- one eval: two processes and a relay ------------------------------------------------

@dataclass
class Workload:
    """What the eval asked and the tool answered for one size (GradBench's "description")."""
    description: str
    mean_ns: dict = field(default_factory=dict)      # function -> mean of the timed runs
    min_ns: dict = field(default_factory=dict)       # function -> fastest timed run
    first_call_ns: dict = field(default_factory=dict)
    valid: dict = field(default_factory=dict)        # function -> GradBench's validation
    error: dict = field(default_factory=dict)        # function -> tool or validation error


def relay(eval_cmd, tool_cmd, cwd, env, log):
    """Pass lines between eval and tool until the eval exits; return the workloads in order."""
    eval_proc = subprocess.Popen(eval_cmd, cwd=cwd, env=env, text=True, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, bufsize=1)
    tool_proc = subprocess.Popen(tool_cmd, cwd=cwd, env=env, text=True, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, bufsize=1)
    workloads, pending = {}, {}   # pending: message id -> (function, workload) awaiting analysis
    try:
        for line in eval_proc.stdout:
            message = json.loads(line)
            tool_proc.stdin.write(line)
            tool_proc.stdin.flush()
            answer = tool_proc.stdout.readline()
            if not answer:
                raise RuntimeError(f"the tool exited while answering a {message['kind']} message")
            response = json.loads(answer)
            record(message, response, workloads, pending, log)
            eval_proc.stdin.write(answer)
            eval_proc.stdin.flush()
    finally:
        for proc in (eval_proc, tool_proc):
            proc.stdin.close()
        eval_proc.wait()
        tool_proc.wait()
    return list(workloads.values())


def record(message, response, workloads, pending, log):
    """Keep timings and validity; drop the (possibly large) inputs and outputs."""
    kind = message["kind"]
    if kind == "define" and not response.get("success"):
        log(f"  define failed: {response.get('error')}")
    elif kind == "evaluate":
        function, description = message["function"], message.get("description", "?")
        workload = workloads.setdefault(description, Workload(description))
        timings = response.get("timings") or []
        evaluate = [t["nanoseconds"] for t in timings if t["name"] == "evaluate"]
        first = [t["nanoseconds"] for t in timings if t["name"] == "first_call"]
        if response.get("success") and evaluate:
            workload.mean_ns[function] = sum(evaluate) / len(evaluate)   # GradBench's scorer: the mean
            workload.min_ns[function] = min(evaluate)
            pending[message["id"]] = (function, workload)
        else:
            workload.error[function] = response.get("error", "failed")
        if first:
            workload.first_call_ns[function] = first[0]
        log(f"  {description:>24} {function:<10} "
            + (f"{fmt_time(workload.mean_ns[function])} x{len(evaluate)}" if evaluate else "FAILED"))
    elif kind == "analysis" and message["of"] in pending:
        function, workload = pending.pop(message["of"])
        workload.valid[function] = message["valid"]
        if not message["valid"]:
            workload.error[function] = message.get("error", "invalid")
            log(f"  {workload.description} {function}: INVALID\n{message.get('error', '')[:2000]}")


def run_eval(spec, args, log):
    """Run one eval at the chosen sizes; returns (workloads, our own check's report)."""
    report = Path(tempfile.mkstemp(prefix=f"gb-{spec.name}-", suffix=".jsonl")[1])
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(args.cache_dir), GB_SRCGRAD_REPORT=str(report),
               GB_SRCGRAD_VARIANT=spec.variant)
    if getattr(args, "numba_cache_dir", None):   # numba's cache of everything, the runtime's helpers too
        env["NUMBA_CACHE_DIR"] = str(args.numba_cache_dir)
    eval_cmd = [sys.executable, "-m", f"gradbench.evals.{spec.gradbench_eval or spec.name}.run",
                *(spec.quick if args.quick else spec.full),
                "--min-runs", str(args.min_runs), "--min-seconds", str(args.min_seconds)]
    tool_cmd = [sys.executable, str(TOOL)]
    try:
        workloads = relay(eval_cmd, tool_cmd, args.gradbench, env, log)
        checks = [json.loads(line)["check"] for line in report.read_text().splitlines()]
    finally:
        report.unlink()
    return workloads, (checks[0] if checks else None)


# ----- set-up: GradBench's files and the LSTM text ------------------------------------------

def prepare_lstm_text(gradbench, text_path):
    """GradBench's LSTM text is absent from the snapshot: use our own ASCII text, tripled.

    The eval reads evals/lstm/data/lstm_full.txt relative to its working directory; the C++
    golden tool is fed the same generated input, so any text validates.
    """
    target = gradbench / "evals/lstm/data/lstm_full.txt"
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(Path(text_path).read_text(encoding="ascii", errors="ignore") * 3)


def prepare_small_ba(gradbench):
    """A BA size below GradBench's smallest (p = 31843) for --quick: GradBench's BA input is one
    camera, point, weight and feature repeated n, m and p times, so ba1's first lines with a
    smaller n, m, p are a valid input, validated against the C++ tool like the others."""
    data = gradbench / "evals/ba/data"
    target = data / f"ba0_n{QUICK_BA[0]}_m{QUICK_BA[1]}_p{QUICK_BA[2]}.txt"
    if target.exists():
        return
    source = next(data.glob("ba1_*.txt"))
    with open(source) as handle:
        head = [handle.readline() for _ in range(5)]
    target.write_text(" ".join(map(str, QUICK_BA)) + "\n" + "".join(head[1:]))


def check_setup(args):
    golden = args.gradbench / "tools/manual/bin"
    if not (args.gradbench / "python/gradbench").is_dir():
        sys.exit(f"GradBench not found at {args.gradbench} (set --gradbench or GRADBENCH_DIR)")
    if not golden.is_dir():
        sys.exit(f"GradBench's golden C++ tool is not built: run `make -C {args.gradbench}/tools/manual -j2`")


# ----- the table --------------------------------------------------------------------------

def fmt_time(ns):
    if ns is None:
        return "–"
    seconds = ns / 1e9
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def cell(text, limit=300):
    """One line of plain text that fits a markdown table cell."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(text)).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit] + " …"


def fmt_check(check):
    if check is None:
        return "–"
    if "error" in check:
        return "failed: " + cell(check["error"])
    parts = [f"{key.replace('_', ' ')} {value:.1e}" for key, value in check.items()
             if isinstance(value, float) and key != "seconds"]
    notes = [f"{key.replace('_', ' ')}: {value}" for key, value in check.items()
             if isinstance(value, (str, bool)) and key != "ok"]
    return ("ok" if check.get("ok") else "MISMATCH") + " (" + "; ".join(parts + notes) + ")"


def fmt_ratio(primal, derivative, target):
    if not (primal and derivative):
        return "–"
    ratio = derivative / primal
    return f"{ratio:.3g} {'✓' if ratio <= target else '✗'}"


def validity(workload, spec):
    marks = []
    for function in (spec.primal, spec.derivative):
        if function in workload.error and function not in workload.valid:
            marks.append("error")
        else:
            marks.append({True: "yes", False: "NO"}.get(workload.valid.get(function), "–"))
    return " / ".join(marks)


HEADER = ("| eval | size | srcgrad primal (numba) | srcgrad derivative | ratio | ratio of fastest runs | target | "
          "manual C++ / Enzyme / Tapenade / JAX | first call: primal / derivative | "
          "validated vs golden: primal / derivative | own check at smallest size |")


def table_rows(spec, workloads, check):
    rows = []
    for i, w in enumerate(workloads):
        primal, derivative = w.mean_ns.get(spec.primal), w.mean_ns.get(spec.derivative)
        rows.append(
            f"| {spec.name} | {w.description} | {fmt_time(primal)} | {fmt_time(derivative)} | "
            f"{fmt_ratio(primal, derivative, spec.target)} | "
            f"{fmt_ratio(w.min_ns.get(spec.primal), w.min_ns.get(spec.derivative), spec.target)} | "
            f"≤ {spec.target} | {' / '.join(spec.published)} | "
            f"{fmt_time(w.first_call_ns.get(spec.primal))} / {fmt_time(w.first_call_ns.get(spec.derivative))} | "
            f"{validity(w, spec)} | {fmt_check(check) if i == 0 else ''} |")
    if not workloads:
        rows.append(f"| {spec.name} | – | – | – | – | – | ≤ {spec.target} | {' / '.join(spec.published)} | – | "
                    f"eval did not run | {fmt_check(check)} |")
    return rows


def errors_section(results):
    lines = []
    for spec, workloads, _ in results:
        for w in workloads:
            for function, error in w.error.items():
                lines.append(f"- {spec.name} {w.description} `{function}`: "
                             + cell(error, 600))
    return (["", "Errors:", ""] + lines) if lines else []


def git_head(path):
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"


def render(results, args, seconds, load_before, load_after):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"GradBench with srcgrad: {now}, srcgrad {git_head(HERE.parent)}, "
        f"{'--quick, ' if args.quick else ''}min_runs={args.min_runs}, min_seconds={args.min_seconds}, "
        f"{seconds:.0f} s in all. Load average (1 min) {load_before:.2f} before, {load_after:.2f} after "
        f"on {os.cpu_count()} CPUs: other processes can inflate times and move ratios.",
        "",
        HEADER,
        "|" + "---|" * (HEADER.count("|") - 1),
    ]
    for spec, workloads, check in results:
        lines += table_rows(spec, workloads, check)
    lines += [
        "",
        "Times are the mean of GradBench's timed runs (its scorer's statistic), first call excluded; "
        "ratio = derivative / primal on the same input, both in this run; the ratio of the fastest "
        "runs is less disturbed by other processes. The primal is "
        "`numba.njit` of the same Python function srcgrad differentiates. \"first call\" is the "
        "untimed compile call (numba; srcgrad's transform + numba) with a cold srcgrad cache; the "
        "runtime's helpers come from numba's cache, compiled once per machine (`--first-calls` also "
        "times the first call with nothing cached). "
        "Published ratios: GradBench's results for those tools on its own machine. \"validated\": "
        "GradBench's own check against its golden C++ tool (loose: 1e-4 relative, and it accepts "
        "an all-zero ode gradient). \"own check\": srcgrad's derivative against central finite "
        "differences of the numba primal, largest relative error over 3 random directions.",
    ]
    return "\n".join(lines + errors_section(results))


# ----- main -------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", default=",".join(EVALS), help="comma-separated, from: " + ",".join(EVALS))
    parser.add_argument("--quick", action="store_true", help="small sizes, 0.2 s of timed runs each")
    parser.add_argument("--min-runs", type=int, default=1, help="GradBench's min_runs (default 1, as GradBench)")
    parser.add_argument("--min-seconds", type=float, default=None,
                        help="GradBench's min_seconds (default 1, as GradBench; --quick 0.2)")
    parser.add_argument("--gradbench", type=Path, default=DEFAULT_GRADBENCH, help="GradBench's source tree")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="srcgrad cache for this run")
    parser.add_argument("--keep-cache", action="store_true",
                        help="reuse the srcgrad cache (first-call times then show loading, not compiling)")
    parser.add_argument("--lstm-text", type=Path, default=HERE.parent / "README.md",
                        help="ASCII text for the LSTM eval when GradBench's own is absent (tripled)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the table")
    parser.add_argument("--first-calls", action="store_true",
                        help="only first calls, at the quick sizes: each eval in a process with an empty cache, "
                             "then in a new process reusing it; prints that table")
    args = parser.parse_args(argv)
    args.gradbench = args.gradbench.resolve()
    if args.min_seconds is None:
        args.min_seconds = 0.2 if args.quick else 1.0
    unknown = set(args.evals.split(",")) - set(EVALS)
    if unknown:
        parser.error(f"unknown evals {sorted(unknown)}; choose from {','.join(EVALS)}")
    return args


def first_call_table(args, log) -> str:
    """Each eval's first calls at its quick size: the numba primal's compile, and srcgrad's
    derivative three ways: with nothing cached (numba's cache emptied too, so the runtime's helpers
    compile as on a machine that never ran srcgrad), with an empty srcgrad cache (transform and
    numba compile of the generated code; the helpers come from numba's cache), and in a new process
    reusing that cache (the transform cache and numba's machine code)."""
    rows = ["| eval | size | primal (numba compile) | derivative, nothing cached | derivative, empty srcgrad cache "
            "| derivative, new process, cache kept |", "|---|---|---|---|---|---|"]
    for name in args.evals.split(","):
        spec = EVALS[name]
        runs = argparse.Namespace(**{**vars(args), "quick": True, "min_runs": 1, "min_seconds": 0.0,
                                     "cache_dir": Path(tempfile.mkdtemp(prefix=f"gb-first-{name}-"))})
        bare = argparse.Namespace(**{**vars(runs), "cache_dir": Path(tempfile.mkdtemp(prefix=f"gb-bare-{name}-"))})
        bare.numba_cache_dir = Path(tempfile.mkdtemp(prefix=f"gb-numba-{name}-"))
        log(f"{name}:")
        (bare_run, _), (cold, _), (warm, _) = run_eval(spec, bare, log), run_eval(spec, runs, log), run_eval(spec, runs, log)
        for folder in (runs.cache_dir, bare.cache_dir, bare.numba_cache_dir):
            shutil.rmtree(folder, ignore_errors=True)
        if not bare_run or not cold or not warm:
            rows.append(f"| {name} | – | – | did not run | did not run | did not run |")
            continue
        rows.append(f"| {name} | {cold[0].description} | {fmt_time(cold[0].first_call_ns.get(spec.primal))} | "
                    f"{fmt_time(bare_run[0].first_call_ns.get(spec.derivative))} | "
                    f"{fmt_time(cold[0].first_call_ns.get(spec.derivative))} | "
                    f"{fmt_time(warm[0].first_call_ns.get(spec.derivative))} |")
    return "\n".join(rows)


def main(argv=None):
    args = parse_args(argv)
    check_setup(args)
    prepare_lstm_text(args.gradbench, args.lstm_text)
    prepare_small_ba(args.gradbench)
    if args.first_calls:
        print(first_call_table(args, lambda text: print(text, file=sys.stderr, flush=True)))
        return
    if not args.keep_cache:
        shutil.rmtree(args.cache_dir, ignore_errors=True)   # so "first call" is a real compile

    def log(text):
        print(text, file=sys.stderr, flush=True)

    start, load_before = time.perf_counter(), os.getloadavg()[0]
    results = []
    for name in args.evals.split(","):
        spec = EVALS[name]
        log(f"{name}:")
        try:
            workloads, check = run_eval(spec, args, log)
        except (RuntimeError, OSError, json.JSONDecodeError) as exc:   # one broken eval must not end the run
            log(f"  {name} stopped: {exc}")
            workloads, check = [], {"ok": False, "error": f"the run stopped: {exc}"}
        results.append((spec, workloads, check))
    text = render(results, args, time.perf_counter() - start, load_before, os.getloadavg()[0])
    print(text)
    args.out.write_text(text + "\n")
    log(f"written to {args.out}")


if __name__ == "__main__":
    main()
