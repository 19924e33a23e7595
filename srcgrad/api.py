"""The public API: derivative functions of ordinary Python/NumPy functions."""
from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import math
import os
import re
import textwrap
import types
import warnings
from typing import Callable, Sequence, Union

import numba
import numpy as np
from srcgrad_runtime import UnequalLengths

from . import batched, syntax
from .analyze import kinds as K
from .emit import cache
from .emit import transforms
from .emit.module import load_existing, load_module
from .errors import CompilationError, InternalError, MissingSourceError, SrcgradError, UnsupportedSyntaxError, WrtError
from .budget import memory_option
from .frontend.methods import as_function, is_function_value, with_constants
from .frontend.parse import python_function, require_python_function
from .custom import is_custom
from .normalize.small_arrays import SMALL, small_lengths
from .pipeline import (SMALL_ARRAY_BACKENDS, ModuleBuilder, collector_paused, globals_fingerprint, has_parallel_loops, normalized,
                       portable_fingerprint, value_print)
from .transform.forward_vector import NotVectorizable

Wrt = Union[int, Sequence[int]]
# "parallel" and "cuda_loops": target="parallel" and target="cuda" of a function with prange loops
BACKENDS = ("numba", "python", "parallel", "cuda_loops")


class _Specializations:
    """Generated code for one (function, mode, wrt), built once per signature of argument kinds."""

    def __init__(self, fn: Callable, mode: str, wrt: tuple, backend: str, **options):
        if backend not in BACKENDS:
            raise SrcgradError(f"backend must be one of {BACKENDS}, not {backend!r}")
        self.fn, self.mode, self.wrt, self.backend, self.options = fn, mode, wrt, backend, options
        self.cache: dict = {}
        self.by_signature: dict = {}   # _signature(args) -> what get returned (or raised) for them
        self.last = None

    def get(self, args: tuple, fixed_lengths: bool = True):
        """(compiled function, module source, result kind) for these arguments. With
        `fixed_lengths`, code built for them may hold small 1-D arguments as scalars and then
        serves arguments of the same lengths only (see normalize/small_arrays.py)."""
        found = self.found(args, fixed_lengths)
        if isinstance(found, NotVectorizable):
            raise found
        return found

    def found(self, args: tuple, fixed_lengths: bool = True):
        """What `get` returns for these arguments, or the NotVectorizable it would raise (which costs
        a microsecond a call from a Python loop need not pay)."""
        signature = _signature(args, fixed_lengths)
        found = self.by_signature.get(signature) if signature is not None else None
        if found is None:
            found = self._looked_up_or_built(args, fixed_lengths)
            if signature is not None:
                self.by_signature[signature] = found
        if not isinstance(found, NotVectorizable):
            self.last = found
        return found

    def _looked_up_or_built(self, args: tuple, fixed_lengths: bool):
        """What `get` returns for these arguments, or the NotVectorizable it raises, built if new."""
        arg_kinds = tuple(K.of_value(a) for a in args)
        held = fixed_lengths and self.backend in SMALL_ARRAY_BACKENDS
        if (arg_kinds, held) not in self.cache:
            _check_wrt_kinds(self.fn, self.wrt, arg_kinds, args)
            self.cache[arg_kinds, held] = _ByLength()   # code for any length apart: it may not hold what it could
        by_length = self.cache[arg_kinds, held]
        lengths = small_lengths(args) if held else (None,) * len(args)
        key = by_length.key(lengths)
        if key not in by_length.built:
            # a derivative of a derivative: its generated code for these arguments, as Python
            target = self.fn.python_for(args) if isinstance(self.fn, DerivativeFunction) else self.fn
            target = target.called() if is_custom(target) else target   # its rules, through a call
            try:
                with collector_paused():
                    built, relied = self._build(arg_kinds, by_length.allowed(lengths), target)
                by_length.add(lengths, built, relied)
            except NotVectorizable as exc:   # jacfwd falls back to one pass per direction: decided once
                by_length.add(lengths, exc, ())
            key = by_length.key(lengths)
        return by_length.built[key]

    def _build(self, arg_kinds, lengths, target):
        """The generated code for these kinds and lengths, and the positions of the arguments whose
        lengths it relies on; reused from an earlier derivative function of the same request while
        the globals it reads are unchanged (making `grad(f)` again costs a lookup)."""
        key = (python_function(target), self.mode, self.wrt, self.backend, tuple(sorted(self.options.items())),
               arg_kinds, lengths, globals_fingerprint(target, self.mode))
        done = cache.state.built
        if key in done and _file_state(done[key][0][0]) == done[key][1]:
            return done[key][0]
        built = self._generate(arg_kinds, lengths, target)
        done[key] = built, _file_state(built[0])   # a changed file is checked again, as in a new process
        return built

    def _generate(self, arg_kinds, lengths, target):
        """((compiled function, its module's source, its result's kind), relied positions): from
        the transform cache when an earlier process built the same request, else built now (and
        stored there)."""
        pyfunc = python_function(target)
        offered = any(n is not None for n in lengths)   # the build may hold a parameter, and did not
        key, any_key, values = self._stored_keys(arg_kinds, lengths, offered, target)
        stored = _relying_on_none(transforms.lookup(any_key)) if any_key else None   # code for every length
        stored = stored or (transforms.lookup(key) if key else None)
        loaded = _load_stored(stored, values) if stored else None
        if loaded:
            module, source = loaded
            for category, message in stored.warnings:   # what the build said, said again: nothing built it now
                warnings.warn(message, category, stacklevel=4)
            return (_guarded(getattr(module, stored.function), pyfunc, self.backend), source, stored.return_kind), stored.relied
        builder = ModuleBuilder(self.backend)
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            built = builder.build(target, self.mode, self.wrt, arg_kinds, lengths, **self.options)
        for warning in said:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        parsed = normalized(pyfunc, self.mode).parsed
        module, source = builder.load(f"{parsed.name if pyfunc.__name__ == '<lambda>' else pyfunc.__qualname__} "
                                      f"in {inspect.getsourcefile(pyfunc)}", parsed)
        if key and not any(b.custom is not None for b in builder.order):
            bound = {name: value_print(v) for name, v in builder.constants.items() if isinstance(v, np.ndarray)}
            told = tuple((w.category, str(w.message)) for w in said)
            entry = transforms.Entry(module.__name__, built.name, built.return_kind, bound, told, built.relied)
            # code relying on no length is found again by a call with other lengths
            transforms.store(any_key if any_key and not built.relied else key, entry)
        return (_guarded(getattr(module, built.name), pyfunc, self.backend), source, built.return_kind), built.relied

    def _stored_keys(self, arg_kinds, lengths, offered: bool, target) -> tuple:
        """The transform cache's key for this request, the key of code for any length (when the
        lengths were `offered`) and the globals' values by print; (None, None, None) without one."""
        if os.environ.get("SRCGRAD_DUMP_AFTER"):   # the user asked to see the passes run
            return None, None, None
        portable = portable_fingerprint(target, self.mode)
        if portable is None:
            return None, None, None
        request = (self.mode, self.wrt, self.backend, tuple(sorted(self.options.items())), arg_kinds)
        any_key = transforms.request_key(request + ("any length",), portable[0]) if offered else None
        return transforms.request_key(request + (lengths,), portable[0]), any_key, portable[1]

    def source(self) -> str:
        if self.last is None and self.backend == "cuda_loops":
            raise SrcgradError("on target='cuda' the kernels are built for the kinds of the arguments on the first "
                               "call; call the derivative once, then read its source")
        if self.last is None:
            params = inspect.signature(python_function(self.fn)).parameters
            self.last = self._build(tuple(K.UNKNOWN for _ in params), (), self.fn)[0]
        return self.last[1]


_NUMBER_TYPES = frozenset({float, int, bool, np.float64, np.float32, np.int64, np.int32, np.bool_})


def _signature(args: tuple, fixed_lengths: bool) -> tuple | None:
    """A key that fixes the kinds and small lengths of arguments that are numbers or numpy arrays
    and costs less to make than they do (a repeated call from a Python loop pays it each time); None
    for other arguments (tuples, dicts, GPU arrays), which are looked up by their kinds."""
    key = [fixed_lengths]
    for a in args:
        kind = type(a)
        if kind is np.ndarray:   # each attribute of an array costs 50-120 ns: each is read once
            ndim = a.ndim
            length = len(a) if ndim == 1 else None
            key.append((a.dtype, ndim, length if length is not None and length <= SMALL else None, a.flags.c_contiguous))
        elif kind in _NUMBER_TYPES:
            key.append(kind)
        else:
            return None
    return tuple(key)


class _RepeatedCalls:
    """The route a call took once it passed every check, by its arguments' signature: a later call
    of the same signature (positional numbers and C-order numpy arrays) takes it directly, skipping
    the binding of arguments, the look-up of the generated code and the checks: about 1 µs on top of
    the generated code instead of 3-5 (a call from a Python loop: GradBench's ode at s = 1 runs in
    5 µs). A direct call that raises is made again through the checks, which say what went wrong
    as a first call would. Not on target="cuda", whose calls move arrays."""

    def __init__(self, arguments: "_Arguments", backend: str):
        simple = arguments.n_positional >= 0 and backend != "cuda_loops"
        self.count = arguments.n_positional + arguments.trailing if simple else -1
        self.routes: dict = {}

    def call(self, values: tuple, keywords: dict, checked: Callable):
        """What the derivative returns for these values; `checked(values, keywords)` makes the call
        with every check and returns (result, route): route, None or a function of the same values
        that returns the same result without the checks."""
        signature = _signature(values, True) if not keywords and len(values) == self.count else None
        route = self.routes.get(signature) if signature is not None else None
        if route is not None:
            try:
                return route(*values)
            except Exception:   # the checked call below says what went wrong, as the first call would
                self.routes.pop(signature, None)   # another thread may have dropped it first
        result, route = checked(values, keywords)
        if route is not None and signature is not None and all(part[3] for part in signature[1:] if isinstance(part, tuple)):
            self.routes[signature] = route
        return result


