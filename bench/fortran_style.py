"""srcgrad's gradient on array code written the Fortran way, against numba's compile of the same code.

The programs (bench/fortran_programs.py) overwrite work arrays every step, update in place and
sweep grids row by row, as scientific code for numba is written. For each: numba's primal and
srcgrad's gradient (best of 7 calls, after a first call), their ratio, and a central-difference
check of the gradient along a random direction. Prints a markdown table and writes it to
`bench/fortran_style.md` (or `--out`). Run `python bench/fortran_style.py [--only name,name]`.
"""
import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numba
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import fortran_programs as P  # noqa: E402
import srcgrad  # noqa: E402


def cases(rng):
    grid = lambda n: rng.random((n, n))   # noqa: E731
    line = lambda n: rng.random(n)        # noqa: E731
    return [
        (P.heat_new_grid, (line(2000), 0.2, 200), (0, 1), "n=2000, 200 steps"),
        (P.heat_work_array, (line(2000), 0.2, 200), (0, 1), "n=2000, 200 steps"),
        (P.euler_subroutine, (line(2000), line(2000), 0.01, 200), (0, 1), "n=2000, 200 steps"),
        (P.heat2d_work_grid, (grid(100), 0.1, 50), (0, 1), "100×100, 50 steps"),
        (P.heat2d_tanh, (grid(100), 0.1, 50), (0, 1), "100×100, 50 steps"),
        (P.heat2d_insulated, (grid(80), 0.1, 20), (0, 1), "80×80, 20 steps"),
        (P.row_sweep, (grid(100) * 0.1, 0.01, 20), (0, 1), "100×100, 20 steps"),
        (P.gauss_seidel, (grid(100), 0.01, 50), (0, 1), "100×100, 50 sweeps"),
        (P.jacobi_new_grid, (grid(100), 0.01, 50), (0, 1), "100×100, 50 sweeps"),
        (P.sor, (grid(80), 1.3, 20), (0, 1), "80×80, 20 sweeps"),
        (P.red_black, (grid(80), 20), 0, "80×80, 20 sweeps"),
        (P.upwind_in_place, (line(2000), 0.4, 100), (0, 1), "n=2000, 100 steps"),
        (P.thomas, (line(20000), 3.0 + line(20000), line(20000), line(20000)), (0, 1, 2, 3), "n=20000"),
        (P.implicit_heat, (line(2000), 0.3, 100), (0, 1), "n=2000, 100 steps"),
        (P.running_sums, (line(2000) * 0.001, 50), 0, "n=2000, 50 steps"),
        (P.reaction_diffusion, (line(2000), line(2000), 0.1, 0.05, 100), (0, 1, 2, 3), "n=2000, 100 steps"),
        (P.columns_then_rows, (grid(80), 10), 0, "80×80, 10 steps"),
    ]


def numba_primal(f):
    """numba.njit of `f`, its module's helpers compiled too (a subroutine it calls)."""
    scope = dict(vars(P))
    for name, value in vars(P).items():
        if isinstance(value, types.FunctionType) and value is not f:
            scope[name] = numba.njit(value)
    return numba.njit(types.FunctionType(f.__code__, scope))


def best(fn, args, reps=7) -> float:
    fastest = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn(*args)
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def fd_error(f, args, gradient, wrt, rng) -> float:
    """Relative error of the gradient against a central difference along a random direction of the first input."""
    first = wrt[0] if isinstance(wrt, tuple) else wrt
    grad = gradient[0] if isinstance(wrt, tuple) else gradient
    v = rng.standard_normal(np.shape(args[first]))
    h = 1e-6
    up, down = list(args), list(args)
    up[first], down[first] = args[first] + h * v, args[first] - h * v
    fd = (f(*up) - f(*down)) / (2 * h)
    ad = float(np.sum(grad * v))
    return abs(fd - ad) / max(abs(fd), 1e-12)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated program names")
    parser.add_argument("--out", default=str(HERE / "fortran_style.md"))
    options = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    for f, args, wrt, size in cases(rng):
        if options.only and f.__name__ not in options.only.split(","):
            continue
        primal, gradient = numba_primal(f), srcgrad.grad(f, wrt=wrt)
        primal(*args)
        value = gradient(*args)
        t_primal, t_gradient = best(primal, args), best(gradient, args)
        rows.append(f"| {f.__name__} | {size} | {t_primal * 1e3:.3f} ms | {t_gradient * 1e3:.3f} ms | "
                    f"{t_gradient / t_primal:.1f} | {fd_error(f, args, value, wrt, rng):.1e} |")
        print(rows[-1], flush=True)
    table = ["| program | size | numba primal | srcgrad gradient | ratio | fd rel err |", "|---|---|---|---|---|---|"] + rows
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    Path(options.out).write_text(f"srcgrad {commit or srcgrad.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
                                 "one run on this machine\n\n" + "\n".join(table) + "\n")


if __name__ == "__main__":
    main()
