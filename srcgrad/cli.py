"""The `srcgrad` command: read a derivative's generated code, check it, manage the cache.

    srcgrad show model.py:loss --mode reverse --wrt 0 --shapes 5,3x3,f [--after anf | --diff]
    srcgrad check model.py:loss --shapes 5,3x3,f
    srcgrad cache info
    srcgrad cache clear [--older-than 30d]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path

import numpy as np

from . import api
from .check import GradientCheckError, check_grads
from .emit import cache
from .errors import SrcgradError

MODES = {"forward": api.jvp, "reverse": api.vjp}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except SrcgradError as exc:
        print(f"srcgrad: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="srcgrad", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="command")
    show = commands.add_parser("show", help="print the generated derivative source of a function")
    _function_arguments(show)
    show.add_argument("--mode", choices=sorted(MODES), default="reverse", help="reverse (vjp, default) or forward (jvp)")
    show.add_argument("--after", choices=pass_names(), metavar="PASS",
                      help=f"the code after one compiler pass instead: {', '.join(pass_names())}")
    show.add_argument("--diff", action="store_true", help="the function beside its derivative, in two columns")
    show.set_defaults(run=show_command)
    check = commands.add_parser("check", help="check a function's derivatives against finite differences")
    _function_arguments(check)
    check.add_argument("--points", type=int, default=3, help="random points to check at (default 3)")
    check.set_defaults(run=check_command)
    cache_parser = commands.add_parser("cache", help="the cache of generated modules")
    what = cache_parser.add_subparsers(required=True, metavar="action")
    what.add_parser("info", help="where the cache is and what it holds").set_defaults(run=cache_info_command)
    clear = what.add_parser("clear", help="delete generated modules (and numba's machine code for them)")
    clear.add_argument("--older-than", metavar="AGE", help="only those unused for AGE: 30d, 12h, 45m")
    clear.set_defaults(run=cache_clear_command)
    return parser


def _function_arguments(parser) -> None:
    parser.add_argument("function", metavar="FILE:FUNCTION", help="e.g. model.py:loss")
    parser.add_argument("--wrt", default="0", help="argument positions to differentiate, e.g. 0,1 (default 0)")
    parser.add_argument("--shapes", help="one per argument: f (a float), iN (the int N), N (a vector), NxM (a matrix)")


# ----- show and check ---------------------------------------------------------------------------

def pass_names() -> list:
    from .pipeline import NORMALIZE, REVERSE_ONLY
    return [name for name, _ in NORMALIZE + REVERSE_ONLY] + ["scalarize", "forward", "reverse"]


def show_command(args) -> int:
    fn = load_function(args.function)
    if args.after:   # the pipeline prints each pass named in SRCGRAD_DUMP_AFTER to stderr: send it here
        os.environ["SRCGRAD_DUMP_AFTER"] = args.after
        with contextlib.redirect_stderr(sys.stdout):
            _generated_source(fn, args)
        return 0
    source = _generated_source(fn, args)
    print(side_by_side(inspect.getsource(fn), source) if args.diff else source)
    return 0


def _generated_source(fn, args) -> str:
    """The derivative's source: for the kinds of sample arguments when --shapes is given."""
    wrt = _positions(args.wrt)
    derivative = MODES[args.mode](fn, wrt=wrt)
    if args.shapes:
        values = sample_arguments(fn, args.shapes, np.random.default_rng(0))
        extra = [np.ones_like(values[w], dtype=float) if np.ndim(values[w]) else 1.0 for w in wrt] if args.mode == "forward" \
            else [np.ones_like(np.asarray(fn(*values), dtype=float)) if np.ndim(fn(*values)) else 1.0]
        derivative(*values, *extra)
    return derivative.source


def side_by_side(left: str, right: str, width: int = 60) -> str:
    """Two columns: the user's function, and the generated code (its module header dropped)."""
    right_lines = right.splitlines()
    first = next((k for k, line in enumerate(right_lines) if line.startswith("@")), 0)
    left_lines = left.rstrip().splitlines()
    rows = [f"{'your function':<{width}} | generated derivative", "-" * width + "-+-" + "-" * width]
    for k in range(max(len(left_lines), len(right_lines) - first)):
        a = left_lines[k] if k < len(left_lines) else ""
        b = right_lines[first + k] if first + k < len(right_lines) else ""
        rows.append(f"{a[:width]:<{width}} | {b}")
    return "\n".join(rows)