def _generated(compiled):
    """The generated function itself, under the wrapper `_guarded` puts around it."""
    return getattr(compiled, "dispatcher", compiled)


def _relying_on_none(entry):
    """A transform-cache entry whose code serves arguments of every length, or None."""
    return entry if entry is not None and not entry.relied else None


class _ByLength:
    """The builds for one signature of kinds, by the lengths of the arguments they rely on.

    The first build may rely on the length of any small 1-D argument; the positions it relies on
    (`relied`, often none) are then the only lengths later calls are told apart by and later
    builds may rely on, so a build found by a key never relies on a length the key leaves out.
    """

    def __init__(self):
        self.relied = None
        self.built: dict = {}

    def allowed(self, lengths: tuple) -> tuple:
        if self.relied is None:
            return lengths
        return tuple(n if k in self.relied else None for k, n in enumerate(lengths))

    def key(self, lengths: tuple) -> tuple:
        return tuple(lengths[k] for k in self.relied) if self.relied is not None else None

    def add(self, lengths: tuple, built, relied: tuple) -> None:
        if self.relied is None:
            self.relied = tuple(relied)
        self.built[self.key(lengths)] = built


def _load_stored(entry, values: dict):
    """The module a transform-cache entry names, with the arrays it reads bound, or None."""
    if any(printed not in values for printed in entry.bound.values()):
        return None
    return load_existing(entry.module, {name: values[printed] for name, printed in entry.bound.items()})


def _guarded(compiled, pyfunc, backend: str):
    """Call generated code so that every failure reaches the user as a SrcgradError, except the
    errors the function itself raises for these arguments (a shape mismatch, an index out of range),
    which pass through unchanged."""
    n_params = len(inspect.signature(pyfunc).parameters)
    compiling = [backend != "python"]   # numba compiles on the first call

    def call(*args):
        if not all(type(a) in _NUMBER_TYPES or type(a) is np.ndarray and _as_it_is(a) for a in args):
            args = _as_generated_code_takes(args, backend)
        if not compiling[0]:
            return run(args)
        compiling[0] = False
        with warnings.catch_warnings():
            # numba's advice about generated code (`'@' is faster on contiguous arrays` for a
            # tangent's transposed view) names lines the user did not write and cannot change
            warnings.simplefilter("ignore", numba.core.errors.NumbaPerformanceWarning)
            return run(args)

    def run(args):
        if backend == "cuda_loops":
            return _on_the_device(call_compiled, args)
        return call_compiled(*args)

    def call_compiled(*args):
        try:
            return compiled(*args)
        except SrcgradError:
            raise
        except numba.core.errors.NumbaError as exc:
            raise CompilationError(_numba_message(exc, compiled, pyfunc)) from None
        except UnequalLengths as exc:
            if _function_raises(pyfunc, args[:n_params]):
                raise
            construct, advice = exc.args if len(exc.args) == 2 else (
                "elementwise operations on 1-D arrays of different lengths (numpy broadcasts a length-1 array)",
                "srcgrad runs such a line as one loop over elements, which needs one length: index the length-1 "
                "array as a number (`x[0]`) instead.")
            raise UnsupportedSyntaxError(f"{construct} in {pyfunc.__qualname__}", None, advice) from None
        except Exception as exc:
            if _function_raises(pyfunc, args[:n_params]):
                raise
            raise InternalError(
                f"the derivative of {pyfunc.__qualname__} raised {type(exc).__name__}: {exc}, which "
                f"{pyfunc.__qualname__} itself does not raise for these arguments. This is a bug in srcgrad, "
                f"not in your code; the generated code is in {_generated_file(compiled)}. Please report it "
                "with the function's source.") from exc
    call.dispatcher = compiled
    return call


def _as_generated_code_takes(args: tuple, backend: str) -> tuple:
    """Dict arguments as plain tuples and, for numba, arrays in C order: numba compiles one version
    per layout, and reshape needs C order."""
    if any(isinstance(a, K.Keyed) for a in args):
        args = tuple(_plain(a) for a in args)
    if backend != "python":   # and float64: generated code computes in float64 (float32 data: numba cannot mix them)
        args = tuple(np.ascontiguousarray(a, dtype=np.float64 if a.dtype.kind == "f" else a.dtype)
                     if isinstance(a, np.ndarray) and not _as_it_is(a) else a for a in args)
    return args


def _as_it_is(a: np.ndarray) -> bool:
    """Whether generated code takes this array as it is: in C order, and of float64 if of floats."""
    return a.flags.c_contiguous and (a.dtype.kind != "f" or a.dtype.itemsize == 8)


def _on_the_device(run, args: tuple):
    """Run host code that launches kernels (target="cuda" with prange loops) with its arrays on
    the GPU: numpy arrays are copied there, and the results come back as numpy arrays unless a
    device array came in (then they stay on the device)."""
    batched.require_cuda()
    from numba import cuda
    stays = any(K.is_device_array(a) for a in _leaves(args))
    result = run(*_map_arrays(args, lambda a: cuda.to_device(a) if isinstance(a, np.ndarray) else a))
    return _map_arrays(result, lambda a: a if stays or not K.is_device_array(a) else a.copy_to_host())


def _leaves(value):
    return [leaf for item in value for leaf in _leaves(item)] if isinstance(value, tuple) else [value]


def _map_arrays(value, change):
    if isinstance(value, tuple):
        return tuple(_map_arrays(v, change) for v in value)
    return change(value)


def _plain(value):
    """A Keyed dict argument as the plain tuple generated code takes (numba types no subclass)."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _like_argument(value, like):
    """A gradient or tangent shaped like the user's argument: a dict where the argument was one."""
    if isinstance(like, K.Keyed):
        return {key: _like_argument(v, item) for key, v, item in zip(like.keys, value, like)}
    if isinstance(like, tuple) and isinstance(value, tuple):
        return tuple(_like_argument(v, item) for v, item in zip(value, like))
    return value


def _file_state(built) -> tuple | None:
    try:
        stat = os.stat(_generated_file(built[0].dispatcher))
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _function_raises(pyfunc, args) -> bool:
    try:
        pyfunc(*_as_passed(args))
    except Exception:
        return True
    return False


def _generated_file(compiled) -> str:
    function = getattr(compiled, "py_func", compiled)
    return function.__code__.co_filename


def _numba_message(exc, dispatcher, pyfunc) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    where = ""
    found = re.findall(r'File "([^"]*srcgrad_gen_[^"]*)", line (\d+)', text)
    if found:
        path, line_no = found[-1][0], int(found[-1][1])
        lines = open(path).read().splitlines()
        where = f"\n  {path}:{line_no}\n      {lines[line_no - 1].strip() if line_no <= len(lines) else ''}"
    reason = "\n    ".join(ln.rstrip() for ln in text.splitlines() if ln.strip())
    return (f"numba could not compile the code srcgrad generated for the derivative of {pyfunc.__qualname__}."
            f"{where}\nnumba's reason:\n    {reason}\n"
            f"If {pyfunc.__qualname__} itself compiles with numba.njit for these arguments, this is a bug in "
            "srcgrad; otherwise an operation in it is one numba does not support for these argument types: "
            "rewrite that line, or pass backend='python' to run the same generated code uncompiled.")


