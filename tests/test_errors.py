"""Rejected constructs and misuse give SrcgradError subclasses that say what and where.

Messages are matched loosely: the construct's name, ``file:line`` and the quoted source line,
never the exact wording.  An error may be raised when the derivative is built or when it is
first called; both count.
"""
import functools
import inspect
import math
import os
import re

import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import pass_functions as pf

import srcgrad

APIS = ("jvp", "grad")
THIS_FILE = os.path.basename(__file__)

# ---------------------------------------------------------------------------- rejected constructs
# Each function holds exactly one rejected construct, on the line containing its marker.


def uses_class(x):
    class Point:  # marker
        pass

    return x * x


def uses_genexp(x):
    s = x[0] if x[0] > 0.0 else sum(v * v for v in x)  # marker: evaluated on one branch only
    return s


def uses_listcomp(x):
    k = 0
    while sum([v * v for v in x]) * k < 1.0:  # marker: evaluated before every iteration
        k += 1
    return x[0] * k


def uses_try(x):
    try:  # marker
        y = x * x
    except ValueError:
        y = x
    return y


def uses_with(x):
    with np.errstate(all="ignore"):  # marker
        y = np.log(x)
    return y


def uses_lambda(x):
    sq = lambda v: v * v  # noqa: E731  marker
    return sq(x)


def repeats_a_list(x):
    pair = [x, 2.0]
    twice = pair * 2  # marker
    return twice[3]


def extends_a_list(x):
    items = []
    items.append(x)
    items += [x * x]  # marker
    return items[1]


_COUNTER = 0.0


def writes_global(x):
    global _COUNTER  # marker
    _COUNTER = x
    return x * x


def uses_yield(x):
    yield x * x  # marker


def _make_nonlocal():
    total = 0.0

    def uses_nonlocal(x):
        nonlocal total  # marker
        total = x
        return x * x

    return uses_nonlocal


uses_nonlocal = _make_nonlocal()


def _applied(fn, v):
    return fn(v)


def closes_over_a_local(x):
    # called directly, such a helper is lifted out with `scale` as a parameter (test_closures.py);
    # passed around as a value, it is not
    scale = 2.0 * x

    def scaled(v):  # marker
        return scale * v

    return _applied(scaled, x)


def star_args(*args):  # marker
    return args[0] * args[0]


def _bad_helper(x):
    return x[0] > 0.0 and sum(v * v for v in x)  # marker: evaluated on one path only


def calls_bad_helper(x):
    return _bad_helper(x) * 2.0


def discards_a_call(x):
    np.sin(x)  # marker
    return x * x


def _fill_until(out, x):
    for k in range(x.shape[0]):
        if x[k] > 100.0:
            return 0.0
        out[0] = x[k]
    return 1.0


def subroutine_returns_early(x):
    out = np.zeros(1)
    _fill_until(out, x)  # marker
    return out[0] * x[0]


def _stop_early(out, x):
    if x[0] > 100.0:
        return  # marker
    out[0] = x[0]


def subroutine_bare_return(x):
    out = np.zeros(1)
    _stop_early(out, x)
    return out[0] * x[0]


def _fill(out, x):
    out[0] = x[0] * x[0]


def uses_value_of_subroutine(x):
    out = np.zeros(1)
    y = _fill(out, x)  # marker
    return out[0] + y


REJECTED = [
    # (function, marker owner, construct regex, scalar or vector input)
    (uses_class, None, r"class", 0.5),
    (uses_genexp, None, r"generator", np.ones(3)),
    (uses_listcomp, None, r"comprehension", np.ones(3)),
    (uses_try, None, r"\btry\b", 0.5),
    (uses_with, None, r"\bwith\b", 0.5),
    (uses_lambda, None, r"lambda", 0.5),
    (writes_global, None, r"global", 0.5),
    (uses_yield, None, r"yield|generator", 0.5),
    (uses_nonlocal, None, r"nonlocal", 0.5),
    (star_args, None, r"\*args|star|var.?arg", 0.5),
    (closes_over_a_local, None, r"nested function that reads variables of the function around it", 0.5),
    (calls_bad_helper, _bad_helper, r"generator", np.ones(3)),
    (discards_a_call, None, r"expression statement", 0.5),
    (subroutine_returns_early, None, r"writes into an array argument and returns early", np.ones(2)),
    (uses_value_of_subroutine, None, r"returns nothing", np.ones(2)),
    (repeats_a_list, None, r"arithmetic on a Python list", 0.5),
    (extends_a_list, None, r"arithmetic on a Python list", 0.5),
]


