"""The compiler pipeline: the passes in order, and the builder that turns one request into a module.

Set SRCGRAD_DUMP_AFTER to a comma-separated list of pass names (or `all`) to print the source
after those passes to stderr.
"""
from __future__ import annotations

import copy
import gc
import hashlib
import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import syntax
from .analyze import kinds as K
from .analyze.activity import active_variables, refuse_changes_of_listed_arrays, refuse_updates_of_viewed_arrays
from .analyze.device_code import require_device_code, require_host_and_loops
from .emit.module import MODULE_NAMES, load_module, module_source
from .emit.printer import to_source
from .errors import InternalError, SrcgradError, UnsupportedSyntaxError
from .custom import is_custom
from .frontend.fence import check_supported
from .frontend.parse import ParsedFunction, is_derivative, parse_function, python_function
from .normalize.anf import to_anf
from .normalize.arguments import copy_written_arguments
from .normalize.comprehensions import lower_comprehensions, sized_comprehensions
from .normalize.desugar import desugar, whole_arrays_as_indices
from .normalize.dict_keys import index_dict_keys
from .normalize.inline import drop_scalar_write_backs, inline_calls
from .normalize.loop_exits import lower_exits
from .normalize.layouts import view_loop_carried_transposes
from .normalize.constant_branches import fold_constant_branches, fold_rank_branches
from .normalize.builders import check_list_items, choose_builders
from .normalize.overlap import copy_overlapping_values
from .normalize.own_views import copy_views_of_forgotten_arrays
from .normalize.ranks import refuse_unimplemented_ranks
from .normalize.names import NameGenerator, rename_reserved
from .normalize.resolve import Resolved, resolve
from .normalize.scalarize import scalarize
from .normalize.sequence_args import sequences_as_arrays
from .normalize.small_arrays import unpack_small_arrays
from .normalize.shapes import forward_allocation_shapes
from .normalize.split_names import split_rebound_names
from .normalize.tuple_loops import unroll_tuple_loops
from .normalize.verify import verify_after
from .rules.results import sample_of
from .transform.forward import ForwardTransform
from .transform.parallel import parallelize
from .transform.forward_vector import NotVectorizable, OnlyArithmetic, VectorForwardTransform
from .transform.forward_vector_arrays import ArrayVectorForwardTransform
from .transform.primal import PrimalTransform
from .transform.reverse import ReverseTransform
from .transform.slice_updates import update_slices_through_views

# Normalization, shared by both modes. Each pass rewrites ParsedFunction.tree in place.
NORMALIZE = [
    ("comprehensions", lambda unit: lower_comprehensions(unit.parsed, unit.names)),  # [f(v) for v in x] -> loop
    ("fence", lambda unit: check_supported(unit.parsed)),          # reject what we cannot differentiate
    ("names", lambda unit: rename_reserved(unit.parsed.tree, unit.names, MODULE_NAMES)),  # free np, max, ... for generated code
    ("resolve", lambda unit: unit.bind(resolve(unit.parsed))),     # bind calls to rules / user functions
    ("branches", lambda unit: _fold_branches(unit)),               # `if DEBUG:` keeps the branch taken
    ("desugar", lambda unit: desugar(unit.parsed, unit.names)),    # x += v, for-over-rows, ... -> core
    ("anf", lambda unit: to_anf(unit.parsed, unit.names)),         # one operation per statement
    ("inline", lambda unit: inline_calls(unit, _subroutine, MODULE_NAMES)),  # calls that write into arguments
]
# Reverse mode also needs a single exit and loops whose body can be replayed without jumping.
REVERSE_ONLY = [
    ("loop_exits", lambda unit: lower_exits(unit.parsed, unit.names)),  # break/continue/return -> flags
    ("arguments", lambda unit: copy_written_arguments(unit.parsed, unit.names)),  # x[0] = v on an argument
]


def _fold_branches(unit) -> None:
    for name in fold_constant_branches(unit.parsed.tree, unit.resolved.globals_read):
        unit.resolved.bake(name)