def check_command(args) -> int:
    fn = load_function(args.function)
    if not args.shapes:
        raise SrcgradError("check needs --shapes: one per argument of the function (f, iN, N or NxM)")
    rng = np.random.default_rng(0)
    failed = 0
    for w in _positions(args.wrt):
        name = list(inspect.signature(fn).parameters)[w]
        largest = 0.0
        for point in range(args.points):
            values = sample_arguments(fn, args.shapes, rng)
            try:
                check_grads(fn, values, wrt=w, seed=point)
            except GradientCheckError as exc:
                print(f"{name}: DISAGREES at point {point + 1}: {exc}")
                failed += 1
                break
            largest = max(largest, _difference_from_fd(fn, values, w, rng))
        else:
            print(f"{name}: forward mode, reverse mode and finite differences agree at {args.points} random points "
                  f"(largest relative difference from central differences {largest:.1e})")
    return 1 if failed else 0


def _difference_from_fd(fn, values: tuple, w: int, rng) -> float:
    """|J v - central difference| / |J v| for a random direction v of argument w."""
    v = rng.normal(size=np.shape(values[w])) if np.ndim(values[w]) else float(rng.normal())
    tangent = np.asarray(api.jvp(fn, wrt=w)(*values, v)[1], dtype=float)
    h = 1e-6 * max(1.0, float(np.max(np.abs(values[w]))))
    shifted = lambda sign: tuple(a + sign * h * v if k == w else a for k, a in enumerate(values))  # noqa: E731
    fd = (np.asarray(fn(*shifted(1)), dtype=float) - np.asarray(fn(*shifted(-1)), dtype=float)) / (2 * h)
    return float(np.max(np.abs(tangent - fd)) / max(float(np.max(np.abs(tangent))), 1e-300))


def load_function(spec: str):
    """The function FILE:FUNCTION names, its module imported from its file (its directory first on sys.path)."""
    path, _, name = spec.rpartition(":")
    if not path or not name:
        raise SrcgradError(f"{spec!r}: name a function as FILE:FUNCTION, e.g. model.py:loss")
    file = Path(path)
    if not file.is_file():
        raise SrcgradError(f"{path}: no such file")
    sys.path.insert(0, str(file.resolve().parent))
    module_spec = importlib.util.spec_from_file_location(file.stem, file)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[file.stem] = module
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise SrcgradError(f"{exc.filename}:{exc.lineno}: {exc.msg}") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise SrcgradError(f"{path} has no function {name!r}")
    return fn


def sample_arguments(fn, shapes: str, rng) -> tuple:
    """Arguments for `fn` from a --shapes list: floats and arrays drawn from N(0, 1), ints as given."""
    parts = [s.strip() for s in shapes.split(",")]
    count = len(inspect.signature(fn).parameters)
    if len(parts) != count:
        raise SrcgradError(f"--shapes names {len(parts)} argument(s); {fn.__name__} takes {count}")
    return tuple(_sample(part, rng) for part in parts)


def _sample(part: str, rng):
    if part == "f":
        return float(rng.normal())
    if re.fullmatch(r"i-?\d+", part):
        return int(part[1:])
    if re.fullmatch(r"\d+(x\d+)*", part):
        return rng.normal(size=tuple(int(n) for n in part.split("x")))
    raise SrcgradError(f"--shapes: {part!r} is not f, iN, N or NxM")


def _positions(text: str) -> tuple:
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise SrcgradError(f"--wrt {text!r}: give argument positions, e.g. 0 or 0,2") from None


# ----- cache -------------------------------------------------------------------------------------

def cache_info_command(args) -> int:
    info = cache.info()
    print(f"location: {info['location']}")
    print(f"modules:  {info['modules']} ({info['bytes'] / 1e6:.1f} MB with numba's machine code)")
    if info["oldest"] is not None:
        print(f"oldest:   unused for {_age(info['oldest'])}")
    return 0


def cache_clear_command(args) -> int:
    seconds = _seconds(args.older_than) if args.older_than else None
    removed = cache.clear(older_than=seconds)
    print(f"removed {removed} module(s) from {cache.cache_dir()}")
    return 0


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([dhm])", text)
    if not match:
        raise SrcgradError(f"--older-than {text!r}: give an age such as 30d, 12h or 45m")
    return float(match.group(1)) * {"d": 86400, "h": 3600, "m": 60}[match.group(2)]


def _age(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} seconds"


if __name__ == "__main__":
    sys.exit(main())
