"""Every primitive is one complete record: its facts are declared, and its declared result kind is
what numpy actually returns on sample arguments."""
import math
import operator
import warnings

import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
from srcgrad import syntax
from srcgrad.analyze import kinds as K
from srcgrad.rules import registry
from srcgrad.rules.registry import ElementwiseRule, Options

OPERATORS = {"op:+": operator.add, "op:-": operator.sub, "op:*": operator.mul, "op:/": operator.truediv,
             "op:**": operator.pow, "op:%": operator.mod, "op:unary-": operator.neg, "op:unary+": operator.pos,
             "op://": operator.floordiv, "op:@": operator.matmul}


def _key(obj, rule, taken) -> str:
    """A test id that is the same in every process (pytest-xdist workers compare their lists)."""
    if isinstance(obj, str):
        return obj
    where = f"{getattr(obj, '__module__', None) or type(obj).__module__}.{getattr(obj, '__name__', type(obj).__name__)}"
    key = f"{rule.name}@{where}"
    while key in taken:
        key += "'"
    return key


def _rules() -> list:
    keyed: dict = {}
    for obj, rule in registry.all_rules():
        if not any(other is obj for other, _ in keyed.values()):
            keyed[_key(obj, rule, keyed)] = (obj, rule)
    return sorted(keyed.items())


RULES = _rules()


@pytest.mark.parametrize("key,entry", RULES, ids=[k for k, _ in RULES])
def test_record_declares_every_fact(key, entry):
    obj, rule = entry
    assert callable(rule.kind), "kind= (a function from srcgrad/rules/results.py)"
    assert rule.result in ("new", "constant", "view", "value")
    assert rule.fuse in ("", "elementwise", "sum", "mean", "dot")
    assert isinstance(rule.options, Options) and isinstance(rule.expensive, bool)
    assert all(registry.method(m) is rule for m in rule.methods)
    if not isinstance(obj, str) and "." in rule.name and rule.name.split(".")[0] in ("np", "math"):
        assert registry.lookup(registry.resolve_path(rule.name)) is rule


def _samples(obj, rule):
    if rule.samples:
        samples = rule.samples
    elif isinstance(rule, ElementwiseRule) and rule.domain:
        middle = tuple(0.5 * (lo + hi) for lo, hi in rule.domain)
        samples = (middle, tuple(np.full(4, v) for v in middle), tuple(int(round(v)) for v in middle))
    else:
        return ()
    if (getattr(obj, "__module__", None) in ("math", "builtins") or obj in (math.floor, int, round, abs, max, min)) \
            and obj is not sum:   # Python's sum is recorded for arrays
        samples = tuple(s for s in samples if not any(isinstance(a, np.ndarray) for a in s))   # scalars only
    return samples


def _call_node(args):
    """The call as written: strings (np.einsum's subscripts) as constants, the rest as names."""
    return syntax.call("f", *[syntax.const(a) if isinstance(a, str) else syntax.name(f"a{k}") for k, a in enumerate(args)])


def _kind_of_argument(value):
    return K.of_value(value)


CHECKED = [(key, obj, rule, args) for key, (obj, rule) in RULES for args in _samples(obj, rule)]


@pytest.mark.parametrize("key,obj,rule,args", CHECKED, ids=[f"{k}-{n}" for n, (k, _, _, _) in enumerate(CHECKED)])
def test_declared_kind_is_what_numpy_returns(key, obj, rule, args):
    function = OPERATORS.get(obj) if isinstance(obj, str) else obj
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        actual = K.of_value(function(*args))
    declared = rule.kind([_kind_of_argument(a) for a in args], _call_node(args))
    if actual == K.BOOL and declared == K.INT:
        actual = K.INT
    assert declared == actual, f"{rule.name}{tuple(K.of_value(a) for a in args)}: declared {declared}, numpy gives {actual}"


