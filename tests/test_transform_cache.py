"""The transform cache: a new process reuses what an earlier one generated, and only while every
source and global it was built from is unchanged."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)

HELPER = textwrap.dedent("""
    import numpy as np

    def energy(x, w):
        return np.sum(w * x * x)
""")

MODEL = textwrap.dedent("""
    import numpy as np
    from helper import energy

    WEIGHTS = np.array([1.0, 2.0, 3.0])
    SCALE = 2.0
    DAMPED = False

    def loss(x):
        total = 0.0
        for i in range(x.shape[0]):
            total += SCALE * np.sin(x[i])
        if DAMPED:   # folded into the code: the flag's value is part of the key
            total = 0.5 * total
        return total + energy(x, WEIGHTS)
""")

SCRIPT = """
import json, sys
sys.path.insert(0, {user!r})
import numpy as np
import srcgrad, srcgrad.pipeline as pipeline
runs = []
build = pipeline.ModuleBuilder.build
def counted(self, *args, **kwargs):
    runs.append(1)
    return build(self, *args, **kwargs)
pipeline.ModuleBuilder.build = counted
import model
g = srcgrad.grad(model.loss, backend={backend!r})
print(json.dumps({{"grad": g(np.array([0.5, -1.0, 2.0])).tolist(), "compiled": len(runs) > 0}}))
"""


def _run(user: Path, cache: Path, backend: str) -> dict:
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(cache))
    script = SCRIPT.format(user=str(user), backend=backend)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _expected(scale=2.0, weights=(1.0, 2.0, 3.0), power=2, damping=1.0):
    x = np.array([0.5, -1.0, 2.0])
    return damping * scale * np.cos(x) + power * np.array(weights) * x ** (power - 1)


@pytest.fixture
def user(tmp_path):
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "helper.py").write_text(HELPER)
    (tmp_path / "user" / "model.py").write_text(MODEL)
    return tmp_path / "user", tmp_path / "cache"


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_second_process_does_not_run_the_compiler(user, backend):
    first, second = _run(*user, backend), _run(*user, backend)
    assert first["compiled"] and not second["compiled"]
    np.testing.assert_allclose(first["grad"], _expected(), rtol=1e-12)
    assert second["grad"] == first["grad"]
    assert len(list(user[1].glob("srcgrad_idx_*.pickle"))) == 1


@pytest.mark.parametrize("edit, expected", [
    (("model.py", "SCALE = 2.0", "SCALE = 5.0"), _expected(scale=5.0)),
    (("model.py", "[1.0, 2.0, 3.0]", "[1.0, 2.0, 7.0]"), _expected(weights=(1.0, 2.0, 7.0))),
    (("model.py", "np.sin(x[i])", "np.sin(x[i]) + 0.0"), _expected()),
    (("model.py", "DAMPED = False", "DAMPED = True"), _expected(damping=0.5)),
    (("helper.py", "w * x * x", "w * x * x * x"), _expected(power=3)),
])
def test_an_edited_source_or_global_builds_again(user, edit, expected):
    assert _run(*user, "python")["compiled"]
    name, old, new = edit
    path = user[0] / name
    path.write_text(path.read_text().replace(old, new))
    again = _run(*user, "python")
    assert again["compiled"]
    np.testing.assert_allclose(again["grad"], expected, rtol=1e-12)


def test_a_damaged_module_is_never_run(user):
    first = _run(*user, "python")
    for module in user[1].glob("srcgrad_gen_*.py"):
        module.write_text(module.read_text().replace("np.cos", "np.sin"))
    again = _run(*user, "python")
    assert again["compiled"] and again["grad"] == first["grad"]


def test_a_damaged_entry_only_means_building_again(user):
    first = _run(*user, "python")
    for entry in user[1].glob("srcgrad_idx_*.pickle"):
        entry.write_bytes(b"not a pickle")
    again = _run(*user, "python")
    assert again["compiled"] and again["grad"] == first["grad"]
    assert not _run(*user, "python")["compiled"]   # the entry was written again


def test_clearing_the_cache_removes_its_entries(user, monkeypatch):
    _run(*user, "python")
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(user[1]))
    import srcgrad
    assert list(user[1].glob("srcgrad_idx_*.pickle"))
    srcgrad.clear_cache()
    assert not list(user[1].glob("srcgrad_idx_*.pickle")) and not list(user[1].glob("srcgrad_gen_*.py"))
    assert _run(*user, "python")["compiled"]


WARNED = """
import sys, warnings
sys.path.insert(0, {user!r})
import srcgrad
import model
with warnings.catch_warnings(record=True) as said:
    warnings.simplefilter("always")
    srcgrad.grad(model.newton, memory="1MB", backend="python")(2.0)
print(sum("is not checkpointed under memory=" in str(w.message) for w in said))
"""


def test_a_second_process_gives_the_compilers_warnings_again(user):
    """A loop the budget cannot checkpoint is warned about when the derivative is built; a process
    that loads the build from the transform cache warns the same."""
    (user[0] / "model.py").write_text(MODEL + textwrap.dedent("""
        def newton(a):
            x = a
            while abs(x * x - a) > 1e-12:
                x = 0.5 * (x + a / x)
            return x
    """))
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(user[1]))
    counts = [subprocess.run([sys.executable, "-c", WARNED.format(user=str(user[0]))], env=env, capture_output=True,
                             text=True, check=True).stdout.strip() for _ in range(2)]
    assert counts == ["1", "1"]
    assert len(list(user[1].glob("srcgrad_idx_*.pickle"))) == 1   # the second came from the cache
