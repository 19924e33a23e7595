"""How srcgrad's compile time grows with the function: straight-line code and loop nests.

For each length, a generated function (a chain of `a{k} = ...` statements mixing products, sin,
exp and quotients, or an n-deep loop nest) is differentiated in a fresh process with an empty cache,
on backend="python" so that numba's compile time is left out; the time is `grad(f)` (or `jvp(f)`)
plus its first call: srcgrad's passes, printing and loading the module. Prints one table and
writes `bench/transform_scaling.png` (time against length, both modes).

Run `python bench/transform_scaling.py [--lengths 50,100,200,400,1000,2000] [--depths 2,4,6,8]`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r'''
import importlib.util, json, sys, time
sys.path.insert(0, {root!r})
import srcgrad
spec = importlib.util.spec_from_file_location("scaled", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
start = time.perf_counter()
if {mode!r} == "reverse":
    srcgrad.grad(module.f, wrt=(0, 1), backend="python")(0.3, 0.7)
else:
    srcgrad.jvp(module.f, wrt=(0, 1), backend="python")(0.3, 0.7, 1.0, 0.0)
print(json.dumps(time.perf_counter() - start))
'''

STEPS = ["a{p} * 1.0001 + x", "np.sin(a{p}) * y", "a{p} / (1.0 + a{p} * a{p})", "np.exp(-a{p}) + a{p}"]


def straight_line(length: int) -> str:
    lines = ["def f(x, y):", "    a0 = x * y"]
    lines += [f"    a{k} = " + STEPS[k % 4].format(p=k - 1) for k in range(1, length)]
    return "\n".join(lines + [f"    return a{length - 1}"]) + "\n"


def loop_nest(depth: int) -> str:
    lines, indent = ["def f(x, y):", "    s = 0.0"], "    "
    for k in range(depth):
        lines.append(f"{indent}for i{k} in range(2):")
        indent += "    "
    lines.append(f"{indent}s = s + np.sin(x * s + y)")
    return "\n".join(lines + ["    return s"]) + "\n"


def transform_seconds(source: str, mode: str) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "scaled.py"
        path.write_text("import numpy as np\n\n" + source)
        child = CHILD.format(root=str(HERE.parent), path=str(path), mode=mode)
        env = dict(os.environ, SRCGRAD_CACHE_DIR=str(Path(scratch) / "cache"))
        out = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="50,100,200,400,1000,2000")
    parser.add_argument("--depths", default="2,4,6,8")
    args = parser.parse_args(argv)
    lengths = [int(n) for n in args.lengths.split(",")]
    depths = [int(n) for n in args.depths.split(",")]
    times = {mode: [transform_seconds(straight_line(n), mode) for n in lengths] for mode in ("forward", "reverse")}
    nests = {mode: [transform_seconds(loop_nest(d), mode) for d in depths] for mode in ("forward", "reverse")}
    print("| statements | forward (jvp) | reverse (grad) | reverse per statement |")
    print("|---|---|---|---|")
    for k, n in enumerate(lengths):
        print(f"| {n} | {times['forward'][k]:.2f} s | {times['reverse'][k]:.2f} s | "
              f"{1e3 * times['reverse'][k] / n:.1f} ms |")
    print("\n| loop nest depth | forward (jvp) | reverse (grad) |")
    print("|---|---|---|")
    for k, d in enumerate(depths):
        print(f"| {d} | {nests['forward'][k]:.2f} s | {nests['reverse'][k]:.2f} s |")
    _plot(lengths, times)


def _plot(lengths, times) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot)")
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    for mode, seconds in times.items():
        axes.plot(lengths, seconds, marker="o", label=mode)
    axes.set_xlabel("statements in the function")
    axes.set_ylabel("transform time (s), backend='python'")
    axes.set_title("srcgrad compile time against function length")
    axes.legend()
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(HERE / "transform_scaling.png", dpi=100)
    print(f"plot: {HERE / 'transform_scaling.png'}")


if __name__ == "__main__":
    main()
