"""Golden tests: the generated source of a few functions, stable and readable.

Run with SRCGRAD_UPDATE_GOLDEN=1 to rewrite the files after an intended change, then read the diff.
"""
import os
from pathlib import Path

import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import golden_functions as gf
import srcgrad

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    "jvp_horner": (lambda: srcgrad.jvp(gf.horner, wrt=1), (np.array([1.0, 2.0, 3.0]), 0.5, 1.0)),
    "grad_rosenbrock_loop": (lambda: srcgrad.grad(gf.rosenbrock), (np.linspace(-1, 1, 5),)),
    "grad_newton_while": (lambda: srcgrad.grad(gf.newton_sqrt), (2.0,)),
    "grad_soft_threshold_branch": (lambda: srcgrad.grad(gf.soft_threshold, wrt=(0, 1)), (1.3, 0.4)),
    "grad_running_max_writes": (lambda: srcgrad.grad(gf.running_max_of_sines), (np.linspace(0.1, 2.0, 6),)),
    "grad_oscillator_checkpointed": (lambda: srcgrad.grad(gf.oscillator_checkpointed, wrt=(0, 1, 2)), (1.0, 0.0, 4.0, 0.01, 50)),
    "hvp_rosenbrock_loop": (lambda: srcgrad.hvp(gf.rosenbrock), (np.linspace(-1, 1, 5), np.ones(5))),
    "hvp_newton_while": (lambda: srcgrad.hvp(gf.newton_sqrt), (2.0, 1.0)),
}


def _body(source: str) -> str:
    """The generated code without the module docstring, which names the source file's path."""
    return source[source.index("\n") + 1:]


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_golden(name):
    make, args = CASES[name]
    derivative = make()
    derivative(*args)
    source = _body(derivative.source)
    path = GOLDEN / f"{name}.py"
    if os.environ.get("SRCGRAD_UPDATE_GOLDEN"):
        path.write_text(source)
    assert source == path.read_text(), f"generated source of {name} changed; see {path}"
    compile(derivative.source, name, "exec")


def test_golden_values():
    """The pinned code computes the right numbers (so a golden file cannot pin a wrong derivative)."""
    assert np.isclose(srcgrad.grad(gf.newton_sqrt)(2.0), 0.5 / np.sqrt(2.0))
    value, gradient, curvature = srcgrad.hvp(gf.newton_sqrt)(2.0, 1.0)
    assert np.isclose(value, np.sqrt(2.0)) and np.isclose(curvature, -0.25 * 2.0 ** -1.5)
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(srcgrad.hvp(gf.rosenbrock)(x, np.ones(5))[2], srcgrad.hessian(gf.rosenbrock)(x) @ np.ones(5),
                               rtol=1e-13)
    value, tangent = srcgrad.jvp(gf.horner, wrt=1)(np.array([1.0, 2.0, 3.0]), 0.5, 1.0)
    assert (value, tangent) == (2.75, 5.0)
    d_x, d_lam = srcgrad.grad(gf.soft_threshold, wrt=(0, 1))(1.3, 0.4)
    assert np.isclose(d_x, np.exp(-0.4)) and np.isclose(d_lam, -np.exp(-0.4) - 0.9 * np.exp(-0.4))
