"""Checking one program: srcgrad's APIs on each backend against finite differences, each other and the plain function.

A program agrees when every check passes. srcgrad may instead refuse it, by raising a SrcgradError
other than InternalError; anything else (InternalError, any other exception, a wrong number, a
mutated argument) is a failure.
"""
from __future__ import annotations

import inspect
import re
import sys
import time
import traceback
import warnings
import zlib

import numba
import numpy as np

import srcgrad
from srcgrad.pipeline import has_parallel_loops

from . import numeric
from .numeric import FiniteDifferences, mismatch
from .outcome import Finding, Outcome, status_of
from .plan import APIS, SCALAR_ONLY, Plan
from .program import Program, load, unload
from .suite import as_wrt_tuple, assert_same_structure, copy_args, flatten, random_like

MAX_VALUE = 1e6


class Discard(Exception):
    """The plain function is not a usable test case (it raised, or its value is not finite and moderate)."""


def check_program(program: Program, plan: Plan, directory: str) -> Outcome:
    """Load `program` from a real file in `directory` and run every check of `plan` on it."""
    start = time.perf_counter()
    module = None
    parallel = None
    try:
        module = load(program, directory)
        trial = Trial(getattr(module, program.func), program.args(), program.wrt, program.seed)
        if {"parallel", "cuda"} & set(plan.backends) and PARALLEL_LOOP.search(program.source):
            parallel = load(program.with_source(with_prange(program.source)), directory)
            trial.parallel_f = parallel_version(getattr(parallel, program.func))
    except Discard as why:
        return Outcome(program, "discarded", reason=str(why), seconds=time.perf_counter() - start)
    except Exception as exc:  # a generator bug: the plain module does not even load
        return Outcome(program, "discarded", reason=f"load: {exc!r}", seconds=time.perf_counter() - start)
    try:
        trial.run(plan)
    finally:
        unload(module)
        if parallel is not None:
            unload(parallel)
    return Outcome(program, status_of(trial.failures, trial.refusals), trial.failures, trial.refusals,
                   smooth=trial.fd.smooth, seconds=time.perf_counter() - start, on_cuda=trial.on_cuda())


PARALLEL_LOOP = re.compile(r"^(\s*for \w+ in )range\(", re.MULTILINE)


def with_prange(source: str) -> str:
    """The program with every `for ... in range(...)` loop written with numba's prange. On
    target="parallel" srcgrad must compute exactly what the sequential loops compute: it runs a
    loop in parallel only where its iterations are independent, and in order otherwise."""
    return "from numba import prange\n" + PARALLEL_LOOP.sub(r"\1prange(", source)


def parallel_version(f):
    """f when it (or a function it calls) has a prange loop, else None: target="parallel" runs a
    function without one once per element of its arrays, which is not what this check compares."""
    try:
        return f if has_parallel_loops(f) else None
    except srcgrad.SrcgradError:
        return None   # refused while reading it: the other backends report that


def plain_value(f, args):
    """f(*args), or Discard: it must run, leave its arguments alone, be deterministic, finite and moderate."""
    call_args = copy_args(args)
    try:
        with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            warnings.simplefilter("error")
            value = f(*call_args)
            again = f(*copy_args(args))
    except Exception as exc:
        raise Discard(f"plain evaluation raised {type(exc).__name__}: {exc}") from None
    if not _float_structure(value):
        raise Discard(f"returns {type(value).__name__}, not floats and float arrays")
    flat = flatten(value)
    if not np.all(np.isfinite(flat)) or np.max(np.abs(flat), initial=0.0) > MAX_VALUE:
        raise Discard("value is not finite or too large")
    if not np.array_equal(flat, flatten(again)) or not np.array_equal(flatten(call_args), flatten(args)):
        raise Discard("not deterministic, or writes into its arguments")
    return value