@dataclass
class Unit:
    """One user function on its way through normalization."""

    parsed: ParsedFunction
    names: NameGenerator
    resolved: Resolved | None = None

    def bind(self, resolved: Resolved) -> None:
        self.resolved = resolved
        # names the generated module binds (functions, constants) must not become local temporaries
        self.names.reserve(set(resolved.global_paths) | set(resolved.bound) | set(resolved.user_calls))


_PAUSE_LOCK = threading.Lock()
_pauses = {"depth": 0, "was_enabled": False}


@contextmanager
def collector_paused():
    """Run a build with Python's cyclic garbage collector off, as it was before once the outermost
    build ends. A transform allocates millions of small nodes while holding hundreds of thousands
    alive (the function, its normalized copies, the derivative being written): each full collection
    scans them all, and there are more of them the longer the function, which made a third of the
    time of the 2,000-statement gradient. Trees hold no reference cycles, so little waits for the
    collector meanwhile. Builds nest (callees) and may run in several threads: the outermost one,
    counted under a lock, restores the collector."""
    with _PAUSE_LOCK:
        if _pauses["depth"] == 0:
            _pauses["was_enabled"] = gc.isenabled()
            gc.disable()
        _pauses["depth"] += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _pauses["depth"] -= 1
            if _pauses["depth"] == 0 and _pauses["was_enabled"]:
                gc.enable()


@contextmanager
def compiler_pass(pass_name: str, parsed: ParsedFunction):
    """Run one pass; an exception that is not a SrcgradError is a bug in srcgrad, reported as such."""
    try:
        yield
    except SrcgradError:
        raise
    except RecursionError:
        raise
    except Exception as exc:
        raise InternalError(internal_error_message(pass_name, parsed, exc)) from exc


def internal_error_message(pass_name: str, parsed: ParsedFunction, exc: BaseException) -> str:
    where = parsed.location(parsed.tree)
    place = f"{where.filename}:{where.line}" if where else parsed.filename
    return (f"srcgrad failed in its `{pass_name}` pass on {parsed.pyfunc.__qualname__} ({place}). "
            f"This is a bug in srcgrad, not in your code. To reproduce it, run with "
            f"SRCGRAD_DUMP_AFTER=all to print the code after each pass, and report that output with "
            f"the function's source.\nCause: {type(exc).__name__}: {exc}")


def _dump(pass_name: str, unit_name: str, tree) -> None:
    wanted = os.environ.get("SRCGRAD_DUMP_AFTER", "")
    if wanted and (wanted == "all" or pass_name in wanted.split(",")):
        print(f"# ---- {unit_name} after {pass_name} ----\n{to_source(tree)}", file=sys.stderr)


_NORMALIZED: dict = {}
_NORMALIZING: set = set()


def _subroutine(pyfunc) -> Unit:
    """A callee as the inline pass takes it: normalized, its own subroutine calls inlined."""
    return normalized(pyfunc, "forward")


def _recursion(pyfunc) -> SrcgradError:
    """The error for a function that calls itself, naming where it is defined."""
    code = getattr(pyfunc, "__code__", None)
    where = f"{code.co_filename}:{code.co_firstlineno}: " if code is not None else ""
    return SrcgradError(f"{where}{pyfunc.__qualname__} calls itself; recursive functions are not supported. "
                        "Rewrite the recursion as a loop.")


def normalized(fn, mode: str) -> Unit:
    """The function after the normalization passes for `mode` ("forward", "reverse" or "primal")."""
    pyfunc = python_function(fn)
    key = (pyfunc, mode == "reverse")
    if key in _NORMALIZING:
        raise _recursion(pyfunc)
    if key not in _NORMALIZED or not _NORMALIZED[key].resolved.baked_is_current():   # a flag changed since
        _NORMALIZING.add(key)
        try:
            _NORMALIZED[key] = _normalize(pyfunc, mode)
        finally:
            _NORMALIZING.discard(key)
    return _NORMALIZED[key]


def _reachable(fn, mode: str):
    """(function, its normalized Unit) for `fn` and every user function it calls, at any depth,
    each once; a derivative it calls comes with None, and what that calls is not entered."""
    seen, pending = set(), [python_function(fn)]
    while pending:
        pyfunc = pending.pop()
        if pyfunc in seen:
            continue
        seen.add(pyfunc)
        if is_derivative(pyfunc):
            yield pyfunc, None
            continue
        unit = normalized(pyfunc, mode)
        yield pyfunc, unit
        pending += list(unit.resolved.user_calls.values())


