"""Re-run every check on one function (what a reproducer file calls) and print what disagrees."""
from __future__ import annotations

from .checks import Trial
from .plan import APIS, Plan


def replay(f, args, wrt, seed: str, backends=("python", "numba"), apis=APIS) -> Trial:
    trial = Trial(f, args, wrt, seed)
    trial.run(Plan(backends=tuple(backends), apis=tuple(apis)))
    for finding in trial.failures:
        print("FAILED", finding.describe(), "\n")
    for finding in trial.refusals:
        print("refused", finding.describe(), "\n")
    if not trial.failures and not trial.refusals:
        print(f"all checks agree ({', '.join(backends)}; {', '.join(apis)})")
    return trial
