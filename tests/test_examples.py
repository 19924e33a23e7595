"""The example scripts run to completion (each asserts its own checks) in a fresh process.

Each runs with its own empty SRCGRAD_CACHE_DIR, so this also covers transform plus numba compile
from a cold cache, and with a small problem size where the script takes one.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CASES = [
    ("quickstart.py", {}, "OK: forward mode, reverse mode and finite differences agree."),
    ("heat_inverse.py", {"HEAT_INVERSE_N": "24"}, "OK: gradient matches finite differences and the fit recovers kappa and q."),
    ("seir_sensitivity.py", {"SEIR_STEPS": "400"}, "OK: jacfwd, jacrev and finite differences agree."),
    ("mlp_digits.py", {"MLP_STEPS": "60"}, "OK: the dict gradient matches finite differences and training lowers the loss."),
    ("option_greeks.py", {"NUMBA_ENABLE_CUDASIM": "1"}, "OK: the Greeks computed on numba's CUDA simulator match"),
    ("dask_fit.py", {"DASK_FIT_WORKERS": "2", "DASK_FIT_POINTS": "20000"},
     "OK: the distributed gradient matches the one-process gradient and the fit finds the centers."),
    ("dask_ensemble.py", {"DASK_ENSEMBLE_WORKERS": "2", "DASK_ENSEMBLE_MEMBERS": "200"},
     "OK: the ensemble's Jacobians and gradients from the cluster match this process's"),
    ("newton_fit.py", {"NEWTON_FIT_STEPS": "200", "NEWTON_FIT_PLOT": "newton_fit.png"}, "OK: Newton-CG with srcgrad's hvp reaches the fit"),
]


SLOW = {"newton_fit.py", "dask_ensemble.py", "dask_fit.py", "option_greeks.py", "mlp_digits.py", "seir_sensitivity.py",
        "heat_inverse.py"}   # 20-50 s each


@pytest.mark.parametrize("script, env, success", [pytest.param(*case, marks=pytest.mark.slow) if case[0] in SLOW else case
                                                  for case in CASES], ids=[case[0] for case in CASES])
def test_example_runs(script, env, success, tmp_path):
    run_env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / "cache"), **env)
    result = subprocess.run([sys.executable, str(EXAMPLES / script)], env=run_env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert success in result.stdout, result.stdout[-3000:]