def globals_fingerprint(fn, mode: str) -> tuple:
    """What the module-level values `fn` and the functions it calls read are now: equal
    fingerprints mean a derivative built earlier would be built the same way again."""
    return tuple((id(pyfunc), name, value_print(value)) for pyfunc, unit in _reachable(fn, mode) if unit
                 for name, value in [*sorted(unit.resolved.globals_read.items()), *unit.resolved.baked_read.items()])


def portable_fingerprint(fn, mode: str) -> tuple[list, dict] | None:
    """What globals_fingerprint says, in terms that mean the same in another process: each
    function's normalized code and source position, the functions its names call, and the values
    of the globals it reads, not object ids; with those values by their print. None when
    something in reach has no such terms: a derivative, custom rules, or a primitive the user
    registered (its rule lives in this process only)."""
    parts, values = [], {}
    for pyfunc, unit in _reachable(fn, mode):
        if unit is None or is_custom(pyfunc) or unit.resolved.bound:
            return None
        parsed, read = unit.parsed, unit.resolved.globals_read   # numbers and arrays only, bound being empty
        # the normalized tree follows from the source (a lambda's: where it starts in its file's
        # lines, as one line may hold several) and the constants folded into it (`if DEBUG:`)
        baked = sorted(repr((unit.resolved.baked[key][0].filename, key[1], value_print(value)))
                       for key, value in unit.resolved.baked_read.items())
        start = (getattr(parsed.tree, "lineno", None), getattr(parsed.tree, "col_offset", None))
        parts.append((pyfunc.__module__, pyfunc.__qualname__, parsed.filename, parsed.first_line, start,
                      tuple(parsed.lines), tuple(baked)))
        parts += [(name, getattr(callee, "__module__", None), getattr(callee, "__qualname__", None))
                  for name, callee in sorted(unit.resolved.user_calls.items())]
        for name, value in sorted(read.items()):
            printed = value_print(value)
            parts.append((name, printed))
            values[printed] = value
    return parts, values


def has_parallel_loops(pyfunc) -> bool:
    """Whether `pyfunc` or a function it calls has a loop the user wrote with numba's prange."""
    return any(unit and any(getattr(node, "srcgrad_parallel", False) for node in syntax.walk(unit.parsed.tree))
               for _, unit in _reachable(pyfunc, "forward"))


def value_print(value):
    """A global's value as fingerprints compare it: arrays by their bytes, functions by identity."""
    if isinstance(value, np.ndarray):
        return value.dtype.str, value.shape, hashlib.sha1(np.ascontiguousarray(value).view(np.uint8)).hexdigest()
    if callable(value):
        return id(value)
    return type(value).__name__, value


def _normalize(pyfunc, mode: str) -> Unit:
    parsed = parse_function(pyfunc)
    _dump("parse", parsed.name, parsed.tree)
    unit = Unit(parsed, NameGenerator(syntax.names_in(parsed.tree) | MODULE_NAMES))
    passes = NORMALIZE + (REVERSE_ONLY if mode == "reverse" else [])
    for pass_name, run in passes:
        with compiler_pass(pass_name, parsed):
            run(unit)
            verify_after(pass_name, parsed.tree)
        _dump(pass_name, parsed.name, parsed.tree)
    return unit


@dataclass
class _Work:
    """One function being specialized: its tree, names and kinds for one argument signature."""

    tree: object
    names: NameGenerator
    kinds: dict | None = None
    relied: tuple = ()   # positions of the parameters whose lengths the code relies on


# where arrays of known length may become scalars: the CPU backends (on target="parallel" a held
# array's scalars would be shared across a prange loop's threads; kernels keep their own arrays)
SMALL_ARRAY_BACKENDS = ("numba", "python")

PREFIXES = {"primal": "", "forward": "jvp_", "forward_vector": "jvp_all_", "reverse": "vjp_"}


@dataclass
class Built:
    name: str
    tree: object
    return_kind: object
    custom: object = None   # the CustomDerivative this is the primal copy of: its rules, when differentiated again
    relied: tuple = ()   # positions of the parameters whose lengths the code relies on (small arrays)


