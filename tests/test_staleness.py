"""Derivatives follow the module as it is when they are made, and never a source file that no
longer matches the running code."""
import importlib
import sys
import textwrap

import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import srcgrad

MODULE = textwrap.dedent("""
    import numpy as np

    SCALE = 2.0
    WEIGHTS = np.array([1.0, 2.0, 3.0])

    def loss(x):
        return SCALE * np.sum(WEIGHTS * x * x)
""")


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    name = f"staleness_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    yield module, tmp_path / f"{name}.py"
    sys.modules.pop(name, None)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_new_derivative_sees_rebound_and_mutated_globals(user_module, backend):
    module, _ = user_module
    x = np.array([0.5, -1.0, 2.0])
    first = srcgrad.grad(module.loss, backend=backend)
    np.testing.assert_allclose(first(x), 2.0 * 2.0 * module.WEIGHTS * x)
    module.SCALE = 3.0
    np.testing.assert_allclose(srcgrad.grad(module.loss, backend=backend)(x), 2.0 * 3.0 * np.array([1.0, 2.0, 3.0]) * x)
    module.WEIGHTS[0] = 10.0
    np.testing.assert_allclose(srcgrad.grad(module.loss, backend=backend)(x), 2.0 * 3.0 * np.array([10.0, 2.0, 3.0]) * x)
    # the derivative made (and compiled) first keeps the values it was compiled with, as numba.njit does
    np.testing.assert_allclose(first(x), 2.0 * 2.0 * np.array([1.0, 2.0, 3.0]) * x)


def test_an_edited_source_file_is_refused_until_reloaded(user_module):
    module, path = user_module
    path.write_text(MODULE.replace("WEIGHTS * x * x", "WEIGHTS * x * x * x"))
    with pytest.raises(srcgrad.StaleSourceError, match="(?s)loss.*no longer matches.*reload"):
        srcgrad.grad(module.loss, backend="python")(np.ones(3))
    reloaded = importlib.reload(module)
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(srcgrad.grad(reloaded.loss, backend="python")(x), 2.0 * 3.0 * reloaded.WEIGHTS * x * x)
