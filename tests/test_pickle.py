"""Derivative functions pickle as their recipe and are rebuilt where they are unpickled (a Dask
worker, another process with its own cache directory)."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import srcgrad
from tests import target_functions as tf

ROOT = Path(__file__).resolve().parent.parent
rng = np.random.default_rng(5)
W, X, Y = rng.normal(size=3), rng.normal(size=(20, 3)), rng.normal(size=20)


def close(a, b):
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        if isinstance(x, tuple):
            close(x, y)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-12)


MADE = [
    (lambda: srcgrad.grad(tf.least_squares, wrt=(0, 1)), (W, 0.2, X, Y)),
    (lambda: srcgrad.value_and_grad(tf.least_squares), (W, 0.2, X, Y)),
    (lambda: srcgrad.jvp(tf.least_squares), (W, 0.2, X, Y, np.ones(3))),
    (lambda: srcgrad.vjp(tf.decay_residuals), (np.array([2.0, 0.7, 0.1]), np.linspace(0, 3, 20), Y, Y)),
    (lambda: srcgrad.jacfwd(tf.decay_residuals), (np.array([2.0, 0.7, 0.1]), np.linspace(0, 3, 20), Y)),
    (lambda: srcgrad.jacrev(tf.decay_residuals), (np.array([2.0, 0.7, 0.1]), np.linspace(0, 3, 20), Y)),
    (lambda: srcgrad.derivative(tf.smooth_abs), (0.3,)),
    (lambda: srcgrad.hvp(tf.least_squares), (W, 0.2, X, Y, np.ones(3))),
    (lambda: srcgrad.hessian(tf.least_squares), (W, 0.2, X, Y)),
    (lambda: srcgrad.jacfwd(srcgrad.grad(tf.least_squares)), (W, 0.2, X, Y)),
    (lambda: srcgrad.grad(tf.least_squares, target="parallel"), (W, 0.2, X, Y)),
    (lambda: srcgrad.grad(tf.bs_call, wrt=(0, 1), target="parallel"), (np.full(4, 100.0), np.full(4, 0.2), 0.03, 100.0, 1.0)),
]


@pytest.mark.parametrize("make, args", MADE, ids=[str(k) for k in range(len(MADE))])
def test_a_pickled_derivative_computes_the_same(make, args):
    g = make()
    data = pickle.dumps(g)
    assert len(data) < 2000   # the recipe, not the generated module
    close(pickle.loads(data)(*args), g(*args))


def run(code: str, tmp_path, cache: str) -> str:
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / cache))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_another_process_rebuilds_it_from_its_own_cache(tmp_path):
    (tmp_path / "g.pkl").write_bytes(pickle.dumps(srcgrad.grad(tf.least_squares, wrt=(0, 1))))
    out = run("import pickle, numpy as np\nfrom tests.test_pickle import W, X, Y\n"
              "g = pickle.load(open('g.pkl', 'rb'))\nprint(repr(np.asarray(g(W, 0.2, X, Y)[0]).tolist()))", tmp_path, "worker")
    np.testing.assert_allclose(eval(out), srcgrad.grad(tf.least_squares, wrt=(0, 1))(W, 0.2, X, Y)[0], rtol=1e-12)
    assert any((tmp_path / "worker").glob("srcgrad_gen_*.py"))   # generated there, not read from a shared place


def test_a_function_from_a_script_travels_with_its_source(tmp_path):
    # loss calls a helper of the script, which reads a constant of its own: both sources travel
    (tmp_path / "script.py").write_text(
        "import cloudpickle, numpy as np, srcgrad\n\nSCALE = 3.0\nSHIFT = 0.0\n\n\ndef wave(x):\n"
        "    y = x\n    for k in range(2):\n        y = y + SHIFT * k\n    return np.sin(y)\n\n\ndef loss(x):\n"
        "    return SCALE * np.sum(wave(x) ** 2)\n\n\n"
        "open('g.pkl', 'wb').write(cloudpickle.dumps(srcgrad.grad(loss)))\nprint(repr(srcgrad.grad(loss)(np.ones(3)).tolist()))\n")
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / "client"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    done = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = run("import pickle, numpy as np\ng = pickle.load(open('g.pkl', 'rb'))\nprint(repr(g(np.ones(3)).tolist()))",
              tmp_path, "worker")
    np.testing.assert_allclose(eval(out), eval(done.stdout), rtol=1e-12)
    np.testing.assert_allclose(eval(out), 3.0 * np.sin(2.0) * np.ones(3), rtol=1e-12)


def test_a_decorated_function_pickles_by_its_module_name(tmp_path):
    import cloudpickle
    x = np.array([0.3, 1.0])
    for module in (pickle, cloudpickle):
        data = module.dumps(tf.decorated_energy)
        assert len(data) < 200 and pickle.loads(data) is tf.decorated_energy
    (tmp_path / "g.pkl").write_bytes(pickle.dumps(tf.decorated_energy))
    out = run("import pickle, numpy as np\ng = pickle.load(open('g.pkl', 'rb'))\nprint(repr(g(np.array([0.3, 1.0])).tolist()))",
              tmp_path, "worker")
    np.testing.assert_allclose(eval(out), 2.0 * x + np.array([np.cos(0.3), 0.0]), rtol=1e-12)