class ModuleBuilder:
    """Generates every function one derivative request needs (callees included) into one module."""

    def __init__(self, backend: str):
        self.backend = backend
        self.functions: dict = {}
        self.order: list = []
        self.constants: dict = {}
        self.module_names = NameGenerator(MODULE_NAMES)
        self._in_progress: set = set()

    # ----- one function ------------------------------------------------------------------
    def build(self, fn, mode: str, wrt: tuple, arg_kinds: tuple, lengths: tuple = (), **options) -> Built:
        """`mode`: "primal", "forward" or "reverse"; wrt: differentiated parameter positions;
        lengths: per argument, the length of a small 1-D float array the code may be built for
        (None for the others), or () to build for any length."""
        if is_custom(fn) and mode != "primal":
            return self._custom_rule(fn, mode, tuple(wrt), tuple(arg_kinds), options)
        if is_derivative(fn):
            fn = _derivative_code(fn, arg_kinds)
        pyfunc = python_function(fn)
        key = (pyfunc, mode, tuple(wrt), tuple(arg_kinds), tuple(lengths), tuple(sorted(options.items())))
        if key in self.functions:
            return self.functions[key]
        if key in self._in_progress:
            raise _recursion(pyfunc)
        on_host = self.backend == "cuda_loops" and not self._in_progress   # the function asked for; its callees run in kernels
        self._in_progress.add(key)
        unit = normalized(pyfunc, mode)
        with compiler_pass("kinds/scalarize", unit.parsed):
            work = self._specialize(unit, mode, arg_kinds, lengths)
        if on_host:
            require_host_and_loops(work.tree, work.kinds, unit.parsed.location)
        elif self.backend in ("cuda", "cuda_loops"):
            require_device_code(work.tree, work.kinds, unit.parsed.location)
        name = self.module_names.fresh(PREFIXES[mode] + unit.parsed.name)
        with compiler_pass(mode, unit.parsed):
            try:
                generated = self._transform(work, unit, mode, wrt, name, options)
            except OnlyArithmetic:
                raise
            except NotVectorizable:   # not scalar code: directions on a first axis (the checks changed nothing)
                generated = self._transform(work, unit, "forward_vector_arrays", wrt, name, options)
        if (self.backend == "parallel" and mode != "forward_vector") or on_host:   # vector mode's direction buffers are shared
            refuse = _kernel_refusal(unit, work.tree) if on_host else None
            for loop in parallelize(generated, work.names, work.kinds, self.module_names, device=on_host, refuse=refuse):
                self.order.append(Built(loop.name, loop, None))
        if on_host:
            generated.srcgrad_decorator = "python_jit"   # launches the kernels
        if self.backend in ("numba", "python"):   # one CPU thread; parallelize and kernels read the updates as written
            update_slices_through_views(generated, work.kinds, work.names, directions_axis=mode == "forward_vector")
        _dump(mode, name, generated)
        built = Built(name, generated, _return_kind(work.tree, work.kinds), fn if is_custom(fn) else None, work.relied)
        self._in_progress.discard(key)
        self.functions[key] = built
        self.order.append(built)
        return built

    def _custom_rule(self, custom, mode: str, wrt: tuple, arg_kinds: tuple, options: dict) -> Built:
        """A derivative of a function with custom rules: the primal copy of a function written
        around the rules (srcgrad/custom.py), or the reverse derivative of its jvp rule's tangent."""
        if mode == "forward":
            return self.build(custom.forward_rule(wrt), "primal", (), arg_kinds + tuple(arg_kinds[p] for p in wrt))
        if mode != "reverse":
            raise SrcgradError(f"{custom.name} has custom derivative rules, which {mode} mode does not call")
        out_kind = self.build(custom, "primal", (), arg_kinds).return_kind
        if custom.fwd is not None or custom.jvp is None:   # without either rule, reverse_rule says what to add
            rule = custom.reverse_rule(wrt)
            self._check_vjp_rules(custom, arg_kinds, out_kind)
            return self.build(rule, "primal", (), arg_kinds + (out_kind,))
        tangent = custom.tangent_output()
        count = len(arg_kinds)
        transposed = self.build(tangent, "reverse", tuple(count + p for p in wrt), arg_kinds + arg_kinds, **options)
        key = (custom, "reverse", wrt, arg_kinds, tuple(sorted(options.items())))
        if key not in self.functions:
            self.functions[key] = self._transposed_rule(custom, transposed, out_kind)
            self.order.append(self.functions[key])
        return self.functions[key]

    def _check_vjp_rules(self, custom, arg_kinds: tuple, out_kind) -> None:
        """fwd returns (output, residuals) and bwd one cotangent per argument, in a tuple: read
        from their code, as a mistake here would give wrong derivatives, not an error."""
        fwd_kind = self.build(custom.fwd, "primal", (), arg_kinds).return_kind
        fwd_name = getattr(python_function(custom.fwd), "__qualname__", "fwd")
        if fwd_kind != K.UNKNOWN and not (isinstance(fwd_kind, tuple) and len(fwd_kind) == 2):
            raise SrcgradError(f"the fwd rule {fwd_name} of {custom.name} must return a pair "
                               "(output, residuals), as in `return y, (x, y)`.")
        bwd_kind = self.build(custom.bwd, "primal", (), (fwd_kind[1] if fwd_kind != K.UNKNOWN else K.UNKNOWN, out_kind)).return_kind
        bwd_name = getattr(python_function(custom.bwd), "__qualname__", "bwd")
        if bwd_kind != K.UNKNOWN and not (isinstance(bwd_kind, tuple) and len(bwd_kind) == len(arg_kinds)):
            raise SrcgradError(f"the bwd rule {bwd_name} of {custom.name} must return a tuple with one cotangent per "
                               f"argument of {custom.name} ({len(arg_kinds)}), as in `return (x_bar,)`.")

    def _transposed_rule(self, custom, transposed: Built, out_kind) -> Built:
        """`vjp_f(*args, out_bar)`: the reverse derivative of f's jvp rule at zero tangents."""
        params = custom.params()
        name = self.module_names.fresh(f"vjp_{custom.name}")
        zeros = [syntax.call("zeros_like", syntax.name(p)) for p in params]
        call = syntax.call(transposed.name, *[syntax.name(p) for p in params], *zeros, syntax.name("out_bar"))
        body = [syntax.comment(f"{custom.name} has a jvp rule only: its vjp is the reverse derivative of the rule's "
                               "output tangent, which is linear in the tangents"), syntax.return_(call)]
        return Built(name, syntax.function(name, params + ["out_bar"], body), K.UNKNOWN)

    def _specialize(self, unit: Unit, mode: str, arg_kinds: tuple, lengths: tuple = ()) -> "_Work":
        """A private copy of the normalized function with its kinds for this signature; small
        arrays of known length become scalars, vectorized 1-D array code element loops (then kinds
        are inferred again)."""
        self.module_names.reserve(_local_names(unit.parsed.tree))
        work = _Work(syntax.clone(unit.parsed.tree), copy.deepcopy(unit.names))
        values = self._take_constants(unit.resolved.globals_read, work.tree)
        params = syntax.param_names(work.tree)
        globals_kinds = {k: K.of_value(v) for k, v in values.items()}
        infer_of = lambda tree: K.KindInference(tree, dict(zip(params, arg_kinds)), self._call_kinds,  # noqa: E731
                                                globals_kinds).run()
        infer = lambda: infer_of(work.tree)  # noqa: E731
        work.kinds = infer()
        while index_dict_keys(work.tree, work.kinds, unit.parsed.location, strict=False):   # a dict in a dict: again
            work.kinds = infer()
        while unroll_tuple_loops(work.tree, work.kinds, work.names):   # for W, b in layers: one copy per layer
            work.kinds = infer()
        while index_dict_keys(work.tree, work.kinds, unit.parsed.location):   # `for name in ("l1", "l2"): params[name]`
            work.kinds = infer()
        if sized_comprehensions(work.tree, work.kinds):   # sum(w[i] * x[i] for i in range(n)): no list growth
            work.kinds = infer()
        refuse_updates_of_viewed_arrays(work.tree, work.kinds, unit.parsed.location)   # `v = w` ... `w *= 2` ... v
        refuse_changes_of_listed_arrays(work.tree, work.kinds, unit.parsed.location)   # `h = [x]` ... `x[0] = 1` ... h
        if split_rebound_names(work.tree, work.kinds, work.names, infer_of):   # `s = 0.0` ... `s = A.ravel() + s`
            work.kinds = infer()
        whole_arrays_as_indices(work.tree, work.kinds)
        # np.sum([a, b]); again while it changes: an array made of one sequence (np.tanh([0.5, 0.36]))
        # gives the kinds by which another sequence's elements are known to be values (977:5:0)
        while sequences_as_arrays(work.tree, work.kinds, work.names, unit.parsed.location):
            work.kinds = infer()
        if fold_rank_branches(work.tree, work.kinds):   # `if a.ndim == 1:` with a's rank known
            work.kinds = infer()
        refuse_unimplemented_ranks(work.tree, work.kinds, unit.parsed.location)
        tentative = any(k == K.UNKNOWN or k == "a?" for k in arg_kinds)
        if choose_builders(work.tree, work.kinds, unit.parsed.location, tentative, work.names):
            work.kinds = infer()
        if check_list_items(work.tree, work.kinds, work.names, unit.parsed.location):
            work.kinds = infer()
        if drop_scalar_write_backs(work.tree, work.kinds, infer_of):
            work.kinds = infer()
        if copy_overlapping_values(work.tree, work.kinds, work.names, unit.parsed.location):
            work.kinds = infer()
        if mode == "reverse" and copy_views_of_forgotten_arrays(work.tree, work.kinds):   # y = y[::-1] ... y[i] = v
            work.kinds = infer()
        if self.backend in ("numba", "parallel") and view_loop_carried_transposes(work.tree, work.kinds):
            work.kinds = infer()
        if self.backend in SMALL_ARRAY_BACKENDS:
            fixed = {params[k]: n for k, n in enumerate(lengths) if n is not None}
            relied = unpack_small_arrays(work.tree, work.kinds, work.names, fixed)
            if relied is not None:
                work.relied = tuple(k for k, p in enumerate(params) if p in relied)
                verify_after("small_arrays", work.tree)
                _dump("small_arrays", unit.parsed.name, work.tree)
                work.kinds = infer()
        if mode != "primal" and scalarize(work.tree, work.kinds, work.names):
            verify_after("scalarize", work.tree)
            _dump("scalarize", unit.parsed.name, work.tree)
            work.kinds = infer()
        forward_allocation_shapes(work.tree, work.kinds)   # `z = np.empty(n)` ... `z.shape[0]` reads n
        return work

    def _transform(self, work: "_Work", unit: Unit, mode: str, wrt: tuple, name: str, options: dict):
        """Activity analysis, then the primal copy or the forward / reverse derivative."""
        callee = _Callees(self, work.kinds)
        if mode == "primal":
            return PrimalTransform(work.tree, callee).run(name)
        params = syntax.param_names(work.tree)
        active = active_variables(work.tree, {params[k] for k in wrt}, work.kinds, unit.parsed.location)
        transform = {"forward": ForwardTransform, "forward_vector": VectorForwardTransform,
                     "forward_vector_arrays": ArrayVectorForwardTransform, "reverse": ReverseTransform}[mode]
        return transform(work.tree, list(wrt), active, work.kinds, work.names, callee,
                         location=unit.parsed.location, **options).run(name)

    def _call_kinds(self, call, arg_kinds):
        overloads = getattr(call.srcgrad_user, "srcgrad_by_rank", None)
        if overloads is not None:   # a composite generated per rank of its first argument (np.pad)
            rank = K.ndim(arg_kinds[0]) if arg_kinds else None
            if rank not in overloads:
                return K.UNKNOWN   # not known yet (a later round of kinds), or refused by normalize/ranks.py
            call.srcgrad_user = overloads[rank]
        return self.build(call.srcgrad_user, "primal", (), tuple(arg_kinds)).return_kind

    def _take_constants(self, values: dict, tree) -> dict:
        """Add the globals `tree` reads to the module's constants (renamed in `tree` where another
        function of the module reads a different value under the same name); returns them by the
        names `tree` now uses."""
        renames, taken = {}, {}
        for name, value in values.items():
            if name in self.constants and not _same(self.constants[name], value):
                renames[name] = self.module_names.fresh(name)
                name = renames[name]
            self.module_names.reserve([name])
            self.constants[name] = value
            taken[name] = value
        if renames:
            syntax.rename(tree, renames)
        return taken

    # ----- the module --------------------------------------------------------------------
    def load(self, origin: str, parsed: ParsedFunction, launcher: tuple = ("", "")):
        with compiler_pass("emit", parsed):   # generated code that does not compile is a bug: load says so before writing it
            source = module_source([b.tree for b in self.order], self.constants, origin, self.backend, launcher)
            module, source = load_module(source, self.constants)
        for built in self.order:
            if built.custom is not None:   # resolve binds a call of it to the rules again
                getattr(module, built.name).srcgrad_custom = built.custom
        return module, source