def _marker_line(fn):
    """(line number, stripped source text) of the line of ``fn`` carrying the ``# ... marker`` comment."""
    lines, start = inspect.getsourcelines(fn)
    for i, text in enumerate(lines):
        if re.search(r"#.*\bmarker\b", text):
            return start + i, text.split("#")[0].strip()
    raise AssertionError(f"no marker in {fn.__name__}")


def _build_and_call(api, fn, *args):
    g = getattr(srcgrad, api)(fn, backend="python")
    if api == "jvp":
        return g(*args, *args)
    return g(*args)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    "fn,owner,construct,x", [pytest.param(*r, id=r[0].__name__) for r in REJECTED]
)
def test_rejected_construct(fn, owner, construct, x, api):
    line, text = _marker_line(owner or fn)
    with pytest.raises(srcgrad.UnsupportedSyntaxError) as info:
        _build_and_call(api, fn, x)
    msg = str(info.value)
    assert isinstance(info.value, srcgrad.SrcgradError)
    # look for the construct's name outside the quoted source line, which trivially contains it
    prose = "\n".join(part for part in msg.splitlines() if text not in part)
    assert re.search(construct, prose, re.IGNORECASE), f"construct /{construct}/ not named in:\n{msg}"
    assert re.search(rf"{re.escape(THIS_FILE)}:{line}\b", msg), f"{THIS_FILE}:{line} not in:\n{msg}"
    assert text in msg, f"quoted line {text!r} not in:\n{msg}"


def test_bare_return_before_the_end_names_the_line():
    line, _ = _marker_line(_stop_early)
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match=rf"(?s){THIS_FILE}:{line}:.*return without a value"):
        _build_and_call("grad", subroutine_bare_return, np.ones(2))


def test_error_message_has_column_and_suggestion():
    with pytest.raises(srcgrad.UnsupportedSyntaxError) as info:
        _build_and_call("grad", uses_listcomp, np.ones(3))
    line, _ = _marker_line(uses_listcomp)
    msg = str(info.value)
    assert re.search(rf"{re.escape(THIS_FILE)}:{line}:\d+", msg), msg
    # a suggestion: some advice beyond the location and the construct's name
    assert re.search(r"\b(use|write|instead|define|move|replace|loop)\b", msg, re.IGNORECASE), msg


def _total_of_rows_through_a_view(x):
    return np.sum(pf.rows_through_a_view(x, 4))


def test_error_in_a_function_inlined_from_another_file_names_that_file():
    """The refused write is in pass_functions.py: its file and line, not this file's line of that number."""
    lines, start = inspect.getsourcelines(pf.rows_through_a_view)
    offset = next(i for i, text in enumerate(lines) if "rows[i] = first * x + first" in text)
    with pytest.raises(srcgrad.UnsupportedSyntaxError) as info:
        srcgrad.grad(_total_of_rows_through_a_view)(np.ones(3))
    assert f"pass_functions.py:{start + offset}:" in str(info.value), str(info.value)
    assert "rows[i] = first * x + first" in str(info.value)


# ---------------------------------------------------------------------------- functions without source


def test_builtin_without_source():
    # math.sin has a rule, so grad(math.sin) is its derivative; math.gamma has none and no source
    assert srcgrad.grad(math.sin, backend="python")(0.5) == pytest.approx(math.cos(0.5), rel=1e-15)
    with pytest.raises(srcgrad.SrcgradError, match=r"gamma"):
        srcgrad.grad(math.gamma, backend="python")(0.5)