class DerivativeFunction:
    """A compiled derivative: call it like the function it came from; `.source` shows the code."""

    def __init__(self, fn: Callable, call: Callable, specializations: _Specializations, doc: str,
                 numba_call: tuple | None = None, helpers: dict | None = None, inner: _Specializations | None = None,
                 compiled_call: Callable | None = None):
        self.__wrapped__ = fn
        self._call = call
        self._specializations = specializations
        self._inner = inner or specializations   # what a call template names `inner`
        self._numba_call = numba_call   # (body template or args -> template, number of trailing values)
        self._numba_helpers = helpers or {}   # other specializations the template calls, by name
        # args -> (body, {name: specializations}) compiled_for takes instead of numba_call's template
        # for these arguments, or None: a call srcgrad need not differentiate again (jacfwd's one
        # vector-mode pass, whose generated code calls runtime helpers that have no derivative)
        self._compiled_call = compiled_call
        self._numba_versions: dict = {}
        self._wrapper = None
        self._composable: dict = {}   # argument kinds -> py_func bound to that specialization
        self.__name__ = getattr(fn, "__name__", "derivative")
        self.__doc__ = doc

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __reduce__(self):
        """Pickled as its recipe (the API, the function, wrt and options): small, and rebuilt from
        the receiving process's own cache directory (or generated there)."""
        recipe = getattr(self, "_recipe", None)
        if recipe is None:
            raise TypeError(f"{self!r} cannot be pickled: it was not made by a srcgrad API function")
        if _importable_as(self, recipe[1]):   # `@srcgrad.grad def f`: the module's name means this object
            return _module_attribute, (recipe[1].__module__, recipe[1].__qualname__)
        return _remake, recipe + (_shipped_source(recipe[1]),)

    def compiled_for(self, *args):
        """This derivative as a function your own ``@numba.njit`` code can call.

        Parameters
        ----------
        *args
            Example values, as you would pass them to this object (for `jvp` the tangents too, for
            `vjp` the cotangent): the function is compiled for arguments of these kinds.

        Returns
        -------
        callable
            A numba function taking and returning what this object does, so a loop compiled by
            numba calls it without a Python call per iteration (e.g. one Jacobian block per
            observation). With ``backend="python"``, a plain Python function.
        """
        if self._numba_call is None:
            raise SrcgradError(f"compiled_for is available on grad, value_and_grad, jvp, vjp, derivative, jacfwd, jacrev, "
                               f"hvp and hessian, "
                               f"not on this {self._specializations.mode} derivative; call it from Python instead")
        template, trailing = self._numba_call
        fn_args = args[:len(args) - trailing]
        kinds = tuple(K.of_value(a) for a in args), small_lengths(args)
        if kinds not in self._numba_versions:
            self._call(*args)   # checks the arguments and builds the specialization
            chosen = self._compiled_call(fn_args) if self._compiled_call is not None else None
            body, named = chosen or (template(fn_args) if callable(template) else template, None)
            functions = self._generated_functions(fn_args, named=named)
            self._numba_versions[kinds] = _numba_wrapper(body, len(fn_args), trailing, functions,
                                                         self._specializations.backend)
        return self._numba_versions[kinds]

    def _generated_functions(self, fn_args: tuple, fixed_lengths: bool = True, named: dict | None = None) -> dict:
        """The specializations a call template names (`named`; by default `inner` and the object's
        helpers), as the generated functions (numba dispatchers or plain functions) for these
        arguments of fn (and of their lengths, where `fixed_lengths` lets the code hold small
        arrays as scalars)."""
        named = named if named is not None else {"inner": self._inner, **self._numba_helpers}
        calls = {name: specs.get(fn_args, fixed_lengths)[0] for name, specs in named.items()}
        return {name: getattr(call, "dispatcher", call) for name, call in calls.items()}

    @property
    def source(self) -> str:
        """The generated Python source (of the most recent specialization)."""
        return self._specializations.source()

    @property
    def py_func(self):
        """A Python function, in a real file, with this derivative's parameters: it calls `inner`, the
        generated code, which `python_for` binds per argument kinds. srcgrad reads it when this
        derivative is itself differentiated (`srcgrad.derivative(srcgrad.derivative(f))`)."""
        if self._wrapper is None:
            if self._numba_call is None:
                raise MissingSourceError(f"this {self._specializations.mode} derivative of {self.__name__} cannot be "
                                         "differentiated again; differentiate f with hvp or hessian instead")
            template = self._numba_call[0]
            # a template written per argument kinds: this one stands for the parameters only
            self._wrapper = composable_wrapper(self, template if isinstance(template, str) else "return inner({args})")
        return self._wrapper

    def python_for(self, args: tuple):
        """py_func with `inner` bound to the generated code for these arguments (as this object takes them)."""
        self.py_func   # says when this derivative cannot be differentiated again
        template, trailing = self._numba_call
        fn_args = args[:len(args) - trailing]
        kinds = tuple(K.of_value(a) for a in args)
        if kinds not in self._composable:
            wrapper = self.py_func if isinstance(template, str) else composable_wrapper(self, template(fn_args))
            bound = self._generated_functions(fn_args, fixed_lengths=False)   # serves arguments of any length
            function = types.FunctionType(wrapper.__code__, {**wrapper.__globals__, **bound}, wrapper.__name__)
            function.__qualname__ = wrapper.__qualname__
            self._composable[kinds] = function
        return self._composable[kinds]

    def __repr__(self) -> str:
        return f"<srcgrad {self._specializations.mode} derivative of {self.__name__}, wrt={self._specializations.wrt}>"


def composable_wrapper(dfn: DerivativeFunction, template: str):
    """The Python function behind `dfn` with `template` as its body, written to a real file so
    srcgrad can read it; `inner` (and any helper) is bound to the generated code per argument
    kinds (DerivativeFunction.python_for)."""
    trailing = dfn._numba_call[1]
    mode = dfn._specializations.mode
    params = list(inspect.signature(python_function(dfn.__wrapped__)).parameters)
    extra = [f"tangent_{k}" if mode == "forward" else "cotangent" for k in range(trailing)]
    name = f"{'jvp' if mode == 'forward' else 'vjp'}_of_{re.sub(r'[^0-9a-zA-Z_]', '', dfn.__name__) or 'function'}"
    helpers = "".join(f"{helper} = None\n" for helper in sorted(dfn._numba_helpers))
    source = (f'"""The call srcgrad makes for {dfn!r}, as a function srcgrad can differentiate again."""\n'
              f"import numpy as np\n\ninner = None\n{helpers}\n\n" + _call_source(name, params, extra, template))
    module, _ = load_module(source, {})
    return getattr(module, name)


def _call_source(name: str, params: list, extra: list, template: str) -> str:
    """`def name(params, extra):` with the call template as its body."""
    body = template.format(args=", ".join(params), extra=", ".join(extra), **{f"a{k}": p for k, p in enumerate(params)})
    return f"def {name}({', '.join(params + extra)}):\n    " + body.replace("\n", "\n    ") + "\n"


def _numba_wrapper(template: str, n_args: int, trailing: int, functions: dict, backend: str):
    """A function with the API's calling convention around the generated `functions` (`inner`...),
    in a module of the cache directory like generated code: numba keeps its machine code there for
    the next process (jacfwd's loop over directions: 0.5 s to compile), and the module's name
    hashes its text and the generated functions it calls."""
    call = _call_source("derivative_call", [f"a{k}" for k in range(n_args)], [f"t{k}" for k in range(trailing)],
                        template)
    decorator = "from srcgrad_runtime import numba_jit as jit\n" if backend == "numba" else ""
    names = "".join(f"{name} = None\n" for name in sorted(functions))
    header = '"""The call compiled_for makes around generated code. Generated by srcgrad: do not edit."""\n'
    jit = "@jit\n" if decorator else ""
    source = f"{header}import numpy as np\n{decorator}\n{names}\n\n{jit}{call}"
    module, _ = load_module(source, functions)
    return module.derivative_call


def _numba_call(body: str, as_tuple: bool = True, trailing: int = 0) -> tuple:
    """How an API calls the generated function, as a wrapper body; `{pick}` takes the one gradient."""
    return body.replace("{pick}", "" if as_tuple else "[0]"), trailing


def source(g: DerivativeFunction) -> str:
    """The generated Python source of a derivative function srcgrad returned."""
    if not isinstance(g, DerivativeFunction):
        raise SrcgradError(f"{g!r} is not a function returned by srcgrad")
    return g.source


# ----- argument checks ----------------------------------------------------------------------

def _normalize_wrt(fn, wrt: Wrt) -> tuple[tuple, bool]:
    """(positions, whether the caller asked for a tuple). `wrt` holds positions or parameter names."""
    params = list(inspect.signature(require_python_function(fn)).parameters)
    as_tuple = isinstance(wrt, (tuple, list))
    positions = tuple(_position(fn, params, w) for w in (wrt if as_tuple else (wrt,)))
    if not positions:
        raise WrtError("wrt is empty: name at least one argument position")
    if len(set(positions)) != len(positions):
        raise WrtError(f"wrt={wrt!r} names an argument twice")
    return positions, as_tuple


def _position(fn, params: list, w) -> int:
    name = python_function(fn).__qualname__
    if isinstance(w, str):
        if w not in params:
            raise WrtError(f"wrt={w!r}: {name} has no parameter of that name; its parameters are {', '.join(params)}")
        return params.index(w)
    if not isinstance(w, (int, np.integer)) or isinstance(w, bool):
        raise WrtError(f"wrt={w!r}: name an argument by position (an int) or by parameter name (a str)")
    if not -len(params) <= w < len(params):
        raise WrtError(f"wrt={w} is out of range: {name} takes {len(params)} argument(s) ({', '.join(params)})")
    return int(w) % len(params)


class _Arguments:
    """Binds a call's positional and keyword values to fn's parameters, defaults filled in; the
    last `trailing` positional values (tangents, a cotangent) are set apart."""

    def __init__(self, fn, what: str, trailing: int = 0, trailing_what: str = ""):
        self.pyfunc = python_function(fn)
        self.signature = inspect.signature(self.pyfunc)
        self.what, self.trailing, self.trailing_what = what, trailing, trailing_what
        parameters = self.signature.parameters.values()
        self.variadic = any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)
        self.n_positional = len(parameters) if all(p.kind == p.POSITIONAL_OR_KEYWORD for p in parameters) else -1

    def bind(self, values: tuple, keywords: dict) -> tuple[tuple, tuple]:
        split = len(values) - self.trailing
        if any(isinstance(v, (dict, list)) for v in values) or (keywords and any(isinstance(v, (dict, list)) for v in keywords.values())):
            values = tuple(K.as_keyed(v) for v in values)   # parameters in a dict, as JAX and PyTorch users keep them; lists as tuples
            keywords = {k: K.as_keyed(v) for k, v in keywords.items()}
        if not keywords and split == self.n_positional:   # the common call, at numba dispatch cost
            return values[:split], values[split:]
        if self.variadic:
            normalized(self.pyfunc, "primal")   # the fence refuses *args / **kwargs, naming the line
        if split < 0:
            raise SrcgradError(self._usage(f"got {len(values)} positional value(s)"))
        try:
            bound = self.signature.bind(*values[:split], **keywords)
        except TypeError as exc:
            raise SrcgradError(self._usage(str(exc))) from None
        bound.apply_defaults()
        return tuple(bound.arguments.values()), tuple(values[split:])

    def _usage(self, problem: str) -> str:
        after = f", followed by {self.trailing} {self.trailing_what}" if self.trailing else ""
        return (f"{self.what} of {self.pyfunc.__qualname__} takes the arguments of "
                f"{self.pyfunc.__qualname__}{self.signature}{after}: {problem}")


