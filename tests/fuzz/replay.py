"""Re-run every check on one function (what a reproducer file calls) and print what disagrees."""
from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import tempfile

from .checks import PARALLEL_LOOP, Trial, parallel_version, with_prange
from .plan import APIS, Plan


def replay(f, args, wrt, seed: str, backends=("python", "numba"), apis=APIS) -> Trial:
    trial = Trial(f, args, wrt, seed)
    if "parallel" in backends and PARALLEL_LOOP.search(inspect.getsource(sys.modules[f.__module__])):
        trial.parallel_f = parallel_version(_prange_version(f))
    trial.run(Plan(backends=tuple(backends), apis=tuple(apis)))
    for finding in trial.failures:
        print("FAILED", finding.describe(), "\n")
    for finding in trial.refusals:
        print("refused", finding.describe(), "\n")
    if not trial.failures and not trial.refusals:
        print(f"all checks agree ({', '.join(backends)}; {', '.join(apis)})")
    return trial


def _prange_version(f):
    """f's module again, its loops written with prange (the "parallel" backend's program)."""
    source = with_prange(inspect.getsource(sys.modules[f.__module__]).split('\nif __name__ == "__main__":')[0])
    path = os.path.join(tempfile.mkdtemp(prefix="srcgrad-replay-"), "prange_version.py")
    with open(path, "w") as file:
        file.write(source)
    spec = importlib.util.spec_from_file_location("prange_version", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["prange_version"] = module
    spec.loader.exec_module(module)
    return getattr(module, f.__name__)
