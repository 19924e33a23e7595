"""Batched derivatives: a scalar function's derivative at every element of its array arguments, one
CPU iteration (target="parallel") or one CUDA thread (target="cuda") per element.

The derivative is forward mode, one pass per `wrt` argument: for a function of a few floats that
needs no tape and no memory, which is what a CUDA thread has (registers), and it is the same code
on both targets. The generated module holds the forward-mode functions (CUDA device functions on
the CUDA target) and a launcher around them: a `prange` loop, or a kernel.
"""
from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass

import numba
import numpy as np

from . import syntax
from .analyze import kinds as K
from .errors import CompilationError, InternalError, SrcgradError, UnsupportedSyntaxError, WrtError
from .frontend.parse import parse_function, python_function
from .normalize.names import NameGenerator
from .pipeline import MODULE_NAMES, ModuleBuilder, collector_paused, normalized

TARGETS = ("cpu", "parallel", "cuda")
THREADS_PER_BLOCK = 128


def check_target(target: str, backend: str) -> None:
    if target not in TARGETS:
        raise SrcgradError(f"target must be one of {TARGETS}, not {target!r}")
    if target != "cpu" and backend != "numba":
        raise SrcgradError(f"target={target!r} compiles with numba: leave backend at its default ('numba')")


@dataclass(frozen=True)
class Request:
    """What one batched derivative computes: `what` is grad, value_and_grad, jvp or vjp."""

    what: str
    positions: tuple
    as_tuple: bool
    target: str

    @property
    def trailing(self) -> int:
        """Values after f's arguments: one tangent per wrt argument (jvp) or the cotangent (vjp)."""
        return {"jvp": len(self.positions), "vjp": 1}.get(self.what, 0)