class _Callees:
    """What a transform asks about calls to user functions: the generated function to call instead."""

    def __init__(self, builder: ModuleBuilder, kinds: dict):
        self.builder, self.kinds = builder, kinds

    def arg_kinds(self, call):
        # an argument kept whole in a test (`if h(x[idx]) < a:`) has the kind inference gives it,
        # not an unknown one (the callee was then built for other arguments: fuzz 956:2114:0)
        inference = K.KindInference(None, self.kinds, self.builder._call_kinds)
        return tuple(inference.of(a) or K.UNKNOWN for a in call.args)

    def __call__(self, call, positions, mode: str = "forward", **options) -> str:
        mode = mode if positions else "primal"
        return self.builder.build(call.srcgrad_user, mode, tuple(positions), self.arg_kinds(call), **options).name

    def built(self, call, positions, mode, **options) -> Built:
        return self.builder.build(call.srcgrad_user, mode, tuple(positions), self.arg_kinds(call), **options)


def _kernel_refusal(unit: Unit, tree):
    """What target="cuda" calls for a prange loop its derivative must run in order: an error at the
    user's first prange loop."""
    loops = [node for node in syntax.walk(tree) if getattr(node, "srcgrad_parallel", False)]
    where = next((unit.parsed.location(loop) for loop in loops if unit.parsed.location(loop)), None)

    def refuse(reason: str):
        raise UnsupportedSyntaxError("this prange loop as a CUDA kernel (target='cuda')", where or unit.parsed.location(tree),
                                     f"In the derivative, {reason}. target='parallel' runs it on the CPU's cores, in "
                                     "parallel where it can.")
    return refuse