def _check_wrt_kinds(fn, wrt: tuple, arg_kinds: tuple, args: tuple) -> None:
    params = list(inspect.signature(python_function(fn)).parameters)
    if len(arg_kinds) != len(params):
        raise SrcgradError(f"{python_function(fn).__qualname__} takes {len(params)} argument(s), got {len(arg_kinds)}")
    for w in wrt:
        kind = arg_kinds[w]
        if not _differentiable(kind):
            raise WrtError(f"cannot differentiate with respect to argument {w} ({params[w]!r}): it is "
                           f"{_describe(args[w])}. Pass a float or a float64 array, or choose another wrt.")


def require_array_blocks(fn, args: tuple, positions: tuple, what: str) -> None:
    """A Jacobian or Hessian has one block per wrt argument, each a float, an array or a tuple of
    floats: a tuple or dict holding arrays (`params = (W, b)`) gets a SrcgradError, not numpy's."""
    for w in positions:
        if isinstance(args[w], (tuple, dict)) and any(isinstance(leaf, np.ndarray) for leaf in _leaves(_plain(args[w]))):
            name = python_function(fn).__qualname__
            raise WrtError(f"{what} of {name} with respect to argument {w}, a tuple or dict holding arrays: its "
                           f"blocks are per argument. Pass the arrays as arguments of their own and list them in "
                           f"wrt (`wrt=(0, 1)`), or use grad, vjp or jvp, which take tuples and dicts.")


def _differentiable(kind) -> bool:
    """A float, a float array, or a tuple of them (nested)."""
    if isinstance(kind, tuple):
        return all(_differentiable(k) for k in kind)
    return kind == K.FLOAT or (K.is_array(kind) and kind.startswith("a"))


def _describe(value) -> str:
    if isinstance(value, tuple):   # a tuple or a dict (Keyed): name the item that cannot be differentiated
        keys = value.keys if isinstance(value, K.Keyed) else range(len(value))
        what = "a dict" if isinstance(value, K.Keyed) else "a tuple"
        for key, item in zip(keys, value):
            if not _differentiable(K.of_value(item)):
                advice = " (a list: make it a tuple)" if isinstance(item, list) else ""
                return f"{what} whose item {key!r} is {_describe(item)}{advice}"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}" + (" (complex values are not supported)" if value.dtype.kind == "c" else "")
    if isinstance(value, (bool, np.bool_)):
        return "a bool"
    if isinstance(value, (int, np.integer)):
        return "an int (pass a float, e.g. 2.0, to differentiate with respect to it)"
    if isinstance(value, (complex, np.complexfloating)):
        return "a complex number (complex values are not supported)"
    return f"a {type(value).__name__}, not a float, a float64 array or a tuple of floats"