def _float_structure(value) -> bool:
    if isinstance(value, tuple):
        return bool(value) and all(_float_structure(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype == np.float64 and value.ndim > 0
    return isinstance(value, (float, np.float64))


class Trial:
    """One function at one sample point: the APIs' results and the checks on them."""

    def __init__(self, f, args, wrt, seed: str):
        self.f, self.args, self.wrt = f, args, wrt
        self.expected = plain_value(f, args)
        rng = np.random.default_rng(zlib.crc32(f"vectors:{seed}".encode()))
        self.tangents = tuple(random_like(args[w], rng) for w in as_wrt_tuple(wrt))
        self.cotangent = random_like(self.expected, rng)
        self.fd = FiniteDifferences(f, args, wrt)
        self.results: dict = {}
        self.failures: list = []
        self.refusals: list = []
        self._primal_compiles = None
        self.parallel_f = None   # the program with prange loops, for the "parallel" backend

    @property
    def scalar_output(self) -> bool:
        return not isinstance(self.expected, tuple) and np.ndim(self.expected) == 0

    def run(self, plan: Plan) -> None:
        for backend in plan.backends:
            if backend in ("parallel", "cuda") and self.parallel_f is None:
                continue   # no loops: nothing to run in parallel
            for api in plan.apis_for(backend):
                if api not in SCALAR_ONLY or self.scalar_output:
                    self.run_api(api, backend)
            self.dot_test(backend)
            if backend in ("python", "numba"):
                self.jacobian_test(backend)
        self.compare_backends()
        self.checkpoint_test()

    def on_cuda(self) -> str:
        """Whether target="cuda" ran any API on this program's kernels, refused them, or was not tried."""
        if any(backend == "cuda" for _, backend in self.results):
            return "ran"
        return "refused" if any(r.backend == "cuda" for r in self.refusals) else ""

    def fail(self, check, api="", backend="", detail="", error=""):
        self.failures.append(Finding(check, api, backend, detail, error))

    # ----- calling srcgrad -----------------------------------------------------------------
    def run_api(self, api: str, backend: str) -> None:
        call_args, tangents, cotangent = copy_args(self.args), copy_args(self.tangents), copy_args((self.cotangent,))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = self.call(api, backend, call_args, tangents, cotangent[0])
        except srcgrad.InternalError as exc:
            return self.fail("error", api, backend, _message(exc), type(exc).__name__)
        except srcgrad.SrcgradError as exc:
            return self.refusals.append(self.refusal(exc, api, backend))
        except Exception as exc:
            return self.fail("error", api, backend, _message(exc, with_traceback=True), type(exc).__name__)
        if not (_same(call_args, self.args) and _same(tangents, self.tangents) and _same(cotangent, (self.cotangent,))):
            self.fail("mutates arguments", api, backend, "an argument, tangent or cotangent changed during the call")
        self.results[api, backend] = out
        self.check_result(api, backend, *out)

    def refusal(self, exc, api, backend) -> Finding:
        construct = getattr(exc, "construct", None)
        detail = f"cannot differentiate {construct}" if construct else str(exc) or "(no message)"
        error = type(exc).__name__
        if isinstance(exc, srcgrad.CompilationError) and self.primal_compiles():
            error += " (f itself compiles with numba.njit: likely a srcgrad bug)"
        return Finding("refused", api, backend, detail, error)

    def primal_compiles(self) -> bool:
        """Whether numba.njit compiles and runs f (its helpers jitted too) for these arguments."""
        if self._primal_compiles is None:
            self._primal_compiles = numba_compiles(self.f, self.args)
        return self._primal_compiles

    def call(self, api, backend, args, tangents, cotangent):
        """(value or None, derivative) from one srcgrad API."""
        if backend in ("parallel", "cuda"):
            g = getattr(srcgrad, api)(self.parallel_f, wrt=self.wrt, target=backend)
        else:
            g = getattr(srcgrad, api)(self.f, wrt=self.wrt, backend=backend)
        if api == "jvp":
            return g(*args, *tangents)
        if api == "vjp":
            return g(*args, cotangent)
        if api == "value_and_grad":
            return g(*args)
        return None, g(*args)

    # ----- checks on one result ------------------------------------------------------------
    def check_result(self, api, backend, value, derivative) -> None:
        like = self.expected if api == "jvp" else _wrt_like(self.args, self.wrt)
        if not self.structure(api, backend, value, derivative, like):
            return
        if value is not None:
            problem = self.value_mismatch(flatten(value))
            if problem:
                self.fail("value", api, backend, f"the primal value differs from the plain function's: {problem}")
        if not self.fd.smooth:
            return
        problem = self.fd_problem(api, derivative)
        if problem:   # within the rounding noise of the derivative's own arithmetic?
            problem = self.fd_problem(api, derivative, slack=10.0 * self.linearity_noise(api, backend))
        if problem:
            what = "J·v" if api == "jvp" else "Jᵀw"
            self.fail("finite differences", api, backend, f"{api} != {what} by central differences: {problem}")

    def fd_problem(self, api, derivative, slack=0.0):
        if api == "jvp":
            return self.fd.check_forward(flatten(derivative), flatten(self.tangents), slack)
        w = flatten(self.cotangent) if api == "vjp" else np.ones(1)
        return self.fd.check_reverse(flatten(derivative), w, slack)

    def linearity_noise(self, api, backend):
        """How far the derivative strays from linear in its direction (tangent or cotangent): the
        rounding noise of its own arithmetic. Reverse mode can sum adjoints of 1e11 that cancel to
        a gradient of order one (22:1064:0: a five-step product chain whose first factor has zero
        derivative); its result then moves with the cotangent's last bits by 1e-5, not 1e-16.
        Elementwise |d(s·u)/s - d(u)| for a direction u (1.0 for grad) and a scale s."""
        scale = 0.7310585786300049
        kind = "jvp" if api == "jvp" else "vjp"
        base = tuple(self.tangents) if kind == "jvp" else (self.cotangent if api == "vjp" else 1.0,)
        scaled = tuple(_times(d, scale) for d in base)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                args = copy_args(self.args)
                one = self.call(kind, backend, args, base, base[0])[1]
                other = self.call(kind, backend, copy_args(self.args), scaled, scaled[0])[1]
            return np.abs(flatten(other) / scale - flatten(one))
        except Exception:
            return 0.0

    def value_mismatch(self, got):
        """None if `got` is the plain function's value up to the rounding the program itself amplifies."""
        want = flatten(self.expected)
        if mismatch(got, want, numeric.VALUE_RTOL, numeric.VALUE_ATOL) is None:
            return None
        measured = self.fd.value_spread()
        spread = measured[1] if measured is not None else 0.0
        return mismatch(got, want, numeric.VALUE_RTOL, numeric.VALUE_ATOL + 10.0 * spread)

    def result_spread(self, api):
        """How far a few ulps of input move the python backend's flat result of `api` (see rounding_spread)."""
        def evaluate(args):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return _flat_result(self.call(api, "python", args, copy_args(self.tangents), self.cotangent))
        try:
            return numeric.rounding_spread(evaluate, self.args)
        except Exception:
            return 0.0

    def structure(self, api, backend, value, derivative, like) -> bool:
        try:
            if value is not None:
                assert_same_structure(value, self.expected, f"{api} value")
            assert_same_structure(derivative, like, f"{api} {'tangent' if api == 'jvp' else 'gradient'}")
        except AssertionError as exc:
            self.fail("structure", api, backend, str(exc))
            return False
        return True

    def dot_test(self, backend: str) -> None:
        """<J v, w> from jvp equals <v, Jᵀ w> from vjp, with no finite differences involved."""
        if ("jvp", backend) not in self.results or ("vjp", backend) not in self.results:
            return
        jv, jtw = flatten(self.results["jvp", backend][1]), flatten(self.results["vjp", backend][1])
        v, w = flatten(self.tangents), flatten(self.cotangent)
        if jv.shape != w.shape or jtw.shape != v.shape:
            return   # already reported as a structure failure
        lhs, rhs = float(jv @ w), float(v @ jtw)
        scale = np.linalg.norm(jv) * np.linalg.norm(w) + np.linalg.norm(v) * np.linalg.norm(jtw)
        allowed = numeric.DOT_RTOL * scale + numeric.DOT_ATOL
        if not abs(lhs - rhs) <= allowed:   # within the rounding noise of either derivative?
            allowed += 10.0 * (float(np.abs(self.linearity_noise("jvp", backend)) @ np.abs(w)) +
                               float(np.abs(v) @ np.abs(self.linearity_noise("vjp", backend))))
        if not abs(lhs - rhs) <= allowed:
            self.fail("dot product", "jvp+vjp", backend,
                      f"<Jv, w> = {lhs!r} but <v, Jᵀw> = {rhs!r} (|diff| {abs(lhs - rhs):.3e}, scale {scale:.3e})")

    def jacobian_test(self, backend: str) -> None:
        """jacfwd's Jacobian (vector mode: every direction in one pass, where the function qualifies)
        applied to the tangents equals jvp's J·v, each computed by its own generated code."""
        if ("jvp", backend) not in self.results or isinstance(self.expected, tuple):
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                jacobian = srcgrad.jacfwd(self.f, wrt=self.wrt, backend=backend)(*copy_args(self.args))
        except srcgrad.InternalError as exc:
            return self.fail("error", "jacfwd", backend, _message(exc), type(exc).__name__)
        except srcgrad.SrcgradError:
            return   # refused as jvp was not: jvp's own checks cover the function
        except Exception as exc:
            return self.fail("error", "jacfwd", backend, _message(exc, with_traceback=True), type(exc).__name__)
        blocks = jacobian if isinstance(self.wrt, tuple) else (jacobian,)
        got = sum(np.tensordot(np.asarray(J, dtype=float), np.asarray(v, dtype=float), axes=np.ndim(v))
                  for J, v in zip(blocks, self.tangents))
        got, want = np.ravel(got), flatten(self.results["jvp", backend][1])
        problem = mismatch(got, want, numeric.BACKEND_RTOL, atol_scale=1e-10)
        if problem:
            problem = mismatch(got, want, numeric.BACKEND_RTOL, atol_scale=1e-10, atol=10.0 * self.result_spread("jvp"))
        if problem:
            self.fail("jacfwd vs jvp", "jacfwd", backend, f"jacfwd's J·v (got) and jvp (expected) differ: {problem}")

    def checkpoint_test(self) -> None:
        """Under a tiny budget every top-level counted loop that records something is checkpointed:
        1 byte keeps one snapshot and re-runs each iteration from the loop's start, 200 bytes a few
        snapshots of multi-iteration segments. The same operations in the same order, so the same
        vjp as with the full tape, to 1e-12."""
        if ("vjp", "python") not in self.results or not PARALLEL_LOOP.search(inspect.getsource(self.f)):
            return
        memory = (1, 200)[zlib.crc32(inspect.getsource(self.f).encode()) % 2]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g = srcgrad.vjp(self.f, wrt=self.wrt, backend="python", memory=memory)
                got = _flat_result(g(*copy_args(self.args), copy_args((self.cotangent,))[0]))
        except Exception as exc:
            return self.fail("checkpointed", "vjp", "python", f"memory={memory} fails where the full tape does not: "
                             f"{_message(exc, with_traceback=True)}", type(exc).__name__)
        want = _flat_result(self.results["vjp", "python"])
        problem = mismatch(got, want, 1e-12, atol_scale=1e-14) if got is not None and want is not None else None
        if problem:
            self.fail("checkpointed", "vjp", "python", f"memory={memory} (got) and the full tape (expected) differ: {problem}")

    def compare_backends(self) -> None:
        for api in APIS:
            for backend in ("numba", "parallel", "cuda"):
                if (api, "python") in self.results and (api, backend) in self.results:
                    self.compare_to_python(api, backend)

    def compare_to_python(self, api: str, backend: str) -> None:
        got, want = _flat_result(self.results[api, backend]), _flat_result(self.results[api, "python"])
        if got is None or want is None:
            return   # already reported as a structure failure
        problem = mismatch(got, want, numeric.BACKEND_RTOL, atol_scale=1e-10)
        if problem:
            problem = mismatch(got, want, numeric.BACKEND_RTOL, atol_scale=1e-10, atol=10.0 * self.result_spread(api))
        if problem:
            self.fail(f"python vs {backend}", api, backend, f"{backend} (got) and python (expected) differ: {problem}")


def numba_compiles(f, args) -> bool:
    module = sys.modules[f.__module__]
    plain = {name: obj for name, obj in vars(module).items()
             if inspect.isfunction(obj) and obj.__module__ == module.__name__}
    try:
        for name, obj in plain.items():
            setattr(module, name, numba.njit(obj))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(module, f.__name__)(*copy_args(args))
        return True
    except Exception:
        return False
    finally:
        for name, obj in plain.items():
            setattr(module, name, obj)


def _times(direction, scale):
    if isinstance(direction, tuple):
        return tuple(_times(d, scale) for d in direction)
    return direction * scale


def _flat_result(result):
    value, derivative = result
    try:
        return np.concatenate([flatten(value) if value is not None else np.zeros(0), flatten(derivative)])
    except (TypeError, ValueError):
        return None


def _wrt_like(args, wrt):
    return tuple(args[w] for w in wrt) if isinstance(wrt, tuple) else args[wrt]


def _same(a, b) -> bool:
    try:
        return np.array_equal(flatten(a), flatten(b))
    except (TypeError, ValueError):
        return False


def _message(exc, with_traceback=False) -> str:
    text = f"{exc}"
    if with_traceback:
        frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
        text += "\n" + "".join(frames[-4:]).rstrip()
    return text
