"""Callees whose returns are all tail returns (the last statement, or the last of each branch of a
final if/else, elif chains included) are inlined; other early returns keep the call (or, for a
callee that writes into its arguments, the error saying why it cannot be inlined)."""
import numpy as np
import pytest

from gradcheck import check_jvp, check_vjp, dot_product_test, numeric_jacobian  # first: puts the checkout on sys.path
import srcgrad
from srcgrad import syntax
from srcgrad.normalize.inline import _early_returns_nested, _tail_returns


def _rotate(rot, X):
    sqtheta = np.sum(rot ** 2)
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        w = rot / theta
        w_cross_X = np.cross(w, X)
        tmp = np.dot(w, X) * (1.0 - costheta)
        return X * costheta + w_cross_X * sintheta + w * tmp
    else:
        return X + np.cross(rot, X)


def rotated(rot, X):
    y = _rotate(rot, X)
    return np.sum(y * np.sin(y))


def _branchy(x, a):
    s = np.sum(x * x)
    if s > 1.0:
        y = np.sin(x) * a
        return y / s
    else:
        return x * np.cos(a) + s


def if_else_vector(x, a):
    return _branchy(x, a) * 2.0 + _branchy(0.5 * x, a)   # small: inlined at both calls


def _piecewise(t, c):
    if t < -0.5:
        return c * t * t
    elif t < 0.5:
        u = np.sin(t)
        return u * c + 1.0
    else:
        return np.exp(-t) * c


def elif_chain(x, c):
    total = 0.0
    for i in range(x.shape[0]):
        total = total + _piecewise(x[i], c) * x[i]
    return total


def _polar(p, q):
    r = np.sqrt(p * p + q * q)
    if p > 0.0:
        return r, np.arctan(q / p)
    else:
        return r * 1.0, np.arctan(q / p) + np.pi


def tuple_unpacked(z):
    r, theta = _polar(z[0], z[1])
    return r * np.cos(2.0 * theta) + theta * theta


def tuple_to_one_name(z):
    rt = _polar(z[0], z[1])
    return rt[0] * rt[1]


def _scale_into(out, x, h):
    for i in range(x.shape[0]):
        out[i] = x[i] * h
    if h > 0.0:
        return np.sum(out)
    else:
        return -np.sum(out * out)


def writes_then_returns(x, h):
    out = np.zeros(x.shape[0])
    s = _scale_into(out, x, h)
    return s * np.sum(out * np.cos(out))


def writes_value_dropped(x, h):
    out = np.zeros(x.shape[0])
    _scale_into(out, x, h)
    return np.sum(out * np.cos(out))


def _first_big(x, limit):
    acc = 0.0
    for i in range(x.shape[0]):
        acc = acc + x[i] * x[i]
        if acc > limit:
            return acc * 2.0
    return acc


def loop_return(x):
    return _first_big(x, 3.0) * x[0]


def _fill_until(out, x, limit):
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0
        if out[i] > limit:
            return i
    return x.shape[0]


def writes_and_returns_in_a_loop(x):
    out = np.zeros(x.shape[0])
    n = _fill_until(out, x, 3.0)
    return np.sum(out) * n


def _no_else(x, a):
    if x > a:
        return np.log(x)
    return x - a + np.log(a)


def if_without_else(x):
    return _no_else(x[0], 0.5) * x[1]


SMALL = np.array([0.3, -0.2, 0.4])          # sum of squares under 1: the else branch
LARGE = np.array([0.9, -1.1, 0.7])          # over 1: the if branch


def _check_both_modes(f, args, wrt):
    check_vjp(f, args, wrt)
    check_jvp(f, args, wrt)
    dot_product_test(f, args, wrt)


@pytest.mark.parametrize("rot", [np.array([0.3, -0.2, 0.5]), np.zeros(3)], ids=["rotates", "zero"])
def test_rodrigues_if_else_returns_are_inlined(rot):
    X = np.array([1.0, 2.0, -0.5])
    wrt = (0, 1) if np.any(rot) else 1   # at rot = 0 a step in rot takes the other branch
    _check_both_modes(rotated, (rot, X), wrt)
    g = srcgrad.grad(rotated, wrt=wrt)
    g(rot, X)
    assert "# inlined: _rotate(rot, X)" in g.source and "def vjp__rotate" not in g.source


@pytest.mark.parametrize("x", [pytest.param(SMALL, marks=pytest.mark.slow), LARGE], ids=["else", "if"])
def test_if_else_tail_returns_jacobians(x):
    a = 0.7
    _check_both_modes(if_else_vector, (x, a), (0, 1))
    for api in (srcgrad.jacrev, srcgrad.jacfwd):
        J = api(if_else_vector, wrt=0)(x, a)
        np.testing.assert_allclose(J, numeric_jacobian(if_else_vector, (x, a), 0), rtol=1e-6, atol=1e-8)
    g = srcgrad.vjp(if_else_vector, wrt=(0, 1))
    g(x, a, np.ones(3))
    assert g.source.count("# inlined: _branchy(") == 2 and "def vjp__branchy" not in g.source