def _as_float(value, like):
    if K.is_device_array(like):   # target="cuda": a tangent stays on the device, or is a host array copied there
        if not K.is_device_array(value):
            return _as_float(value, np.empty(like.shape))
        if tuple(value.shape) != tuple(like.shape):
            raise SrcgradError(f"a tangent/cotangent has shape {tuple(value.shape)}, expected {tuple(like.shape)}")
        return value
    if isinstance(like, np.ndarray):
        out = np.array(value, dtype=np.float64)   # a copy: generated code may write into tangents
        if out.shape != like.shape:
            raise SrcgradError(f"a tangent/cotangent has shape {out.shape}, expected {like.shape}")
        return out
    if isinstance(like, K.Keyed) and isinstance(value, dict):
        if set(value) != set(like.keys):
            raise SrcgradError(f"a tangent/cotangent dict must have the keys {list(like.keys)}, not {list(value)}")
        value = tuple(value[key] for key in like.keys)
    if isinstance(like, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(like):
            raise SrcgradError(f"a tangent/cotangent of a tuple of {len(like)} items must be a tuple of as many")
        return tuple(_as_float(v, item) for v, item in zip(value, like))
    return float(value)


# what a target other than "cpu" computes per element for each API (jacobians of a function of floats are its gradient)
_PER_ELEMENT = {"jacfwd": "grad", "jacrev": "grad"}


def _decorator(make):
    """Let `make(f, wrt=...)` also be used as `@make` and `@make(wrt=...)`, and on a
    `functools.partial` of a function; and give it the `target=` option every API documents."""
    def targeted(fn, wrt: Wrt = 0, backend: str = "numba", target: str = "cpu", **options):
        if target != "cpu" and not _parallel_loops_in(fn, target, backend, make.__name__):
            return _batched(fn, _PER_ELEMENT.get(make.__name__, make.__name__), wrt, backend, target, make.__doc__,
                            options.get("has_aux", False))
        return make(fn, wrt=wrt, backend={"parallel": "parallel", "cuda": "cuda_loops"}.get(target, backend), **options)

    def api(fn=None, wrt: Wrt = 0, backend: str = "numba", **options):
        if fn is None:
            return lambda f: api(f, wrt=wrt, backend=backend, **options)
        fn = as_function(fn)   # `model.loss`, `np.sin`
        made = _of_partial(targeted, fn, wrt, backend, options) if isinstance(fn, functools.partial) else \
            targeted(fn, wrt=wrt, backend=backend, **options)
        return remember(made, make.__name__, fn, wrt=wrt, backend=backend, **options)
    api.__name__, api.__doc__ = make.__name__, make.__doc__
    return api


def remember(made: "DerivativeFunction", name: str, fn, **arguments) -> "DerivativeFunction":
    """Record how `made` was made (`srcgrad.<name>(fn, **arguments)`): pickling it stores that
    recipe, and unpickling (in another process, on a Dask worker) makes it again there."""
    made._recipe = (name, fn, arguments)
    return made


_REMADE: dict = {}   # what unpickling made in this process, so a worker builds each derivative once


def _importable_as(made, fn) -> bool:
    """Whether `made` is what its function's module-level name holds (a decorated function)."""
    if not isinstance(fn, types.FunctionType) or fn.__module__ == "__main__" or "<locals>" in fn.__qualname__:
        return False
    try:
        return _module_attribute(fn.__module__, fn.__qualname__) is made
    except (ImportError, AttributeError):
        return False


def _module_attribute(module: str, qualname: str):
    """`module.qualname`, imported: how a decorated derivative function is unpickled."""
    value = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def _remake(name: str, fn, arguments: dict, source: str | None = None) -> "DerivativeFunction":
    import srcgrad
    key = (name, repr(sorted(arguments.items())), fn if source is None else (source, _numbers_read(fn)))
    if key not in _REMADE:
        target = _from_shipped_source(fn, source) if source is not None else fn
        _REMADE[key] = getattr(srcgrad, name)(target, **arguments)
    return _REMADE[key]


def _numbers_read(fn) -> tuple:
    """The module-level numbers and arrays a shipped function and its shipped callees read, as they
    arrived: two tasks whose functions read different values must not share a derivative."""
    values = [(n, f.__globals__[n]) for f in _shipped_functions(fn) for n in _names_used(f.__code__) if n in f.__globals__]
    return tuple((n, v.tobytes() if isinstance(v, np.ndarray) else v) for n, v in values
                 if isinstance(v, (int, float, np.ndarray)) and not isinstance(v, bool))


def _needs_source(fn) -> bool:
    """A plain function another process cannot import by name (a script's __main__, a local def)."""
    return isinstance(fn, types.FunctionType) and not fn.__closure__ and (
        fn.__module__ == "__main__" or "<locals>" in fn.__qualname__)


def _names_used(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):   # comprehensions, nested defs
            names |= _names_used(const)
    return names


def _shipped_functions(fn) -> list:
    """`fn` and the functions it calls, directly or not, that travel without a module to import
    them from: srcgrad reads each one's source, so each one's source travels."""
    found, pending = [], [fn]
    while pending:
        function = pending.pop(0)
        if function in found or not _needs_source(function):
            continue
        found.append(function)
        pending += [function.__globals__[n] for n in sorted(_names_used(function.__code__)) if n in function.__globals__]
    return found


def _shipped_source(fn) -> str | None:
    """The source to send with a function the receiving process cannot import by name (defined in
    a script's __main__, or inside a function), which cloudpickle sends by value without its
    source: its own and that of each such function it calls, one after the other."""
    if not _needs_source(fn):
        return None
    try:
        return "\n\n".join(textwrap.dedent(inspect.getsource(f)) for f in _shipped_functions(fn))
    except (OSError, TypeError):
        return None


def _from_shipped_source(fn, source: str):
    """`fn` again, compiled from its shipped source in a file of this process's cache directory
    (srcgrad reads functions from files), with the globals cloudpickle sent along with it and its
    callees (whose definitions in the file replace the copies that came without source)."""
    try:
        inspect.getsource(fn)
        return fn   # this process can read it already (the same script, say)
    except (OSError, TypeError):
        pass
    text = textwrap.dedent(source)
    name = "srcgrad_shipped_" + hashlib.sha256(text.encode()).hexdigest()[:16]
    path = cache.usable_cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    # not registered in sys.modules: pickled again (a worker passing it on), it must travel by
    # value with its source, as it came, not by a reference no other process can import
    namespace = {}
    for function in reversed(_shipped_functions(fn)):
        namespace.update({k: v for k, v in function.__globals__.items() if not k.startswith("__")})
    namespace.update(__name__="__main__", __file__=str(path))
    exec(compile(text, str(path), "exec"), namespace)
    return namespace[fn.__name__]


def _of_partial(make, bound: functools.partial, wrt: Wrt, backend: str, options: dict) -> DerivativeFunction:
    """The derivative of `partial(f, *frozen, **fixed)`: f's derivative with respect to the same
    arguments, called with the frozen and fixed values in their places (they carry no derivative)."""
    if isinstance(bound.func, functools.partial):
        bound = functools.partial(bound.func.func, *bound.func.args, *bound.args, **{**bound.func.keywords, **bound.keywords})
    params = list(inspect.signature(require_python_function(bound.func)).parameters)
    functions = {p: v for p, v in [*zip(params, bound.args), *bound.keywords.items()] if is_function_value(v)}
    if functions:   # a function fixed by the partial is read as that function, not passed to generated code
        func = with_constants(python_function(bound.func), functions)
        kept = [a for p, a in zip(params, bound.args) if p not in functions]
        return _of_partial(make, functools.partial(func, *kept, **{k: v for k, v in bound.keywords.items()
                                                                   if k not in functions}), wrt, backend, options)
    free = [p for p in params[len(bound.args):] if p not in bound.keywords]
    positions = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    names = [free[w] if isinstance(w, int) and 0 <= w < len(free) else w for w in positions]
    if not all(name in free for name in names):
        raise WrtError(f"wrt={wrt!r} does not name an argument that {bound!r} still takes ({', '.join(free)})")
    inner_wrt = tuple(params.index(name) for name in names)
    inner = make(bound.func, wrt=inner_wrt if isinstance(wrt, (tuple, list)) else inner_wrt[0], backend=backend, **options)

    def call(*args, **keywords):
        return inner(*bound.args, *args, **{**bound.keywords, **keywords})

    return DerivativeFunction(bound.func, call, inner._specializations, inner.__doc__)


# ----- targets ------------------------------------------------------------------------------

def _parallel_loops_in(fn, target: str, backend: str, api: str) -> bool:
    """Whether fn has prange loops: then target="parallel" compiles fn's own derivative with them
    parallel, and target="cuda" with them as kernels; otherwise a target runs fn's derivative once
    per element (_batched)."""
    batched.check_target(target, backend)
    if isinstance(fn, DerivativeFunction) or not has_parallel_loops(python_function(fn)):
        return False
    if target == "cuda" and api not in CUDA_LOOP_APIS:
        raise SrcgradError(f"{python_function(fn).__qualname__} has prange loops: on target='cuda' they run as kernels "
                           f"for {', '.join(CUDA_LOOP_APIS)}; {api} of it runs on target='parallel' or 'cpu'.")
    return True


# what a host-side call of a derivative with kernels can be (one call, device arrays in and out)
CUDA_LOOP_APIS = ("grad", "value_and_grad", "jvp", "vjp")


def _batched(fn, what: str, wrt: Wrt, backend: str, target: str, doc: str, has_aux: bool = False) -> DerivativeFunction:
    """The derivative at each element of fn's array arguments, on target "parallel" or "cuda"
    (srcgrad/batched.py). jacfwd and jacrev of a function of floats are its gradient there."""
    batched.check_target(target, backend)
    if has_aux:
        raise SrcgradError(f"has_aux=True is for target='cpu'; on target={target!r} return the loss alone")
    positions, as_tuple = _normalize_wrt(fn, wrt)
    runner = batched.Batched(fn, batched.Request(what, positions, as_tuple, target))
    trailing_what = {"jvp": "tangent(s), one per wrt argument", "vjp": "cotangent"}.get(what, "")
    arguments = _Arguments(fn, what, runner.request.trailing, trailing_what)

    def call(*values, **keywords):
        if target == "cuda":
            batched.require_cuda()
        args, extra = arguments.bind(values, keywords)
        return runner(args, extra)

    return DerivativeFunction(fn, call, runner, doc)


# ----- forward mode -------------------------------------------------------------------------

@_decorator
def jvp(fn: Callable, wrt: Wrt = 0, backend: str = "numba") -> DerivativeFunction:
    """Jacobian-vector product by forward mode.

    Parameters
    ----------
    fn : callable
        A Python function of floats, float64 arrays, ints and tuples.
    wrt : int or tuple of int
        Positions of the arguments to differentiate with respect to.
    backend : {"numba", "python"}
        Compile the generated code with numba, or run it as plain Python for debugging.
    target : {"cpu", "parallel", "cuda"}
        One thread, every CPU core (`prange` loops, or a function of floats per array element),
        or a GPU thread per element: the README's "GPU and multi-core" section.

    Returns
    -------
    DerivativeFunction
        ``g(*args, *tangents) -> (value, tangent_out)``: one tangent per `wrt` position, shaped like
        that argument; `tangent_out` is shaped like fn's output.
    """
    positions, _ = _normalize_wrt(fn, wrt)
    specs = _Specializations(fn, "forward", positions, backend)
    arguments = _Arguments(fn, "jvp", len(positions), "tangent(s), one per wrt argument")

    repeated = _RepeatedCalls(arguments, specs.backend)
    count = len(positions)

    def as_floats(args, tangents):
        return [_as_float(t, args[w]) for t, w in zip(tangents, positions)]

    def finished(function, out_kind, args, tangents):
        value, tangent = function(*args, *tangents)
        return as_returned(value, out_kind), as_returned(tangent, out_kind)

    def checked(values, keywords):
        args, tangents = arguments.bind(values, keywords)
        tangents = as_floats(args, tangents)
        compiled, _, out_kind = specs.get(args)
        generated = _generated(compiled)
        return finished(compiled, out_kind, args, tangents), \
            lambda *values: finished(generated, out_kind, values[:-count], as_floats(values[:-count], values[-count:]))

    def call(*args_and_tangents, **keywords):
        return repeated.call(args_and_tangents, keywords, checked)

    return DerivativeFunction(fn, call, specs, jvp.__doc__,
                              _numba_call("return inner({args}, {extra})", trailing=len(positions)))


def derivative(fn: Callable, backend: str = "numba") -> DerivativeFunction:
    """f′ of a function of one float, by forward mode.

    Returns
    -------
    DerivativeFunction
        ``fprime(x) -> df/dx`` (an array if fn returns an array).
    """
    fn = as_function(fn)
    inner = jvp(fn, wrt=0, backend=backend)
    arguments = _Arguments(fn, "derivative")

    specs = inner._specializations
    repeated = _RepeatedCalls(arguments, specs.backend)

    def checked(values, keywords):
        args, _ = arguments.bind(values, keywords)
        if _shape_of(args[0]) != ():
            raise SrcgradError(f"derivative(f) differentiates a function of one float; {python_function(fn).__qualname__}'s "
                               f"first argument is an array here: use jacfwd or jvp instead")
        compiled, _, out_kind = specs.get(args)
        generated = _generated(compiled)
        return as_returned(compiled(*args, 1.0)[1], out_kind), lambda *args: as_returned(generated(*args, 1.0)[1], out_kind)

    def call(*args, **keywords):
        return repeated.call(args, keywords, checked)

    return remember(DerivativeFunction(fn, call, specs, derivative.__doc__,
                                       _numba_call("return inner({args}, 1.0)[1]")), "derivative", fn, backend=backend)


@_decorator
def jacfwd(fn: Callable, wrt: Wrt = 0, backend: str = "numba") -> DerivativeFunction:
    """The Jacobian by forward mode.

    One pass carries all input directions (vector mode) for scalar-style code with transcendental
    functions, and for code with operations on arrays, whose tangents also carry the directions
    they may be nonzero in (work for the others is skipped). Other code (float arithmetic only,
    tuple outputs, calls that stay calls) runs one tangent pass per input element.

    Parameters
    ----------
    target : {"cpu", "parallel", "cuda"}
        One thread, every CPU core (`prange` loops, or a function of floats per array element),
        or a GPU thread per element: the README's "GPU and multi-core" section.

    Returns
    -------
    DerivativeFunction
        ``J(*args)`` with shape ``np.shape(output) + np.shape(args[wrt])``; a tuple of such when
        `wrt` is a tuple.
    """
    positions, as_tuple = _normalize_wrt(fn, wrt)
    vector = _Specializations(fn, "forward_vector", positions, backend)
    per_direction = _Specializations(fn, "forward", positions, backend)
    primal = _Specializations(fn, "primal", (), backend)
    used = _LastUsed(per_direction)
    arguments = _Arguments(fn, "jacfwd")
    loops = _DirectionLoops(backend)

    repeated = _RepeatedCalls(arguments, per_direction.backend)

    def sizes_of(args):
        return [math.prod(_shape_of(args[w])) for w in positions]

    def blocks_of(columns, args, sizes):
        blocks, offset = [], 0
        for w, size in zip(positions, sizes):
            block = columns[..., offset:offset + size]
            blocks.append(_finish(block.reshape(block.shape[:-1] + _shape_of(args[w]))))
            offset += size
        return tuple(blocks) if as_tuple else blocks[0]

    def vector_route(generated):
        def route(*args):
            sizes = sizes_of(args)
            if sum(sizes) <= 1:
                raise NotVectorizable("one input element")   # the checked call takes one pass
            used.specs = vector
            return blocks_of(_vector_columns(generated, args, positions), args, sizes)
        return route

    def checked(values, keywords):
        args, _ = arguments.bind(values, keywords)
        require_array_blocks(fn, args, positions, "jacfwd")
        sizes = sizes_of(args)
        pristine = _written_arguments(fn, args)
        columns = _vector_pass(vector, _fresh(args, pristine) if pristine else args, positions) \
            if sum(sizes) > 1 else None
        used.specs = vector if columns is not None else per_direction
        if columns is not None and not pristine:
            return blocks_of(columns, args, sizes), vector_route(_generated(vector.get(args)[0]))
        if columns is None and not pristine:
            compiled = loops.get(derivative, args)
            try:
                if compiled is not None:
                    return compiled(*args), compiled
            except numba.core.errors.NumbaError:   # kinds the loop's code does not type: Python passes
                loops.refuse(args)
        if columns is None:
            columns = _direction_passes(per_direction, args, positions, pristine)
        if pristine:   # the caller's arrays change as one call of fn changes them
            primal.get(args)[0](*args)
        return blocks_of(columns, args, sizes), None

    def call(*args, **keywords):
        return repeated.call(args, keywords, checked)

    def numba_template(args) -> str:
        return _columns_template(args, positions, primal.get(args)[2], as_tuple)

    def compiled_call(args):
        """compiled_for's body: one vector-mode pass where the function has one for these kinds."""
        if sum(sizes_of(args)) <= 1 or _written_arguments(fn, args) or isinstance(vector.found(args), NotVectorizable):
            return None
        return _vector_template(args, positions, primal.get(args)[2], as_tuple), {"vector": vector}

    derivative = DerivativeFunction(fn, call, used, jacfwd.__doc__, (numba_template, 0), {"primal": primal},
                                    inner=per_direction, compiled_call=compiled_call)
    return derivative


class _DirectionLoops:
    """jacfwd called again with arguments of the same kinds runs its passes, one per input
    direction, in one compiled loop (its compiled_for function) instead of one Python call each.
    The first call runs them from Python, so a Jacobian taken once compiles nothing more; kinds the
    loop does not cover (outputs or wrt arguments beyond 1-D) keep the Python passes."""

    def __init__(self, backend: str):
        self.backend, self.seen, self.loops, self.building = backend, set(), {}, False

    def get(self, derivative, args):
        if self.backend != "numba" or self.building:
            return None
        kinds = self._key(args)
        if kinds not in self.seen:
            self.seen.add(kinds)
            return None
        if kinds not in self.loops:
            self.building = True   # compiled_for calls jacfwd once itself
            try:
                self.loops[kinds] = derivative.compiled_for(*args)
            except SrcgradError:
                self.loops[kinds] = None
            finally:
                self.building = False
        return self.loops[kinds]

    def refuse(self, args) -> None:
        self.loops[self._key(args)] = None

    def built(self, args):
        """The compiled loop for these arguments, if one was built."""
        return self.loops.get(self._key(args))

    @staticmethod
    def _key(args) -> tuple:
        """Their kinds and small lengths (a loop's code may hold small arrays as scalars)."""
        return _signature(args, True) or (tuple(K.of_value(a) for a in args), small_lengths(args))


def _require_vectors(args, positions, out_kind) -> None:
    """jacfwd's call templates serve a float or 1-D output and float or 1-D inputs."""
    if not (out_kind == K.FLOAT or (K.is_array(out_kind) and K.ndim(out_kind) == 1)):
        raise SrcgradError("compiled_for on jacfwd, and a derivative of jacfwd, need a function returning a float or a 1-D array")
    if any(not (isinstance(args[w], float) or (isinstance(args[w], np.ndarray) and args[w].ndim == 1)) for w in positions):
        raise SrcgradError("compiled_for on jacfwd, and a derivative of jacfwd, need the wrt arguments to be floats or 1-D arrays")


def _vector_template(args, positions, out_kind, as_tuple: bool) -> str:
    """jacfwd as one vector-mode pass, `vector`, seeded with the rows of an identity, its columns
    cut into the blocks: for compiled_for (inside an njit loop, a float of 6 inputs and a scalar:
    0.30 against 0.55 µs for a pass per input element; 3 outputs of an outer product: 6.1 against
    8.4 µs)."""
    _require_vectors(args, positions, out_kind)
    sizes = ["1" if isinstance(args[w], float) else f"{{a{w}}}.shape[0]" for w in positions]
    lines = [f"n{k} = {size}" for k, size in enumerate(sizes)] + ["o0 = 0"]
    lines += [f"o{k + 1} = o{k} + n{k}" for k in range(len(positions))]
    lines.append(f"identity = np.eye(o{len(positions)})")   # the generated code may write into its seeds
    seeds = ", ".join(f"identity[o{k}]" if isinstance(args[w], float) else f"identity[o{k}:o{k + 1}]"
                      for k, w in enumerate(positions))
    lines.append(f"columns = vector({{args}}, {seeds})[1]")
    rows = "" if out_kind == K.FLOAT else ":, "
    for k, w in enumerate(positions):
        part = f"columns[{rows}o{k}]" if isinstance(args[w], float) else f"columns[{rows}o{k}:o{k + 1}]"
        lines.append(f"J{k} = {part}" if out_kind == K.FLOAT and isinstance(args[w], float)
                     else f"J{k} = np.ascontiguousarray({part})")
    return "\n".join(lines + [_blocks_returned(len(positions), as_tuple)])


def _blocks_returned(count: int, as_tuple: bool) -> str:
    """A jacfwd template's last line: its blocks J0, J1, ..., as a tuple where wrt is one."""
    blocks = ", ".join(f"J{k}" for k in range(count))
    return f"return {'(' + blocks + ',)' if as_tuple else blocks}"


def _columns_template(args, positions, out_kind, as_tuple: bool) -> str:
    """jacfwd as one forward pass per input element, a Python body over `inner` (the jvp): for
    compiled_for and for differentiating it again. A float or 1-D output, float or 1-D inputs."""
    _require_vectors(args, positions, out_kind)
    zeros = ["0.0" if isinstance(args[w], float) else f"np.zeros({{a{w}}}.shape[0])" for w in positions]
    lines = ["m = primal({args}).shape[0]"] if out_kind != K.FLOAT else []
    for k, w in enumerate(positions):
        if isinstance(args[w], float):
            tangents = ", ".join("1.0" if j == k else zero for j, zero in enumerate(zeros))
            lines.append(f"J{k} = inner({{args}}, {tangents})[1]")
            continue
        tangents = ", ".join("direction" if j == k else zero for j, zero in enumerate(zeros))
        # a column copied element by element: numba's `J[:, i] = column` compiles a 1.2 s error message
        into = (["    for r in range(m):", f"        J{k}[r, i] = column[r]"] if out_kind != K.FLOAT
                else [f"    J{k}[i] = column"])
        lines += [f"J{k} = np.empty({'(m, ' if out_kind != K.FLOAT else '('}{{a{w}}}.shape[0]))",
                  f"for i in range({{a{w}}}.shape[0]):", f"    direction = np.zeros({{a{w}}}.shape[0])",
                  "    direction[i] = 1.0", f"    column = inner({{args}}, {tangents})[1]"] + into
    return "\n".join(lines + [_blocks_returned(len(positions), as_tuple)])


class _LastUsed:
    """The specializations a jacfwd call used last (vector mode or one pass per direction)."""

    def __init__(self, specs):
        self.specs = specs

    def __getattr__(self, attr):
        return getattr(self.specs, attr)


def _vector_pass(specs, args, positions):
    """All Jacobian columns from one vector-mode pass, or None when the function does not qualify."""
    found = specs.found(args)
    if isinstance(found, NotVectorizable):
        return None
    return _vector_columns(found[0], args, positions)


def _vector_columns(compiled, args, positions):
    """The Jacobian's columns from `compiled`, a vector-mode pass, for these arguments."""
    shapes = tuple(_shape_of(args[w]) for w in positions)
    if sum(math.prod(shape) for shape in shapes) > _KEPT_SEEDS:
        seeds = _seeds(shapes)
    else:
        seeds = [np.copy(seed) for seed in _kept_seeds(shapes)]   # the code may write into its tangents
    return np.asarray(_single_output(compiled(*args, *seeds)[1]), dtype=np.float64)


_KEPT_SEEDS = 256   # inputs: seeds for at most this many (an identity of 512 KB) are kept between calls


@functools.lru_cache(maxsize=64)
def _kept_seeds(shapes: tuple) -> tuple:
    return _seeds(shapes)


def _seeds(shapes: tuple) -> tuple:
    """Vector mode's input tangents for wrt arguments of these shapes: each element's tangent is a
    row of the identity over all their elements, on an extra last axis."""
    total = sum(math.prod(shape) for shape in shapes)
    identity, seeds, offset = np.eye(total), [], 0
    for shape in shapes:
        size = math.prod(shape)
        seeds.append(identity[offset:offset + size].reshape(shape + (total,)))
        offset += size
    return tuple(seeds)


def _shape_of(value) -> tuple:
    """np.shape, without its conversion to an array for a float (a call from a Python loop pays it)."""
    if type(value) is np.ndarray:
        return value.shape
    return () if type(value) in _NUMBER_TYPES else np.shape(value)


def _direction_passes(specs, args, positions, pristine: dict | None = None):
    """All Jacobian columns from one forward pass per input element; each pass starts from the
    `pristine` copies of the arguments the function writes into."""
    pristine = pristine or {}
    compiled = specs.get(args)[0]
    zeros = [np.zeros_like(args[w], dtype=np.float64) if isinstance(args[w], np.ndarray) else 0.0 for w in positions]
    columns = []
    for k, w in enumerate(positions):
        for direction in _basis(args[w]):
            tangents = list(zeros)
            tangents[k] = direction
            columns.append(np.asarray(_single_output(compiled(*_fresh(args, pristine), *tangents)[1]), dtype=np.float64))
    return np.stack(columns, axis=-1)


def _written_arguments(fn, args) -> dict:
    """position -> a copy of each argument array `fn` writes into: a Jacobian's passes each start
    from the caller's values, and only the caller's own call changes its arrays."""
    if isinstance(fn, DerivativeFunction):
        return {}   # generated code leaves its arguments alone
    written = _written_positions(fn)
    return {k: np.copy(a) for k, a in enumerate(args) if k in written and isinstance(a, np.ndarray)} if written else {}


@functools.lru_cache(maxsize=None)
def _written_positions(fn) -> frozenset:
    """Positions of the parameters `fn` writes into (element writes, in-place updates)."""
    tree = normalized(python_function(fn), "forward").parsed.tree
    written = {syntax.base_name(t) for node in syntax.walk(tree) if isinstance(node, syntax.gast.Assign)
               for t in node.targets if isinstance(t, syntax.gast.Subscript)}
    written |= {node.targets[0].id for node in syntax.walk(tree) if isinstance(node, syntax.gast.Assign)
                and getattr(node, "srcgrad_augmented", False) and isinstance(node.targets[0], syntax.gast.Name)}
    return frozenset(k for k, p in enumerate(syntax.param_names(tree)) if p in written)


def _fresh(args, pristine: dict) -> tuple:
    """The arguments for one more pass: copies of the caller's values where a pass writes."""
    return tuple(np.copy(pristine[k]) if k in pristine else a for k, a in enumerate(args))


def _basis(like):
    if isinstance(like, np.ndarray):
        for k in range(like.size):
            e = np.zeros(like.size)
            e[k] = 1.0
            yield e.reshape(like.shape)
    else:
        yield 1.0


def _single_output(value):
    if isinstance(value, tuple):
        raise SrcgradError("jacfwd/jacrev need a function with one (scalar or array) output; "
                           "for tuple outputs use jvp or vjp")
    return value


def _finish(array):
    return float(array) if np.ndim(array) == 0 else array


# ----- reverse mode -------------------------------------------------------------------------

def _reverse(fn, wrt, backend, with_value, memory=None):
    positions, as_tuple = _normalize_wrt(fn, wrt)
    budget = memory_option(memory)
    specs = _Specializations(fn, "reverse", positions, backend, with_value=with_value,
                             **({"memory": budget} if budget else {}))
    return positions, as_tuple, specs


def _seeded_call(arguments, specs, fn, finished: Callable, direct: Callable | None = None) -> Callable:
    """grad's and value_and_grad's call: the generated code for a scalar function with its output
    seeded 1.0, then `finished(function, args)` (the gradients shaped as the arguments); repeated
    calls go straight to the generated code (_RepeatedCalls), by `direct(generated, args)` where
    that gives a shorter route for arguments of these kinds."""
    repeated = _RepeatedCalls(arguments, specs.backend)

    def checked(values, keywords):
        args, _ = arguments.bind(values, keywords)
        compiled = _scalar_seed(specs, args, fn)
        generated = _generated(compiled)
        route = (direct(generated, args) if direct else None) or (lambda *args: finished(generated, args))
        return finished(compiled, args), route

    def call(*args, **keywords):
        return repeated.call(args, keywords, checked)
    return call


def _scalar_seed(specs, args, fn):
    compiled, _, out_kind = specs.get(args)
    if not (K.is_scalar(out_kind) or out_kind in (K.UNKNOWN, K.array(0))):   # a 0-d array holds one number
        raise SrcgradError(f"grad needs {python_function(fn).__qualname__} to return a scalar, but it returns "
                           f"{'a tuple' if isinstance(out_kind, tuple) else 'an array'}; use vjp or jacrev instead")
    return compiled


def _shape_grads(grads, args, positions, as_tuple):
    if not as_tuple:
        return _shaped_like(grads[0], args[positions[0]])
    return tuple(_shaped_like(g, args[w]) for g, w in zip(grads, positions))


def _shaped_like(grad, argument):
    """A gradient as the user's argument is: a float for a float, a dict for a dict."""
    if type(argument) is np.ndarray:
        return grad
    if isinstance(argument, (np.ndarray, tuple)) or K.is_device_array(argument):
        return _like_argument(grad, argument)
    return float(grad)


def _aux_seed(out_kind, fn) -> tuple:
    """The output cotangent of a `(loss, aux)` result: 1 for the loss, zeros for aux (which carries
    no derivative to the gradient, whatever it holds)."""
    if not (isinstance(out_kind, tuple) and len(out_kind) == 2 and (K.is_scalar(out_kind[0]) or out_kind[0] == K.UNKNOWN)):
        raise SrcgradError(f"has_aux=True needs {python_function(fn).__qualname__} to return a pair (loss, aux) "
                           "with a float loss")
    return (1.0, _zeros_of_kind(out_kind[1]))


def _zeros_of_kind(kind):
    return tuple(_zeros_of_kind(k) for k in kind) if isinstance(kind, tuple) else 0.0   # broadcasts into arrays


def _with_aux(specs, positions, as_tuple, fn):
    """Call and compiled_for template of grad / value_and_grad with has_aux=True: (value, aux, grads)."""
    def call(args):
        compiled, _, out_kind = specs.get(args)
        (value, aux), grads = compiled(*args, _aux_seed(out_kind, fn))
        return value, as_returned(aux, out_kind[1]), _shape_grads(grads, args, positions, as_tuple)

    def template(body: str):
        pick = "" if as_tuple else "[0]"
        return lambda fn_args: (f"result, grads = inner({{args}}, {_aux_seed(specs.get(fn_args)[2], fn)!r})\n"
                                + body.format(pick=pick)), 0
    return call, template


@_decorator
def grad(fn: Callable, wrt: Wrt = 0, backend: str = "numba", has_aux: bool = False,
         memory: int | str | None = None) -> DerivativeFunction:
    """The gradient of a scalar function by reverse mode.

    Parameters
    ----------
    fn : callable
        A Python function returning a float (or a 0-d array: one number).
    wrt : int or tuple of int
        Positions of the arguments to differentiate with respect to.
    backend : {"numba", "python"}
    target : {"cpu", "parallel", "cuda"}
        One thread, every CPU core (`prange` loops, or a function of floats per array element),
        or a GPU thread per element: the README's "GPU and multi-core" section.

    Returns
    -------
    DerivativeFunction
        ``g(*args)``: df/d(args[wrt]), shaped like that argument (a float for a float argument);
        a tuple when `wrt` is a tuple, even a tuple of one. With `has_aux=True` (`fn` returns
        `(loss, aux)`), ``(grads, aux)``.
    """
    positions, as_tuple, specs = _reverse(fn, wrt, backend, with_value=has_aux, memory=memory)
    arguments = _Arguments(fn, "grad")
    if has_aux:
        with_aux, template = _with_aux(specs, positions, as_tuple, fn)

        def call_with_aux(*args, **keywords):
            _, aux, grads = with_aux(arguments.bind(args, keywords)[0])
            return grads, aux

        return DerivativeFunction(fn, call_with_aux, specs, grad.__doc__, template("return grads{pick}, result[1]"))

    def finished(function, args):
        return _shape_grads(function(*args, 1.0), args, positions, as_tuple)

    def direct(generated, args):
        """The one gradient of an array argument is the generated code's first result, as it is:
        a repeated call (same kinds, so an array there again) skips the shaping's calls."""
        if as_tuple or type(args[positions[0]]) is not np.ndarray:
            return None
        return lambda *values: generated(*values, 1.0)[0]

    return DerivativeFunction(fn, _seeded_call(arguments, specs, fn, finished, direct), specs, grad.__doc__, _numba_call("return inner({args}, 1.0){pick}", as_tuple))


@_decorator
def value_and_grad(fn: Callable, wrt: Wrt = 0, backend: str = "numba", has_aux: bool = False,
                   memory: int | str | None = None) -> DerivativeFunction:
    """The value and gradient of a scalar function, in one reverse-mode pass.

    Parameters
    ----------
    has_aux : bool
        `fn` returns a pair `(loss, aux)`: the gradient is the loss's, and `aux` (anything srcgrad
        can compute: floats, arrays, tuples) comes back beside the value, as in JAX.
    target : {"cpu", "parallel", "cuda"}
        One thread, every CPU core (`prange` loops, or a function of floats per array element),
        or a GPU thread per element: the README's "GPU and multi-core" section.

    Returns
    -------
    DerivativeFunction
        ``g(*args) -> (value, grads)``, grads as for :func:`grad`; with `has_aux`,
        ``((value, aux), grads)``.
    """
    positions, as_tuple, specs = _reverse(fn, wrt, backend, with_value=True, memory=memory)
    arguments = _Arguments(fn, "value_and_grad")
    if has_aux:
        with_aux, template = _with_aux(specs, positions, as_tuple, fn)

        def call_with_aux(*args, **keywords):
            value, aux, grads = with_aux(arguments.bind(args, keywords)[0])
            return (value, aux), grads

        return DerivativeFunction(fn, call_with_aux, specs, value_and_grad.__doc__,
                                  template("return result, grads{pick}"))

    def finished(function, args):
        value, grads = function(*args, 1.0)
        return value, _shape_grads(grads, args, positions, as_tuple)

    return DerivativeFunction(fn, _seeded_call(arguments, specs, fn, finished), specs, value_and_grad.__doc__,
                              _numba_call("value, grads = inner({args}, 1.0)\nreturn value, grads{pick}", as_tuple))


@_decorator
def vjp(fn: Callable, wrt: Wrt = 0, backend: str = "numba", memory: int | str | None = None) -> DerivativeFunction:
    """Vector-Jacobian product by reverse mode.

    Parameters
    ----------
    target : {"cpu", "parallel", "cuda"}
        One thread, every CPU core (`prange` loops, or a function of floats per array element),
        or a GPU thread per element: the README's "GPU and multi-core" section.

    Returns
    -------
    DerivativeFunction
        ``g(*args, cotangent) -> (value, grads)``: `cotangent` is shaped like fn's output; grads
        are shaped as for :func:`grad`.
    """
    positions, as_tuple, specs = _reverse(fn, wrt, backend, with_value=True, memory=memory)
    arguments = _Arguments(fn, "vjp", 1, "cotangent, shaped like the output")

    repeated = _RepeatedCalls(arguments, specs.backend)

    def finished(function, out_kind, args, cotangent):
        cotangent = _as_cotangent(cotangent, out_kind)
        try:
            value, grads = function(*args, cotangent)
        except Exception:
            _require_output_shape(cotangent, lambda: fn(*_as_passed(args)))   # the likelier mistake
            raise
        _require_output_shape(cotangent, lambda: value)
        return as_returned(value, out_kind), _shape_grads(grads, args, positions, as_tuple)

    def checked(values, keywords):
        args, (cotangent,) = arguments.bind(values, keywords)
        compiled, _, out_kind = specs.get(args)
        generated = _generated(compiled)
        return finished(compiled, out_kind, args, cotangent), \
            lambda *values: finished(generated, out_kind, values[:-1], values[-1])

    def call(*args_and_cotangent, **keywords):
        return repeated.call(args_and_cotangent, keywords, checked)

    return DerivativeFunction(fn, call, specs, vjp.__doc__,
                              _numba_call("value, grads = inner({args}, {extra})\nreturn value, grads{pick}", as_tuple, 1))


def _require_output_shape(cotangent, output) -> None:
    """Raise a SrcgradError when the cotangent's arrays are not shaped like the output's
    (`output()`: the output, computed only where the cotangent holds arrays)."""
    given = [leaf for leaf in _leaves(cotangent) if isinstance(leaf, np.ndarray)]
    if not given:
        return
    try:
        out = output()
    except Exception:
        return   # the function itself fails: the caller reports that
    if isinstance(out, dict) or any(isinstance(leaf, dict) for leaf in _leaves(out)):
        return
    if isinstance(cotangent, np.ndarray):   # one array: a tuple of numbers takes one as a vector
        try:
            expected, shapes = [np.shape(out)], [cotangent.shape]
        except ValueError:   # a tuple of arrays of several shapes
            expected, shapes = [tuple(np.shape(leaf) for leaf in _leaves(out))], [cotangent.shape]
    else:
        expected = [np.shape(leaf) for leaf in _leaves(out)]
        shapes = [np.shape(leaf) for leaf in _leaves(cotangent)]
    if shapes != expected:
        shown = lambda items: ", ".join(map(str, items))  # noqa: E731
        raise SrcgradError(f"the cotangent has shape {shown(shapes)}, but the function's output has shape "
                           f"{shown(expected)}: pass a cotangent shaped like the output")


def _as_passed(args: tuple) -> tuple:
    """Copies of bound arguments as the caller passed them (dicts for Keyed tuples)."""
    def passed(value):
        if isinstance(value, K.Keyed):
            return {key: passed(v) for key, v in zip(value.keys, value)}
        if isinstance(value, tuple):
            return tuple(passed(v) for v in value)
        return value.copy() if isinstance(value, np.ndarray) else value
    return tuple(passed(a) for a in args)


def _as_cotangent(cotangent, kind=K.UNKNOWN):
    """The output cotangent as generated code takes it: a dict output's as the tuple of its values
    in the order of the keys in the function's return (whatever order the caller's dict has)."""
    if isinstance(cotangent, K.Keyed):   # a dict the argument binding made a Keyed tuple
        cotangent = dict(zip(cotangent.keys, cotangent))
    if isinstance(kind, K.DictKind):
        if not isinstance(cotangent, dict) or set(cotangent) != set(kind.keys):
            raise SrcgradError(f"the cotangent of a dict output must be a dict with the keys {list(kind.keys)}")
        return tuple(_as_cotangent(cotangent[key], item) for key, item in zip(kind.keys, kind))
    if isinstance(cotangent, tuple):
        items = kind if isinstance(kind, tuple) and len(kind) == len(cotangent) else [K.UNKNOWN] * len(cotangent)
        return tuple(_as_cotangent(c, item) for c, item in zip(cotangent, items))
    if isinstance(cotangent, np.ndarray):
        return np.asarray(cotangent, dtype=np.float64)
    if K.is_device_array(cotangent):
        return cotangent
    return float(cotangent)


def as_returned(value, kind):
    """An output as the function returns it: the tuples generated code returns for dict literals
    (normalize/desugar.py) as dicts again."""
    if isinstance(kind, K.DictKind) and isinstance(value, tuple):
        return {key: as_returned(v, item) for key, v, item in zip(kind.keys, value, kind)}
    if isinstance(kind, tuple) and isinstance(value, tuple) and len(kind) == len(value):
        return tuple(as_returned(v, item) for v, item in zip(value, kind))
    return value


@_decorator
def jacrev(fn: Callable, wrt: Wrt = 0, backend: str = "numba", memory: int | str | None = None) -> DerivativeFunction:
    """The Jacobian by reverse mode: one adjoint pass per output element.

    Parameters
    ----------
    target : {"cpu", "parallel", "cuda"}
        One thread, every CPU core (`prange` loops, or a function of floats per array element),
        or a GPU thread per element: the README's "GPU and multi-core" section.

    Returns
    -------
    DerivativeFunction
        ``J(*args)`` with shape ``np.shape(output) + np.shape(args[wrt])``; a tuple of such when
        `wrt` is a tuple.
    """
    positions, as_tuple, specs = _reverse(fn, wrt, backend, with_value=False, memory=memory)
    primal = _Specializations(fn, "primal", (), backend)
    arguments = _Arguments(fn, "jacrev")
    loops = _DirectionLoops(backend)
    repeated = _RepeatedCalls(arguments, specs.backend)

    def checked(values, keywords):
        """A call again with arguments of the same kinds runs every output's pass in one compiled
        loop (106 µs -> 6 µs for BA's 2 x 15 block from Python), as jacfwd does."""
        args, _ = arguments.bind(values, keywords)
        require_array_blocks(fn, args, positions, "jacrev")
        pristine = _written_arguments(fn, args)
        compiled = loops.get(derivative, args) if not pristine else None
        try:
            if compiled is not None:
                return compiled(*args), compiled
        except numba.core.errors.NumbaError:   # kinds the loop's code does not type: Python passes
            loops.refuse(args)
        return passes(args, pristine), None

    def passes(args, pristine):
        compiled = specs.get(args)[0]
        value = _single_output(primal.get(args)[0](*args))   # the one call that changes the caller's arrays
        rows = [[] for _ in positions]
        for direction in _basis(np.asarray(value, dtype=np.float64) if np.ndim(value) else 0.0):
            grads = compiled(*_fresh(args, pristine), direction)
            for k, g in enumerate(grads):
                rows[k].append(np.asarray(g, dtype=np.float64))
        blocks = [_finish(np.stack(r).reshape(np.shape(value) + np.shape(args[w]))) for r, w in zip(rows, positions)]
        return tuple(blocks) if as_tuple else blocks[0]

    def call(*args, **keywords):
        return repeated.call(args, keywords, checked)

    def numba_template(args) -> str:
        """One reverse pass per output element, inside numba: for a float or 1-D output."""
        out_kind = specs.get(args)[2]
        if out_kind == K.FLOAT:
            return "return inner({args}, 1.0)" + ("" if as_tuple else "[0]")
        if not (K.is_array(out_kind) and K.ndim(out_kind) == 1):
            raise SrcgradError("compiled_for on jacrev needs a function returning a float or a 1-D array")
        shapes = [f"(m,) + {{a{w}}}.shape" if isinstance(args[w], np.ndarray) else "m" for w in positions]
        allocate = "\n".join(f"J{k} = np.empty({shape})" for k, shape in enumerate(shapes))
        store = "\n    ".join(f"J{k}[i] = rows[{k}]" for k in range(len(positions)))
        blocks = ", ".join(f"J{k}" for k in range(len(positions)))
        return (f"m = primal({{args}}).shape[0]\n{allocate}\nfor i in range(m):\n    cotangent = np.zeros(m)\n"
                f"    cotangent[i] = 1.0\n    rows = inner({{args}}, cotangent)\n    {store}\n"
                f"return {'(' + blocks + ',)' if as_tuple else blocks}")

    derivative = DerivativeFunction(fn, call, specs, jacrev.__doc__, (numba_template, 0), {"primal": primal})
    return derivative