def _derivative_code(derivative, arg_kinds: tuple):
    """The Python function that runs `derivative` for arguments of these kinds: its generated
    code for arguments like them (see DerivativeFunction.python_for)."""
    samples = [sample_of(kind) for kind in arg_kinds]
    if any(sample is None for sample in samples):
        raise SrcgradError(f"a call of {derivative!r} with an argument whose kind srcgrad does not know when it "
                           f"compiles ({', '.join(map(str, arg_kinds))}): pass floats, float arrays or tuples of them")
    return derivative.python_for(tuple(samples))


def _local_names(tree) -> set[str]:
    """Names a function uses for its own values (not the functions it calls)."""
    nodes = syntax.nodes_in(tree)
    called = {id(n.func) for n in nodes if isinstance(n, syntax.Call)}
    return {n.id for n in nodes if isinstance(n, syntax.Name) and id(n) not in called}


def _return_kind(tree, kinds):
    kind = None
    for node in syntax.walk(tree):
        if isinstance(node, syntax.Return) and node.value is not None:
            value = node.value
            this = tuple(K.of_atom(e, kinds) for e in value.elts) if isinstance(value, syntax.Tuple) else K.of_atom(value, kinds)
            if getattr(value, "srcgrad_keys", None) is not None:   # a dict literal (normalize/desugar.py)
                this = K.DictKind(this, value.srcgrad_keys)
            kind = this if kind is None else K.join(kind, this)
    return kind if kind is not None else K.UNKNOWN



def _same(a, b) -> bool:
    try:
        import numpy as np
        return bool(np.array_equal(a, b)) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else a == b
    except Exception:
        return False