class Batched:
    """Compiled launchers of one batched derivative, one per pattern of argument kinds."""

    def __init__(self, fn, request: Request):
        self.fn, self.request = fn, request
        self.pyfunc = python_function(fn)
        self.params = list(inspect.signature(self.pyfunc).parameters)
        self.launchers: dict = {}
        self.last_source = None

    def __call__(self, args: tuple, extra: tuple):
        values = args + extra
        batched, key = _signature(values, self.request.target)
        shape = self._batch_shape(values, batched)
        if key not in self.launchers:
            self.launchers[key] = self._build(key)
        launcher, self.last_source = self.launchers[key]
        run = _run_on_gpu if self.request.target == "cuda" else _run_on_cpu
        outputs = run(launcher, values, batched, shape, self._n_outputs())
        return self._shaped(outputs)

    def ptx(self, args: tuple, extra: tuple = (), cc: tuple = (9, 0)) -> str:
        """The kernel for these arguments compiled to PTX for compute capability `cc`: a check that
        needs no GPU (numba-cuda and its NVVM library only)."""
        from numba import cuda
        values = args + extra
        batched, key = _signature(values, "cuda")
        launcher, _ = self.launchers.get(key) or self._build(key)
        element_types = [numba.typeof(np.asarray(v).dtype.type(0))[::1] if b else numba.typeof(v)
                         for v, b in zip(values, batched)]
        outputs = [numba.float64[::1]] * self._n_outputs()
        return cuda.compile_ptx(launcher.launcher.py_func, tuple(element_types + outputs), cc=cc)[0]

    # ----- checks ---------------------------------------------------------------------------
    def _batch_shape(self, values, batched) -> tuple:
        shapes = {tuple(v.shape) for v, b in zip(values, batched) if b}
        name = self.pyfunc.__qualname__
        if not shapes:
            raise SrcgradError(f"target={self.request.target!r} evaluates the derivative of {name} at each element of "
                               "its array arguments; pass at least one array (or use target='cpu' for one point)")
        if len(shapes) > 1:
            raise SrcgradError(f"the array arguments of a batched derivative of {name} must have one shape; "
                               f"got {sorted(shapes)}")
        for v, b in zip(values, batched):
            if not b and not isinstance(v, (float, int, np.floating, np.integer)):
                raise SrcgradError(f"target={self.request.target!r} runs {name} once per element: each argument must "
                                   f"be an array of numbers or one number, not {type(v).__name__}")
        return shapes.pop()

    def _element_kinds(self, key) -> tuple:
        kinds = tuple(kind for _, kind in key[:len(self.params)])
        for w in self.request.positions:
            if kinds[w] != K.FLOAT:
                raise WrtError(f"cannot differentiate with respect to argument {w} ({self.params[w]!r}) of "
                               f"{self.pyfunc.__qualname__}: its elements are not floats. Pass float64 values.")
        return kinds

    # ----- code ---------------------------------------------------------------------------------
    def _build(self, key):
        with collector_paused():
            return self._generate(key)

    def _generate(self, key):
        """(launcher, its module's source) for these argument kinds, generated now."""
        kinds = self._element_kinds(key)
        self._require_floats(kinds)
        builder = ModuleBuilder("cuda" if self.request.target == "cuda" else "numba")
        try:
            built = builder.build(self.fn, "forward", self.request.positions, kinds)
        except SrcgradError as exc:
            if isinstance(exc, InternalError) or (self.request.target == "cuda" and isinstance(exc, UnsupportedSyntaxError)):
                raise   # a bug in srcgrad, or what a CUDA thread cannot run: already says what it is
            raise type(exc)(*self._as_batched(exc)) from None
        if built.return_kind not in (K.FLOAT, K.INT, K.UNKNOWN):
            raise SrcgradError(f"a batched derivative needs {self.pyfunc.__qualname__} to return one float per "
                               f"element; it returns {built.return_kind!r}")
        batched = [b for b, _ in key]
        launcher, name = launcher_source(self.request, self.params, batched, built.name, set(builder.module_names.taken))
        parsed = normalized(self.pyfunc, "forward").parsed
        module, source = builder.load(f"{self.pyfunc.__qualname__} in {inspect.getsourcefile(self.pyfunc)}, "
                                      f"target={self.request.target!r}", parsed, launcher)
        return _Launcher(getattr(module, name), self.pyfunc), source

    def _require_floats(self, kinds) -> None:
        """A parameter the function indexes or measures is an array to it, not one number per element."""
        parsed = parse_function(self.pyfunc)   # as written: its nodes have their lines
        numbers = {p for p, kind in zip(self.params, kinds) if K.is_scalar(kind)}
        statements = [n for n in syntax.walk(parsed.tree) if isinstance(n, syntax.gast.stmt)]
        for stmt, node in ((stmt, node) for stmt in statements for node in syntax.walk(stmt)):
            base = node.value if isinstance(node, (syntax.gast.Subscript, syntax.gast.Attribute)) else None
            if isinstance(base, syntax.gast.Name) and base.id in numbers:
                raise UnsupportedSyntaxError(
                    f"`{base.id}` used as an array on target={self.request.target!r}",
                    parsed.location(node) or parsed.location(stmt) or parsed.location(parsed.tree),
                    f"target={self.request.target!r} runs {self.pyfunc.__qualname__} once per element of its array "
                    "arguments (it has no prange loop), so each argument is one number there. To differentiate a "
                    "function of whole arrays on all cores, write its loop over data points with numba.prange.")

    def _as_batched(self, exc) -> tuple:
        """The arguments of `exc` again, its message saying first how this target read the function."""
        preface = (f"target={self.request.target!r} evaluates {self.pyfunc.__qualname__} once per element of its array "
                   "arguments (it has no prange loop), as a function of floats; that failed. To differentiate a "
                   "function of whole arrays on all cores, write its loop over data points with numba.prange.\n")
        if isinstance(exc, UnsupportedSyntaxError):
            return exc.construct, exc.location, preface + exc.advice
        return (preface + str(exc),)

    def _n_outputs(self) -> int:
        return {"grad": 0, "jvp": 1}.get(self.request.what, 1) + (1 if self.request.what == "jvp" else
                                                                   len(self.request.positions))

    def _shaped(self, outputs):
        what = self.request.what
        if what == "jvp":
            return outputs[0], outputs[1]
        grads = tuple(outputs[1:]) if what != "grad" else tuple(outputs)
        grads = grads if self.request.as_tuple else grads[0]
        return grads if what == "grad" else (outputs[0], grads)

    @property
    def mode(self) -> str:
        return f"{self.request.what} (target={self.request.target!r})"

    @property
    def wrt(self) -> tuple:
        return self.request.positions

    backend = "numba"

    def source(self) -> str:
        if self.last_source is None:
            raise SrcgradError("a batched derivative builds its code on its first call (it depends on which "
                               "arguments are arrays); call it once, then read its source")
        return self.last_source