def test_elif_chain_in_a_loop_takes_each_branch():
    x = np.array([-1.2, -0.7, -0.1, 0.2, 0.9, 1.6])   # each branch, away from its boundaries
    _check_both_modes(elif_chain, (x, 1.3), (0, 1))
    g = srcgrad.grad(elif_chain, wrt=(0, 1))
    g(x, 1.3)
    assert "# inlined: _piecewise(" in g.source and "def vjp__piecewise" not in g.source


@pytest.mark.parametrize("z", [np.array([0.8, 0.6]), np.array([-0.8, 0.6])], ids=["if", "else"])
def test_a_tuple_from_both_branches_is_unpacked(z):
    _check_both_modes(tuple_unpacked, (z,), 0)
    _check_both_modes(tuple_to_one_name, (z,), 0)
    g = srcgrad.grad(tuple_unpacked)
    g(z)
    assert "# inlined: _polar(" in g.source and "def vjp__polar" not in g.source


@pytest.mark.parametrize("h", [0.7, -0.4], ids=["if", "else"])
def test_a_callee_writing_into_its_argument_with_tail_returns(h):
    x = np.array([0.5, -1.0, 1.5])
    for f in (writes_then_returns, writes_value_dropped):
        _check_both_modes(f, (x, h), (0, 1))
        g = srcgrad.grad(f, wrt=(0, 1))
        g(x, h)
        assert "# inlined: _scale_into(out, x, h)" in g.source and "def vjp__scale_into" not in g.source


@pytest.mark.parametrize("x", [np.array([0.5, 0.4, 0.3]), np.array([1.5, 1.2, 0.3])], ids=["end", "early"])
def test_a_return_in_a_loop_keeps_the_call(x):
    _check_both_modes(loop_return, (x,), 0)
    g = srcgrad.grad(loop_return)
    g(x)
    assert "def vjp__first_big" in g.source and "# inlined: _first_big" not in g.source


def test_a_return_in_a_loop_of_a_callee_writing_into_its_argument_is_refused():
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match="writes into an array argument and returns early"):
        srcgrad.grad(writes_and_returns_in_a_loop)(np.array([0.5, 2.0, 0.1]))


def _fill_or_stop(out, x):
    if x[0] > 100.0:
        return 0.0
    out[0] = x[0] * x[1]
    return 1.0


def fills_unless_large(x):
    out = np.zeros(1)
    _fill_or_stop(out, x)
    return out[0] * x[0]


def test_a_callee_writing_into_its_argument_may_return_from_a_guard():
    _check_both_modes(fills_unless_large, (np.array([1.3, 0.8]),), 0)
    g = srcgrad.grad(fills_unless_large)
    g(np.array([1.3, 0.8]))
    assert "# inlined: _fill_or_stop(out, x)" in g.source


@pytest.mark.parametrize("x", [np.array([1.3, 0.8]), np.array([0.3, 0.8])], ids=["if", "fall-through"])
def test_an_if_that_returns_takes_what_follows_as_its_else(x):
    _check_both_modes(if_without_else, (x,), 0)
    g = srcgrad.grad(if_without_else)
    g(x)
    assert "def vjp__no_else" not in g.source and "# inlined: _no_else" in g.source


@pytest.mark.parametrize("source, tails", [
    ("return a", 1),
    ("if c:\n    return a\nelse:\n    return b", 2),
    ("if c:\n    return a\nelif d:\n    x = a\n    return x\nelse:\n    return b", 3),
    ("if c:\n    if d:\n        return a\n    else:\n        return b\nelse:\n    return c", 3),
    ("if c:\n    return a", None),                                   # falls off the end: returns None
    ("if c:\n    return a\nelse:\n    x = b", None),                  # a branch not ending in return
        ("for i in range(n):\n    return a\nreturn b", None),             # a return in a loop
    ("if c:\n    for i in range(n):\n        return a\n    return b\nelse:\n    return c", None),
    ("x = a", None),
    # an if whose every path returns holds what follows as its else
    ("if c:\n    return a\nx = b\nreturn x", 2),
    ("if c:\n    if d:\n        return a\n    return b\nreturn c", 3),
    ("if c:\n    x = a\nreturn b", 1),
    ("if c:\n    return a\nfor i in range(n):\n    return b\nreturn c", None),
])
def test_which_returns_are_tail_returns(source, tails):
    body = syntax.parse_module("def f(a, b, c, d, n):\n" + "".join(f"    {line}\n" for line in source.split("\n"))).body[0].body
    found = _tail_returns(_early_returns_nested(body))
    assert (None if found is None else len(found)) == tails