def test_exec_function_without_source():
    ns = {}
    exec("def cube_from_exec(x):\n    return x * x * x\n", ns)
    with pytest.raises(srcgrad.SrcgradError, match=r"cube_from_exec"):
        srcgrad.grad(ns["cube_from_exec"], backend="python")(0.5)


# ---------------------------------------------------------------------------- bad wrt


def int_power(x, n):
    return x**n


@pytest.mark.parametrize("api", APIS)
def test_wrt_int_argument(api):
    with pytest.raises(srcgrad.SrcgradError, match=r"(?i)wrt|int"):
        g = getattr(srcgrad, api)(int_power, wrt=1, backend="python")
        g(0.5, 3, 1) if api == "jvp" else g(0.5, 3)


@pytest.mark.parametrize("wrt", [2, (0, 2)])
@pytest.mark.parametrize("api", APIS + ("vjp", "jacfwd", "jacrev", "value_and_grad"))
def test_wrt_out_of_range(api, wrt):
    with pytest.raises(srcgrad.SrcgradError, match=r"(?i)wrt|range|argument"):
        g = getattr(srcgrad, api)(int_power, wrt=wrt, backend="python")
        tangents = (1.0,) * len(wrt if isinstance(wrt, tuple) else (wrt,)) if api == "jvp" else ()
        g(0.5, 3, *tangents)


def test_wrt_error_is_not_a_bare_python_error():
    with pytest.raises(srcgrad.SrcgradError):
        srcgrad.grad(int_power, wrt=5, backend="python")(0.5, 3)


# ---------------------------------------------------------------------------- callables with no rule


def _scale_by(a, x):
    return a * x


_partial_scale = functools.partial(_scale_by, 2.0)


def calls_partial(x):
    return _partial_scale(x) * x


def calls_spacing(x):
    return np.spacing(x) + x * x


def calls_gamma(x):
    return math.gamma(x) * x


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    "fn,name",
    [
        pytest.param(calls_partial, r"_partial_scale|partial", id="functools.partial"),
        pytest.param(calls_spacing, r"spacing", id="np.spacing-ufunc"),
        pytest.param(calls_gamma, r"gamma", id="math.gamma-builtin"),
    ],
)
def test_call_without_rule_or_source(fn, name, api):
    with pytest.raises(srcgrad.SrcgradError, match=name):
        _build_and_call(api, fn, 1.5)


def test_exception_hierarchy():
    assert issubclass(srcgrad.UnsupportedSyntaxError, srcgrad.SrcgradError)
    assert issubclass(srcgrad.SrcgradError, Exception)


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_a_cotangent_not_shaped_like_the_output_is_a_clear_error(backend):
    w, X = np.array([0.3, -0.2]), np.ones((3, 2))

    def total(w, X):
        return np.sum(np.tanh(X @ w))

    def outputs(w, X):
        return np.tanh(X @ w)
    for fn, cotangent, message in ((total, np.ones(2), r"shape \(2,\), but the function's output has shape \(\)"),
                                   (outputs, np.ones(4), r"shape \(4,\), but the function's output has shape \(3,\)"),
                                   (outputs, np.ones((3, 1)), r"shape \(3, 1\), but the function's output has shape \(3,\)")):
        with pytest.raises(srcgrad.SrcgradError, match=message):
            srcgrad.vjp(fn, backend=backend)(w, X, cotangent)
    np.testing.assert_allclose(srcgrad.vjp(outputs, backend=backend)(w, X, np.ones(3))[1], 3 * (1 - np.tanh(0.1) ** 2) * np.ones(2))


def continued_fraction(x, depth):
    if depth == 0:
        return x
    return x + 1.0 / continued_fraction(x, depth - 1)


def test_recursion_is_refused_naming_the_function_and_its_line():
    line = continued_fraction.__code__.co_firstlineno
    with pytest.raises(srcgrad.SrcgradError, match=rf"test_errors.py:{line}: continued_fraction calls itself.*as a loop"):
        srcgrad.grad(continued_fraction, backend="python")(1.5, 3)