def launcher_source(request: Request, params: list, batched: list, inner: str, taken: set) -> tuple[tuple, str]:
    """The launcher's (import lines, source text) and name: per element, one call of the forward-mode function
    `inner` per wrt argument, storing the value and derivatives into output arrays."""
    names = NameGenerator(taken | set(params) | MODULE_NAMES)
    name = names.fresh(f"{request.what}_{inner.removeprefix('jvp_')}_each")
    i = names.fresh("i")
    extra = ([names.fresh(f"d{params[w]}") for w in request.positions] if request.what == "jvp"
             else [names.fresh("cotangent")] if request.what == "vjp" else [])
    outputs = ([names.fresh("value_out")] if request.what != "grad" else [])
    outputs += ([names.fresh("tangent_out")] if request.what == "jvp"
                else [names.fresh(f"grad_{params[w]}") for w in request.positions])
    value, derivative = names.fresh("value"), names.fresh("derivative")
    element = {p: (names.fresh(f"{p}_{i}") if b else p) for p, b in zip(params + extra, batched)}
    reads = [f"{element[p]} = {p}[{i}]" for p, b in zip(params + extra, batched) if b]
    point = ", ".join(element[p] for p in params)
    body = list(reads)
    if request.what == "jvp":
        tangents = ", ".join(element[t] for t in extra)
        body += [f"{outputs[0]}[{i}], {outputs[1]}[{i}] = {inner}({point}, {tangents})"]
    else:
        scale = f" * {element[extra[0]]}" if request.what == "vjp" else ""
        grads = outputs[1:] if request.what != "grad" else outputs
        for k, out in enumerate(grads):
            seeds = ", ".join("1.0" if j == k else "0.0" for j in range(len(request.positions)))
            body += [f"{value}, {derivative} = {inner}({point}, {seeds})", f"{out}[{i}] = {derivative}{scale}"]
        if request.what != "grad":
            body += [f"{outputs[0]}[{i}] = {value}"]
    signature = ", ".join(params + extra + outputs)
    doc = (f'"""{request.what} of {inner.removeprefix("jvp_")} at each element: one forward-mode pass per wrt '
           f'argument, no tape."""')
    if request.target == "cuda":
        lines = [f"{i} = cuda.grid(1)", f"if {i} < {outputs[0]}.shape[0]:"] + [f"    {b}" for b in body]
        imports, decorator = "from numba import cuda\nfrom srcgrad_runtime import cuda_kernel_jit\n", "cuda_kernel_jit"
    else:
        lines = [f"for {i} in prange({outputs[0]}.shape[0]):"] + [f"    {b}" for b in body]
        imports, decorator = "from numba import prange\nfrom srcgrad_runtime import parallel_jit\n", "parallel_jit"
    text = f"@{decorator}\ndef {name}({signature}):\n    {doc}\n" + "".join(f"    {ln}\n" for ln in lines)
    return (imports, text), name


# ----- running ------------------------------------------------------------------------------

def _signature(values, target: str) -> tuple[list, tuple]:
    """Which values are batches (arrays), and the key of the launcher for them: per value, whether
    it is a batch and the kind of one element."""
    batched = [_is_batch(v, target) for v in values]
    return batched, tuple((b, _element_kind(v, b)) for v, b in zip(values, batched))


