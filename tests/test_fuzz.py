"""Random-program fuzzing (tests/fuzz): a fixed, deterministic budget of generated programs per run.

Every program is checked by jvp, vjp, value_and_grad and grad against finite differences, the
dot-product test, its plain value and the python-vs-numba agreement; it must agree or be refused
with a SrcgradError that is not an InternalError. Deselect with ``-m "not fuzz"``. For a long
campaign with shrunk reproducers: ``python -m tests.fuzz --n 5000 --seed 2``.
"""
from dataclasses import replace

import numpy as np
import pytest

import srcgrad
from fuzz.campaign import Settings, open_pool, run_campaign
from fuzz.checks import Trial
from fuzz.functions import spellings
from fuzz.checks import Discard, plain_value
from fuzz.generator import generate
from fuzz.outcome import Finding, Outcome
from fuzz.plan import Plan
from fuzz.program import load, unload
from fuzz.coverage import constructs, groups
from fuzz.report import failure_table, render
from fuzz.shrink import shrink
from srcgrad.rules import registry

pytestmark = pytest.mark.fuzz

# 300 programs with --slow, 100 in the quick suite: python backend with jvp and vjp on all, value_and_grad
# and grad on every 3rd; numba (jvp, vjp, value_and_grad) on every 50th: a numba-compiled program costs
# 2-40 s, a python one 0.3 s.
CI = Settings(n=300, seed="ci", backends=("python", "numba"), every={"numba": 50, "value_and_grad": 3, "grad": 3},
              jobs=2, timeout=120.0)
QUICK = 100


@pytest.fixture(scope="module")
def campaign(tmp_path_factory, request):
    settings = replace(CI, cache_dir=str(tmp_path_factory.mktemp("srcgrad-cache")),
                       n=CI.n if request.config.getoption("--slow") else QUICK)
    with open_pool(settings) as pool:
        result = run_campaign(settings, pool)
    print("\n" + render(result))
    return result


def test_programs_agree_or_are_refused(campaign):
    if campaign.failures:
        pytest.fail(f"{len(campaign.failures)} of {len(campaign.outcomes)} generated programs failed.\n"
                    f"{failure_table(campaign)}\n\n{_smallest_examples(campaign)}\n"
                    "Shrunk reproducers: python -m tests.fuzz --n 300 --seed ci", pytrace=False)


def test_every_construct_is_generated():
    """Among the 300 programs of seed "ci" (generated, not run: the quick suite runs 100 of them)."""
    seen = {name for k in range(CI.n) for name in constructs(generate(f"{CI.seed}:{k}:0"))}
    missing = [name for names in groups().values() for name in names if name not in seen]
    assert not missing, f"the generator drifted: these constructs never appeared: {missing}"


def test_plain_evaluation_rarely_rejects_a_program(campaign):
    """Generated programs are valid by construction; a high discard rate means a generator bug."""
    assert campaign.discarded <= 0.05 * len(campaign.outcomes)
    assert campaign.count("discarded") == 0


def test_generator_calls_every_registered_elementwise_function():
    """The generator reads its functions from the registry; none may fall through its filter."""
    registered = {rule.name for _, rule in registry.all_rules()
                  if isinstance(rule, registry.ElementwiseRule) and not rule.name.startswith("op:")}
    assert registered <= set(spellings())


def test_generation_is_reproducible():
    assert generate("seed:7:0") == generate("seed:7:0")
    assert generate("seed:7:0").source != generate("seed:8:0").source
    assert all(np.array_equal(a, b) for a, b in zip(generate("seed:7:0").args(), generate("seed:7:0").args()))


def scaled(x, y):
    return np.sum(np.sin(x) * y)


def test_checks_catch_a_wrong_derivative(monkeypatch):
    """The fuzzer's own checks flag a jvp whose tangent is off (and nothing else)."""
    true_jvp = srcgrad.jvp

    def off_by_a_factor(fn, wrt=0, backend="numba"):
        g = true_jvp(fn, wrt=wrt, backend=backend)
        return lambda *args: (g(*args)[0], 1.01 * g(*args)[1])

    monkeypatch.setattr(srcgrad, "jvp", off_by_a_factor)
    trial = Trial(scaled, (np.array([0.3, -0.5]), np.array([1.0, 2.0])), (0, 1), "unit")
    trial.run(Plan(backends=("python",)))
    assert {f.check for f in trial.failures} == {"finite differences", "dot product", "jacfwd vs jvp"}
    assert trial.refusals == []


def squared_sines(x):
    h = np.concatenate((x, [np.sum(x * x) ** 2]))
    for _ in range(3):
        h = np.sin(h) * h   # h[-1] ~ 1e4: an ulp of h moves sin(h) * h by ~1e-8 relative, three times over
    return np.sum(h)


def _off_by(factor):
    true_value_and_grad = srcgrad.value_and_grad

    def value_and_grad(fn, wrt=0, backend="numba"):
        g = true_value_and_grad(fn, wrt=wrt, backend=backend)
        return lambda *args: (factor * g(*args)[0], g(*args)[1])
    return value_and_grad


@pytest.mark.parametrize("function, x, factor, flagged", [
    (scaled, (np.array([0.3, -0.5]), np.array([1.0, 2.0])), 1 + 1e-7, True),
    (squared_sines, (np.array([3.1, 3.3, 3.2]),), 1 + 1e-7, False),
    (squared_sines, (np.array([3.1, 3.3, 3.2]),), 1 + 1e-3, True),
])
def test_value_check_allows_only_the_rounding_the_program_amplifies(monkeypatch, function, x, factor, flagged):
    """numba's fused rounding moves an ill-conditioned program's value by what a few ulps of input
    would (17:1750:0); the value check allows that much and no more."""
    monkeypatch.setattr(srcgrad, "value_and_grad", _off_by(factor))
    trial = Trial(function, x, 0, "unit")
    trial.run_api("value_and_grad", "python")
    assert ("value" in {f.check for f in trial.failures}) == flagged


class _SinIsWrongPool:
    """Stands in for the worker pool: a valid program "fails" exactly when it calls np.sin."""

    jobs = 2

    def __init__(self, directory):
        self.directory = directory

    def map(self, programs, plan):
        return [self.check(p) for p in programs]

    def check(self, program):
        module = load(program, self.directory)
        try:
            plain_value(module.f, program.args())
        except Discard:
            return Outcome(program, "discarded")
        finally:
            unload(module)
        failing = "np.sin(" in program.source
        return Outcome(program, "failed" if failing else "agreed", [Finding("finite differences", "jvp")] * failing)


def test_shrinking_keeps_the_failure_and_drops_the_rest(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    program = next(p for p in map(generate, (f"shrink:{k}:0" for k in range(100)))
                   if p.source.count("np.sin(") == 1 and len(p.source.splitlines()) > 25)
    failing = Outcome(program, "failed", [Finding("finite differences", "jvp")])
    shrunk = shrink(failing, _SinIsWrongPool(str(tmp_path)), seconds=60).program
    assert "np.sin(" in shrunk.source
    assert len(shrunk.source.splitlines()) < len(program.source.splitlines()) / 2
    assert shrunk.lines_before_shrink == len(program.source.splitlines())


def _smallest_examples(campaign) -> str:
    parts = []
    for signature, outcomes in campaign.failure_classes().items():
        example = min(outcomes, key=lambda o: len(o.program.source))
        parts.append(f"--- {signature}\n# seed {example.program.seed}, wrt={example.program.wrt!r}\n"
                     f"{example.program.source}\n{example.primary.describe()}")
    return "\n".join(parts)
