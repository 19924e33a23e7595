"""Lambdas, partials and bound methods are differentiated like the functions they are short for: `grad(lambda w: loss(w, data))`."""
import functools
import importlib
import sys
import textwrap

import numpy as np
import pytest

from corpus import damped, euler_steps
from gradcheck import check_jvp, check_vjp
import srcgrad

DATA = np.array([1.0, 2.0, 3.0])


def loss(w, d):
    return np.sum((w * d - 1.0) ** 2)


def closed_over(scale):
    return lambda w: loss(w, DATA) * scale


def two_on_one_line():
    return (lambda w: np.sum(w ** 2)), (lambda w: np.sum(np.sin(w) * w))


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_lambda_reading_a_closure_and_a_global(backend):
    w = np.array([0.5, -0.3, 1.2])
    f = closed_over(2.5)
    np.testing.assert_allclose(srcgrad.grad(f, backend=backend)(w), 2.5 * 2.0 * (w * DATA - 1.0) * DATA)
    check_vjp(f, (w,), 0, backend=backend)
    check_jvp(f, (w,), 0, backend=backend)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_lambdas_on_one_line_are_told_apart(backend):
    squares, sines = two_on_one_line()
    w = np.array([0.5, -0.3, 1.2])
    np.testing.assert_allclose(srcgrad.grad(squares, backend=backend)(w), 2.0 * w)
    np.testing.assert_allclose(srcgrad.grad(sines, backend=backend)(w), np.cos(w) * w + np.sin(w))


def test_a_lambda_of_two_arguments_and_its_source():
    f = lambda x, y: x * np.sin(y)   # noqa: E731
    value, (dx, dy) = srcgrad.value_and_grad(f, wrt=(0, 1))(0.5, 0.3)
    assert (value, dx, dy) == pytest.approx((0.5 * np.sin(0.3), np.sin(0.3), 0.5 * np.cos(0.3)))
    g = srcgrad.grad(f, wrt=1)
    g(0.5, 0.3)
    text = srcgrad.source(g)
    assert "def vjp_lambda_at_line_" in text and "# d(return x * np.sin(y))" in text


def test_an_edited_lambda_is_refused(tmp_path, monkeypatch):
    name = f"lambdas_{tmp_path.name}"
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent("""
        import numpy as np
        f = lambda x: np.sum(x * x)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    try:
        path.write_text(path.read_text().replace("x * x", "x * x * x"))
        with pytest.raises(srcgrad.StaleSourceError, match="no longer matches"):
            srcgrad.grad(module.f, backend="python")(np.ones(3))
    finally:
        sys.modules.pop(name, None)


def test_a_lambda_without_a_file_is_refused_with_the_reason():
    namespace = {"np": np}
    exec("f = lambda x: np.sum(x * x)", namespace)
    with pytest.raises(srcgrad.MissingSourceError, match="lambda.*Define the function with `def`"):
        srcgrad.grad(namespace["f"], backend="python")(np.ones(3))


def least_squares(w, X, y, lam=0.1):
    r = X @ w - y
    return np.sum(r * r) + lam * np.sum(w * w)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_partial_fixes_data_and_options(backend):
    import functools
    X = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.3]])
    y, w = np.array([1.0, 0.0, 2.0]), np.array([0.3, -0.2])
    g = srcgrad.grad(functools.partial(least_squares, X=X, y=y, lam=0.5), backend=backend)
    np.testing.assert_allclose(g(w), 2.0 * X.T @ (X @ w - y) + w)
    by_data = srcgrad.grad(functools.partial(least_squares, w), wrt="X", backend=backend)
    np.testing.assert_allclose(by_data(X, y), 2.0 * np.outer(X @ w - y, w))
    value, tangent = srcgrad.jvp(functools.partial(least_squares, X=X, y=y), backend=backend)(w, np.ones(2))
    assert tangent == pytest.approx(np.sum(2.0 * X.T @ (X @ w - y) + 0.2 * w))
    with pytest.raises(srcgrad.SrcgradError, match="does not name an argument"):
        srcgrad.grad(functools.partial(least_squares, X=X), wrt="X")


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_lambda_with_a_default_and_a_list_of_arrays(backend):
    w = np.array([0.5, -0.3, 1.2])
    g = srcgrad.grad(lambda v, c=2.0: np.sum(np.array([v, c * v]) ** 2), backend=backend)
    np.testing.assert_allclose(g(w), 2.0 * w * (1.0 + 4.0))


class Springs:
    """A model written as a class: parameters and data on `self`, a helper method."""

    def __init__(self, stiffness, rest):
        self.stiffness = stiffness
        self.rest = rest

    def stretch(self, x):
        return x - self.rest

    def energy(self, x, load):
        total = 0.0
        for i in range(x.shape[0]):
            total += 0.5 * self.stiffness[i] * self.stretch(x[i]) ** 2 - load * x[i]
        return total


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_bound_method_reads_self_as_constants(backend):
    x = np.array([0.3, 0.9, 1.4])
    soft, stiff = Springs(np.array([1.0, 2.0, 3.0]), 0.5), Springs(np.array([10.0, 20.0, 30.0]), 0.0)
    np.testing.assert_allclose(srcgrad.grad(soft.energy, backend=backend)(x, 0.2), soft.stiffness * (x - 0.5) - 0.2,
                               rtol=1e-13)
    np.testing.assert_allclose(srcgrad.grad(stiff.energy, backend=backend)(x, 0.2), stiff.stiffness * x - 0.2, rtol=1e-13)
    check_jvp(soft.energy, (x, 0.2), (0, 1), backend=backend)
    check_vjp(soft.energy, (x, 0.2), (0, 1), backend=backend)


def trajectory_loss(rhs, y0, h):
    return np.sum(euler_steps(rhs, y0, h, 20) ** 2)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_partial_fixing_a_function_argument(backend):
    g = srcgrad.grad(functools.partial(trajectory_loss, damped), wrt=(0, 1), backend=backend)
    check_vjp(functools.partial(trajectory_loss, damped), (np.array([0.3, 0.7, -0.2]), 0.1), (0, 1), backend=backend)
    assert g(np.array([0.3, 0.7, -0.2]), 0.1)[0].shape == (3,)