def _is_batch(value, target: str) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim > 0
    if target != "cuda" or isinstance(value, (float, int, np.number, tuple, list)):
        return False
    return K.is_device_array(value)   # numba's device arrays, CuPy's arrays, PyTorch's CUDA tensors


def _element_kind(value, batched: bool):
    if not batched:
        return K.of_value(value)
    kind = np.dtype(value.dtype).kind
    if kind not in "fiub":
        raise SrcgradError(f"a batched derivative takes arrays of floats, ints or bools, not of dtype {value.dtype}")
    return {"f": K.FLOAT, "b": K.BOOL}.get(kind, K.INT)


def _run_on_cpu(launcher, values, batched, shape, n_outputs):
    size = int(np.prod(shape))
    flat = [np.ascontiguousarray(v).reshape(size) if b else v for v, b in zip(values, batched)]
    outputs = [np.empty(size) for _ in range(n_outputs)]
    launcher(*flat, *outputs)
    return [out.reshape(shape) for out in outputs]


def _run_on_gpu(launcher, values, batched, shape, n_outputs):
    """Device arrays in, device arrays out; host arrays are copied over and the results back."""
    from numba import cuda
    size = int(np.prod(shape))
    on_device = any(b and not isinstance(v, np.ndarray) for v, b in zip(values, batched))
    flat = [_device_vector(v, size) if b else v for v, b in zip(values, batched)]
    outputs = [cuda.device_array(size, dtype=np.float64) for _ in range(n_outputs)]
    threads = min(THREADS_PER_BLOCK, size)
    launcher[math.ceil(size / threads), threads](*flat, *outputs)
    if on_device:
        return [out.reshape(shape) for out in outputs]
    return [out.copy_to_host().reshape(shape) for out in outputs]


def _device_vector(value, size: int):
    from numba import cuda
    if isinstance(value, np.ndarray):
        return cuda.to_device(np.ascontiguousarray(value).reshape(size))
    array = value if hasattr(value, "copy_to_host") else cuda.as_cuda_array(value)
    if not array.is_c_contiguous():
        raise SrcgradError("a batched derivative takes C-contiguous device arrays; copy it with "
                           "cupy.ascontiguousarray or numba's cuda.to_device(np.ascontiguousarray(...))")
    return array.reshape(size)


def require_cuda() -> None:
    """Raise a SrcgradError (not a driver traceback) when numba cannot reach a CUDA device."""
    try:
        from numba import cuda
    except Exception as exc:   # numba built without its CUDA target, or numba-cuda broken
        raise SrcgradError(f"target='cuda' needs numba's CUDA target, which failed to import ({exc}). "
                           "Install it with: pip install -e '.[cuda]'") from None
    if not cuda.is_available():
        raise SrcgradError("target='cuda': no CUDA device was found (numba.cuda.is_available() is False; a GPU, "
                           "its driver and the CUDA libraries are needed). Use target='parallel' on the CPU, or set "
                           "NUMBA_ENABLE_CUDASIM=1 before importing numba to run kernels in numba's simulator.")


class _Launcher:
    """A compiled launcher, `launcher(*args)` (CPU) or `launcher[blocks, threads](*args)` (CUDA), whose
    compile failures reach the user as srcgrad errors."""

    def __init__(self, launcher, pyfunc):
        self.launcher, self.pyfunc = launcher, pyfunc

    def __call__(self, *args):
        return self._guarded(self.launcher, args)

    def __getitem__(self, config):
        return lambda *args: self._guarded(self.launcher[config], args)

    def _guarded(self, run, args):
        try:
            return run(*args)
        except numba.core.errors.NumbaError as exc:
            reason = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().replace("\n", "\n    ")
            raise CompilationError(f"numba could not compile the batched derivative of {self.pyfunc.__qualname__}, "
                                   "which runs it once per element of its array arguments, as a function of numbers. "
                                   f"If {self.pyfunc.__qualname__} itself compiles with numba.njit for numbers, this is a "
                                   f"bug in srcgrad; please report it.\nnumba's reason:\n    {reason}") from None
