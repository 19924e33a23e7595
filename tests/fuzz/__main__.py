"""Command line: `python -m tests.fuzz --n 5000 --seed 1 --backend both --jobs 2` (from the repository root)."""
from __future__ import annotations

import argparse
import os
import sys
import time

from .campaign import Settings, open_pool, run_campaign
from .generator import generate
from .plan import APIS
from .report import render, summary_line, write_reproducers
from .shrink import shrink

# "parallel": the program with its loops written as prange, on target="parallel" (compared with python);
# --cuda-every adds "cuda": the same program on target="cuda" (a GPU, or numba's simulator)
BACKENDS = {"python": ("python",), "numba": ("numba",), "both": ("python", "numba"),
            "all": ("python", "numba", "parallel")}


def parse(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    p.add_argument("--n", type=int, default=1000, help="programs to check (default 1000)")
    p.add_argument("--seed", default="1", help="campaign seed; program k uses seed SEED:k:attempt")
    p.add_argument("--backend", choices=sorted(BACKENDS), default="both")
    p.add_argument("--numba-every", type=int, default=1, help="run numba on every k-th program only")
    p.add_argument("--parallel-every", type=int, default=0,
                   help="with --backend all: target='parallel' on every k-th program only (default: as numba)")
    p.add_argument("--cuda-every", type=int, default=0,
                   help="also target='cuda' on every k-th program (needs a GPU or NUMBA_ENABLE_CUDASIM=1; default: never)")
    p.add_argument("--apis", default=",".join(APIS), help=f"comma-separated subset of {','.join(APIS)}")
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds per program before it counts as a hang")
    p.add_argument("--out", default="fuzz-failures", help="directory for the reproducers (default fuzz-failures/)")
    p.add_argument("--shrink-seconds", type=float, default=90.0, help="time to shrink one failing program")
    p.add_argument("--shrink-per-class", type=int, default=2,
                   help="failing programs to shrink per class (the smallest ones; default 2)")
    p.add_argument("--no-shrink", action="store_true", help="write the failing programs as found")
    p.add_argument("--cache-dir", default="", help="SRCGRAD_CACHE_DIR for the workers (default: a temporary one)")
    p.add_argument("--only", metavar="PROGRAM_SEEDS", default="",
                   help="check (and shrink) just these programs, e.g. 1:17:0,1:40:2 (as listed in a reproducer)")
    p.add_argument("--print", metavar="PROGRAM_SEED", help="print the program for a seed like 1:17:0 and exit")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p.parse_args(argv)


class Progress:
    """A progress line on stderr every 20 s, and a line for each failing program as it is found (a
    long campaign's failures can be looked at with --only before it ends)."""

    def __init__(self, total: int):
        self.total, self.start, self.last = total, time.monotonic(), 0.0
        self.reported: set = set()

    def __call__(self, results: dict) -> None:
        for index, outcome in results.items():
            if outcome.status == "failed" and index not in self.reported:
                self.reported.add(index)
                print(f"fuzz: program {outcome.program.seed} failed: {outcome.primary.signature[:160]}", file=sys.stderr, flush=True)
            suspicious = [r for r in outcome.refusals if "likely a srcgrad bug" in r.error]
            if suspicious and index not in self.reported:
                self.reported.add(index)
                print(f"fuzz: program {outcome.program.seed} refused, likely a srcgrad bug: {suspicious[0].error[:160]}",
                      file=sys.stderr, flush=True)
        now = time.monotonic()
        if now - self.last < 20 and len(results) < self.total:
            return
        self.last = now
        counts = {s: sum(o.status == s for o in results.values()) for s in ("agreed", "refused", "failed")}
        print(f"fuzz: {len(results)}/{self.total} programs, {now - self.start:.0f} s: {counts['agreed']} agreed, "
              f"{counts['refused']} refused, {counts['failed']} failed", file=sys.stderr, flush=True)


def shrink_classes(campaign, pool, per_class: int, seconds: float) -> dict:
    """signature -> shrunk examples of that failure class (its smallest programs), one per distinct result."""
    shrunk = {}
    for signature, outcomes in campaign.failure_classes().items():
        print(f"fuzz: shrinking {min(per_class, len(outcomes))} of {signature[:100]}", file=sys.stderr, flush=True)
        smallest = sorted(outcomes, key=lambda o: len(o.program.source))[:per_class]
        results = [shrink(outcome, pool, seconds) for outcome in smallest]
        shrunk[signature] = list({r.program.source: r for r in results}.values())
    return shrunk


def _gpu_present() -> bool:
    try:
        from numba import cuda
        return cuda.is_available()
    except Exception:
        return False


def main(argv=None) -> int:
    args = parse(argv)
    if args.print:
        print(generate(args.print).source)
        return 0
    if args.cuda_every and os.environ.get("NUMBA_ENABLE_CUDASIM") != "1" and not _gpu_present():
        print("fuzz: --cuda-every needs a GPU, or NUMBA_ENABLE_CUDASIM=1 in the environment (numba's simulator)",
              file=sys.stderr)
        return 2
    backends = BACKENDS[args.backend] + (("cuda",) if args.cuda_every else ())
    settings = Settings(n=args.n, seed=args.seed, backends=backends, apis=tuple(args.apis.split(",")),
                        every={"numba": args.numba_every, "parallel": args.parallel_every or args.numba_every,
                               "cuda": args.cuda_every or 1},
                        jobs=args.jobs, timeout=args.timeout,
                        cache_dir=args.cache_dir, only=tuple(s for s in args.only.split(",") if s))
    with open_pool(settings) as pool:
        campaign = run_campaign(settings, pool, None if args.quiet else Progress(settings.count))
        shrunk = {} if args.no_shrink or not campaign.failures else \
            shrink_classes(campaign, pool, args.shrink_per_class, args.shrink_seconds)
    paths = write_reproducers(campaign, shrunk, args.out) if campaign.failures else {}
    text = render(campaign, paths)
    print(text)
    if paths:
        with open(f"{args.out}/summary.txt", "w") as f:
            f.write(text + "\n")
        print(f"\n{summary_line(campaign)}; reproducers in {args.out}/")
    return 1 if campaign.failures else 0


if __name__ == "__main__":
    sys.exit(main())
