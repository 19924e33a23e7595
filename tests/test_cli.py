"""The `srcgrad` command line (run as `python -m srcgrad` in a subprocess) and the cache's size cap."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import srcgrad
from srcgrad import cli
from srcgrad.emit import cache

MODEL = '''import numpy as np


def loss(w, X, k):
    total = 0.0
    for i in range(X.shape[0]):
        total += np.tanh(X[i] @ w) ** k
    return total


def generator(x):
    return np.sum(x) if x[0] > 0.0 else sum(v * v for v in x)
'''


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "broken.py").write_text("def f(x):\n    return x +\n")
    return tmp_path


def srcgrad_command(workspace, *arguments):
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(workspace / "cache"))
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.run([sys.executable, "-m", "srcgrad", *arguments], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=300)


def test_show_prints_the_generated_source_in_both_modes(workspace):
    reverse = srcgrad_command(workspace, "show", "model.py:loss", "--shapes", "3,4x3,i2")
    assert reverse.returncode == 0, reverse.stderr
    assert "def vjp_loss(w, X, k, out_bar):" in reverse.stdout and "w_bar +=" in reverse.stdout
    forward = srcgrad_command(workspace, "show", "model.py:loss", "--mode", "forward", "--shapes", "3,4x3,i2")
    assert forward.returncode == 0, forward.stderr
    assert "def jvp_loss(w, X, k, dw):" in forward.stdout and "# total += np.tanh(X[i] @ w) ** k" in forward.stdout


def test_show_after_a_pass_and_beside_the_function(workspace):
    after = srcgrad_command(workspace, "show", "model.py:loss", "--after", "anf")
    assert after.returncode == 0, after.stderr
    assert "# ---- loss after anf ----" in after.stdout and "matmul = X_i @ w" in after.stdout
    diff = srcgrad_command(workspace, "show", "model.py:loss", "--diff", "--shapes", "3,4x3,i2")
    assert diff.returncode == 0, diff.stderr
    assert "your function" in diff.stdout and "def loss(w, X, k):" in diff.stdout
    assert any("def loss(w, X, k):" in line and "| @jit" in line for line in diff.stdout.splitlines())
    assert srcgrad_command(workspace, "show", "model.py:loss", "--after", "nothing").returncode == 2   # argparse: not a pass


def test_check_reports_a_verdict_per_argument(workspace):
    done = srcgrad_command(workspace, "check", "model.py:loss", "--shapes", "3,4x3,i2", "--wrt", "0,1")
    assert done.returncode == 0, done.stderr
    assert re.search(r"w: forward mode, reverse mode and finite differences agree at 3 random points "
                     r"\(largest relative difference from central differences \d\.\de-\d\d\)", done.stdout)
    assert "X: forward mode, reverse mode and finite differences agree" in done.stdout


@pytest.mark.parametrize("arguments, message", [
    (("show", "missing.py:loss"), "missing.py: no such file"),
    (("show", "model.py:nothing"), "model.py has no function 'nothing'"),
    (("show", "model.py"), "name a function as FILE:FUNCTION"),
    (("show", "broken.py:f", "--shapes", "f"), "broken.py:2: invalid syntax"),
    (("show", "model.py:generator", "--shapes", "3"), "model.py:12:(.|\n)*generator expression"),
    (("check", "model.py:loss", "--shapes", "3,4x3"), "--shapes names 2 argument"),
    (("check", "model.py:loss"), "check needs --shapes"),
    (("cache", "clear", "--older-than", "soon"), "give an age such as 30d"),
])
def test_errors_print_the_library_message_and_exit_1(workspace, arguments, message, capsys, monkeypatch):
    monkeypatch.chdir(workspace)   # in this process: each case as a subprocess would cost seconds of imports
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(workspace / "cache"))
    assert cli.main(list(arguments)) == 1
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize("arguments, message", [
    (("show", "model.py:generator", "--shapes", "3"), "model.py:12:(.|\n)*generator expression"),
    (("show", "model.py:nothing"), "model.py has no function 'nothing'"),
    (("check", "broken.py:f", "--shapes", "f"), "broken.py:2: invalid syntax"),
])
def test_errors_exit_1_without_a_traceback_in_a_subprocess(workspace, arguments, message):
    done = srcgrad_command(workspace, *arguments)
    assert done.returncode == 1
    assert re.search(message, done.stderr) and "Traceback" not in done.stderr


def test_cache_info_and_clear(workspace):
    assert srcgrad_command(workspace, "show", "model.py:loss", "--shapes", "3,4x3,i2").returncode == 0
    info = srcgrad_command(workspace, "cache", "info")
    assert str(workspace / "cache") in info.stdout and "modules:  0" not in info.stdout
    assert "removed 0 module(s)" in srcgrad_command(workspace, "cache", "clear", "--older-than", "30d").stdout
    cleared = srcgrad_command(workspace, "cache", "clear")
    assert cleared.returncode == 0 and "removed 1 module(s)" in cleared.stdout
    assert "modules:  0" in srcgrad_command(workspace, "cache", "info").stdout


def test_the_size_cap_removes_the_least_recently_used_modules(tmp_path, monkeypatch):
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(cache.CAP_ENV, "0.003")   # 3 kB
    now = time.time()
    for k in range(5):   # five 1 kB modules, the first four unused for days
        path = tmp_path / f"srcgrad_gen_{k:016d}.py"
        path.write_bytes(b"#" * 1000)
        age = 86400 * (10 - k) if k < 4 else 0
        os.utime(path, (now - age, now - age))
    assert cache.enforce_cap(tmp_path) == 3
    left = sorted(p.name for p in tmp_path.glob("srcgrad_gen_*.py"))
    assert left == ["srcgrad_gen_0000000000000003.py", "srcgrad_gen_0000000000000004.py"]


def test_results_stay_right_under_a_tiny_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(cache.CAP_ENV, "0.000001")
    cache.reset_for_tests()

    def cubic(x):
        return x * x * x
    for point in (1.0, 2.0):
        assert srcgrad.grad(cubic, backend="python")(point) == pytest.approx(3 * point * point)
    cache.reset_for_tests()
