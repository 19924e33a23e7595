"""Checkpointed reverse mode: gradient time and peak memory of a long Lorenz run against the budget.

    python bench/checkpoint.py            # the issue's numbers: 10^7 un-checkpointed, 10^8 and 10^9 steps
    python bench/checkpoint.py --quick    # 10^6 and 10^7 steps, a minute

Each measurement runs in a fresh process (compiled code comes from the caches): after one small
call it resets the peak resident memory (/proc/self/clear_refs), makes the timed call, and reports
the peak above the memory it had before the call. Beside srcgrad: jax.checkpoint on a lax.scan
version of the same model (full tape, every step rematerialised, sqrt(n) nested segments), when JAX
is installed. Prints a markdown table and writes bench/checkpoint.md and, with matplotlib,
bench/checkpoint.png.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numba
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import srcgrad  # noqa: E402
from bench.workloads import lorenz, lorenz_inputs  # noqa: E402
from srcgrad_runtime import revolve as R  # noqa: E402
from srcgrad_runtime.revolve import ACTION, ADVANCE, ARGUMENT, UNTIL, revolve_next, segment_start  # noqa: E402


def lorenz_revolve20(state, params, dt, T):
    """bench.workloads.lorenz with its loop marked: 20 snapshots, one step per segment."""
    x, y, z = state[0], state[1], state[2]
    sigma, rho, beta = params[0], params[1], params[2]
    for t in srcgrad.checkpoint(range(T), snapshots=20):
        dx = sigma * (y - x)
        dy = x * (rho - z) - y
        dz = x * y - beta * z
        x = x + dt * dx
        y = y + dt * dy
        z = z + dt * dz
    return x * x + y * y + z * z


def _memory() -> dict:
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":")
                found[key] = int(value.split()[0]) * 1024
    return found


def _srcgrad_gradient(config: str):
    if config == "revolve20":
        return srcgrad.grad(lorenz_revolve20, wrt=(0, 1))
    return srcgrad.grad(lorenz, wrt=(0, 1), memory=None if config == "full" else config)


def _jax_gradient(config: str, steps: int):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def step(carry, _):
        x, y, z, sigma, rho, beta, dt = carry
        dx = sigma * (y - x)
        dy = x * (rho - z) - y
        dz = x * y - beta * z
        return (x + dt * dx, y + dt * dy, z + dt * dz, sigma, rho, beta, dt), None

    def run(carry, length, body):
        return jax.lax.scan(body, carry, None, length=length)[0]

    def loss(state, params, dt):
        carry = (state[0], state[1], state[2], params[0], params[1], params[2], dt)
        if config == "full":
            carry = run(carry, steps, step)
        elif config == "every step":
            carry = run(carry, steps, jax.checkpoint(step))
        else:   # sqrt(n) segments, each rematerialised: the outer scan keeps one carry per segment
            length = int(np.ceil(np.sqrt(steps)))
            segment = jax.checkpoint(lambda c, _: (run(c, length, step), None))
            carry = run(carry, steps // length, segment)
            carry = run(carry, steps - (steps // length) * length, step)
        x, y, z = carry[:3]
        return x * x + y * y + z * z

    state, params, dt, _ = lorenz_inputs(steps)
    # compiled ahead of time: a first call would leave its buffers in JAX's allocator, hiding the peak
    g = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(jnp.asarray(state), jnp.asarray(params), dt).compile()
    return lambda state, params, dt, T: jax.block_until_ready(g(jnp.asarray(state), jnp.asarray(params), dt))


def _reruns(config: str, steps: int) -> float:
    """Iterations the reverse sweep re-runs without a tape, per iteration: what revolve predicts."""
    if config == "full":
        return 0.0
    budget = srcgrad.budget.parse_memory(config) if config != "revolve20" else 0
    schedule = R.checkpoint_schedule(steps, 24, 24, budget, 20 if config == "revolve20" else 0, 0)
    return _count_reruns(schedule) / steps


@numba.njit
def _count_reruns(schedule):
    total = 0
    while revolve_next(schedule):
        if schedule[ACTION] == ADVANCE:
            total += segment_start(schedule, schedule[UNTIL]) - segment_start(schedule, schedule[ARGUMENT])
    return total


def measure_one(tool: str, config: str, steps: int) -> dict:
    """In this process: one small call, then the timed call with its peak memory."""
    if tool == "srcgrad":
        g = _srcgrad_gradient(config)
        g(*lorenz_inputs(1000))
    else:
        g = _jax_gradient(config, steps)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = _memory()["VmRSS"]
    start = time.perf_counter()
    grads = g(*lorenz_inputs(steps))
    seconds = time.perf_counter() - start
    peak = _memory()["VmHWM"] - before
    return {"tool": tool, "config": config, "steps": steps, "seconds": seconds, "peak_mb": peak / 1e6,
            "reruns": _reruns(config, steps) if tool == "srcgrad" else None,
            "grad": [float(v) for v in np.concatenate([np.ravel(np.asarray(a)) for a in grads])]}


def run_one(tool: str, config: str, steps: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", tool, config, str(steps)], capture_output=True,
                         text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"{tool} {config} {steps}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", nargs=3, metavar=("TOOL", "CONFIG", "STEPS"))
    parser.add_argument("--no-jax", action="store_true")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one[0], args.one[1], int(args.one[2]))))
        return
    small, large, huge = (10 ** 6, 10 ** 7, None) if args.quick else (10 ** 7, 10 ** 8, 10 ** 9)
    budgets = ["1GB", "100MB", "10MB", "1MB", "revolve20"]
    rows = [run_one("srcgrad", "full", small)]
    rows += [run_one("srcgrad", budget, large) for budget in budgets]
    if huge:
        rows.append(run_one("srcgrad", "100MB", huge))
    comparison = []
    if not args.no_jax:
        try:
            import jax  # noqa: F401
            comparison = [run_one("srcgrad", c, small) for c in ("full", "10MB", "1MB")]
            comparison += [run_one("jax", c, small) for c in ("full", "every step", "sqrt segments")]
        except ImportError:
            print("JAX is not installed: the comparison is left out")
    report = _report(rows, comparison, small, large)
    print(report)
    with open(os.path.join(HERE, "checkpoint.md"), "w") as out:
        out.write(report)
    _plot(rows + comparison)


def _report(rows, comparison, small, large) -> str:
    full = rows[0]
    scaled = full["seconds"] * large / small
    reference = np.array(full["grad"])
    lines = ["# Checkpointed reverse mode: Lorenz (explicit Euler), gradient w.r.t. state and parameters", "",
             f"Un-checkpointed at {small:.0e} steps: {full['seconds']:.3f} s, peak {full['peak_mb']:.0f} MB "
             f"(scaled to {large:.0e} steps: {scaled:.2f} s, {full['peak_mb'] * large / small:.0f} MB).", "",
             "| steps | budget | time (s) | × un-checkpointed, scaled | peak memory (MB) | re-runs per step (revolve) |",
             "|---:|---|---:|---:|---:|---:|"]
    for row in rows:
        ratio = row["seconds"] / (full["seconds"] * row["steps"] / small)
        budget = "none" if row["config"] == "full" else "20 snapshots, 1 step per segment" if row["config"] == "revolve20" else row["config"]
        lines.append(f"| {row['steps']:.0e} | {budget} | {row['seconds']:.3f} | {ratio:.2f} | {row['peak_mb']:.1f} "
                     f"| {row['reruns']:.2f} |")
    same = [r for r in rows if r["steps"] == small]
    if len(same) > 1:
        lines.append(f"\nLargest relative difference from the un-checkpointed gradient at {small:.0e} steps: "
                     f"{max(np.max(np.abs(np.array(r['grad']) - reference) / np.abs(reference)) for r in same):.1e}")
    if comparison:
        lines += ["", f"## Beside JAX at {small:.0e} steps (lax.scan, jax.checkpoint; jit on the CPU)", "",
                  "| tool | checkpointing | time (s) | peak memory (MB) |", "|---|---|---:|---:|"]
        lines += [f"| {r['tool']} | {r['config']} | {r['seconds']:.3f} | {r['peak_mb']:.1f} |" for r in comparison]
    return "\n".join(lines) + "\n"


def _plot(rows) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    for tool, marker in (("srcgrad", "o"), ("jax", "s")):
        for steps in sorted({r["steps"] for r in rows if r["tool"] == tool}):
            chosen = [r for r in rows if r["tool"] == tool and r["steps"] == steps]
            axes.scatter([max(r["peak_mb"], 0.01) for r in chosen], [r["seconds"] for r in chosen], marker=marker,
                         label=f"{tool}, {steps:.0e} steps")
            for r in chosen:
                axes.annotate(r["config"], (max(r["peak_mb"], 0.01), r["seconds"]), fontsize=7)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("peak memory of the gradient call (MB)")
    axes.set_ylabel("time (s)")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(os.path.join(HERE, "checkpoint.png"), dpi=120)


if __name__ == "__main__":
    main()