@pytest.mark.parametrize("key,obj,rule,args", CHECKED, ids=[f"{k}-{n}" for n, (k, _, _, _) in enumerate(CHECKED)])
def test_a_result_that_shares_memory_is_declared_a_view(key, obj, rule, args):
    """numpy returns a view for np.diag of a matrix, np.ascontiguousarray of a contiguous array:
    reverse mode copies such a result when its array is written later (28:896:0), which it can
    only do for records that say so."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = OPERATORS.get(obj, obj)(*args) if isinstance(obj, str) else obj(*args)
    outs = out if isinstance(out, tuple) else (out,)
    shared = any(isinstance(o, np.ndarray) and isinstance(a, np.ndarray) and np.shares_memory(o, a)
                 for o in outs for a in args)
    assert not shared or rule.result in ("view", "value"), f"{rule.name} returns a view of its argument"


def test_a_view_is_taken_of_the_tangent_too():
    """A result that may share memory with its argument sees later writes into it, and so must
    its tangent: forward mode takes the same view of the tangent (a linear map applied to it),
    where an elementwise rule would make a new array (np.real as one: fuzz 979:547:0)."""
    views = [rule.name for _, (obj, rule) in RULES if rule.result == "view"]
    assert views and all(isinstance(registry.lookup(obj), registry.LinearRule)
                         for _, (obj, rule) in RULES if rule.result == "view"), views


def test_every_record_with_arrays_has_samples():
    missing = [rule.name for _, (obj, rule) in RULES
               if not _samples(obj, rule) and rule.kind.__name__ != "unknown" and not isinstance(obj, str)
               and rule.name not in ("np.any", "np.all", "any", "all", "srcgrad_runtime.empty_list")]   # [] has the kind of what is appended
    assert not missing, f"records without samples to check their kind: {missing}"


def test_math_functions_return_floats():
    rule = registry.lookup(math.sin)
    assert rule.kind([K.INT], None) == K.FLOAT and rule.expensive


COMPOSITES = [(rule.name, obj, rule) for obj, rule in registry.all_rules() if isinstance(rule, registry.CompositeRule)]


@pytest.mark.parametrize("name,obj,rule", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_composite_computes_what_numpy_computes(name, obj, rule):
    assert rule.samples
    for args in rule.samples:
        got, want = rule.implementation(*args), obj(*args)
        for part, expected in zip(got, want) if isinstance(got, tuple) else [(got, want)]:
            np.testing.assert_allclose(part, expected, rtol=1e-14)


def test_readme_table_is_what_the_records_say():
    from pathlib import Path

    from srcgrad.rules.table import markdown_table, table_in_readme
    readme = Path(__file__).resolve().parent.parent / "README.md"
    assert table_in_readme(readme) == markdown_table(), "run `python -m srcgrad.rules.table` to update README.md"


def _other_ranks(args):
    """The sample with one array argument given a dimension more (two rows of it) or one fewer
    (its first row): (position, new arguments) for each."""
    for k, a in enumerate(args):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            for other in (np.stack([a, 1.5 * a + 0.25]), a[0] if a.ndim >= 1 else None):
                if other is not None:
                    yield k, args[:k] + (other,) + args[k + 1:]


@pytest.mark.parametrize("name,obj,rule", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_composite_serves_numpy_at_every_rank_its_record_admits(name, obj, rule):
    """A composite is Python written for some ranks (np.cross of 3-vectors read a[1] as the second
    component; of a matrix it is the second row): at every rank its record's `ranks` admits and
    NumPy takes, it computes what NumPy computes; normalize/ranks.py refuses the others."""
    for args in rule.samples:
        for position, other in _other_ranks(args):
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    want = obj(*other)
            except Exception:
                continue   # NumPy refuses it too
            served = rule.ranks[position] if position < len(rule.ranks) else None
            if served is not None and np.ndim(other[position]) not in served:
                continue   # refused when srcgrad compiles the call
            got = rule.implementation(*other)
            for part, expected in zip(got, want) if isinstance(got, tuple) else [(got, want)]:
                np.testing.assert_allclose(part, expected, rtol=1e-13, err_msg=f"{name} at ranks {[np.ndim(a) for a in other]}")
