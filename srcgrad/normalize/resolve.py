"""Resolve: every call, attribute and free name is bound to the object it means.

After this pass:
- a call to a primitive has `func` rewritten to the rule's canonical spelling (`np.sin`) and carries
  `srcgrad_rule`; a call to a user function carries `srcgrad_user` (the Python function);
- array methods and properties are plain calls (`x.sum()` -> `np.sum(x)`, `x.T` -> `np.transpose(x)`);
- module constants (`math.pi`) are constants, and other free names are recorded in `globals_read`.
Anything that resolves to neither a rule nor Python source raises NoRuleError.
"""
from __future__ import annotations

import builtins
import inspect
import math
import os
import sysconfig
import types

import gast
import numba
import numpy as np
import srcgrad_runtime

from .. import syntax
from ..budget import checkpoint, parse_memory
from ..custom import is_custom
from ..errors import NoRuleError, SrcgradError, UnsupportedSyntaxError
from ..frontend.methods import is_bound_method, is_function_value, method_as_function, with_constants
from ..frontend.parse import ParsedFunction, is_derivative, python_function
from ..rules import registry
from ..rules.composite import roll_along
from ..rules.runtime import READ_AS_PYTHON
from ..rules.results import keyword as results_keyword, same_as_first
from ..rules.template import CallTemplate

ARRAY_PROPERTIES = {"shape", "size", "ndim", "dtype"}


class Resolved:
    """What resolution found besides the rewritten tree."""

    def __init__(self, parsed: ParsedFunction):
        self.parsed = parsed
        self.user_calls: dict[str, object] = {}    # name used in the tree -> Python function
        self.global_paths: dict[str, list] = {}    # name used in the tree -> its dotted path (numbers, arrays)
        self.global_owners: dict[str, ParsedFunction] = {}   # name -> the function whose module holds it
        self.bound: dict[str, object] = {}         # name used in the tree -> a registered function
        # module-level values written into the tree as constants (flags, a folded branch's test):
        # (id of the function whose module holds it, its dotted path) -> (that function, the value written in)
        self.baked: dict[tuple, tuple] = {}

    @property
    def globals_read(self) -> dict:
        """Every module-level value the function reads, as the module holds it *now*: a derivative
        made after the module rebinds or mutates a global sees the new value, as numba.njit does."""
        values = dict(self.bound)
        for name, path in self.global_paths.items():
            value = _current(self.global_owners.get(name, self.parsed), path)
            if not isinstance(value, (int, float, np.integer, np.floating, np.ndarray)) or isinstance(value, bool):
                raise UnsupportedSyntaxError(f"the global `{'.'.join(path)}`, now of type {type(value).__name__}",
                                             None, "Only numbers and numpy arrays can be read from module level.")
            values[name] = value.copy() if isinstance(value, np.ndarray) else value
        return values

    def bake(self, name: str) -> None:
        """Record that the tree now holds the global `name` (of global_paths) as its current value."""
        owner, path = self.global_owners.get(name, self.parsed), self.global_paths[name]
        self.bake_value(owner, path, _current(owner, path))

    def bake_value(self, owner: ParsedFunction, path, value) -> None:
        """Record that the tree holds `value`, read from `path` in the module of `owner`, as a constant."""
        self.baked[(id(owner), tuple(path))] = owner, value

    @property
    def baked_read(self) -> dict:
        """The module-level values written into the tree as constants, as the modules hold them now
        (a global since deleted reads as a sentinel no value equals)."""
        values = {}
        for key, (owner, _) in self.baked.items():
            try:
                values[key] = _current(owner, key[1])
            except (KeyError, AttributeError):
                values[key] = _GONE
        return values

    def baked_is_current(self) -> bool:
        """Whether every value written into the tree as a constant is still the one its module holds."""
        now = self.baked_read
        return all(_same_value(now[key], value) for key, (_, value) in self.baked.items())

    def adopt(self, callee: "Resolved", names) -> dict[str, str]:
        """Take in the functions and globals an inlined callee refers to; returns the renames its
        body needs where one of its names means something else here (`names`: the caller's)."""
        renames = {}
        self.baked.update(callee.baked)   # an inlined callee's constants are this function's too
        for mine, theirs in ((self.user_calls, callee.user_calls), (self.bound, callee.bound),
                             (self.global_paths, callee.global_paths)):
            for name, meaning in theirs.items():
                if name in mine and self._means(name) is callee._means(name):
                    continue
                here = names.fresh(name) if name in names.taken else name
                names.reserve([here])
                mine[here] = meaning
                if theirs is callee.global_paths:
                    self.global_owners[here] = callee.global_owners.get(name, callee.parsed)
                if here != name:
                    renames[name] = here
        return renames

    def _means(self, name: str):
        """The object `name` stands for in this function: a function, or a global's current value."""
        if name in self.user_calls:
            return self.user_calls[name]
        if name in self.bound:
            return self.bound[name]
        return _current(self.global_owners.get(name, self.parsed), self.global_paths[name])


_GONE = object()


def _current(owner: ParsedFunction, path) -> object:
    """The value the dotted `path` names, from the module of `owner`, now."""
    value = owner.lookup(path[0])
    for attr in path[1:]:
        value = getattr(value, attr)
    return value


def _same_value(now, then) -> bool:
    return type(now) is type(then) and (now is then or now == then)


def resolve(parsed: ParsedFunction) -> Resolved:
    """Rewrite `parsed.tree` in place; return the user functions and globals it refers to."""
    local = _local_names(parsed.tree)
    resolver = _Resolver(parsed, local)
    resolver.visit(parsed.tree)
    return resolver.found


def _local_names(fn: gast.FunctionDef) -> set[str]:
    return set(syntax.param_names(fn)) | syntax.stored_names(fn.body)


class _Resolver(gast.NodeTransformer):
    def __init__(self, parsed: ParsedFunction, local: set[str]):
        self.parsed, self.local, self.found = parsed, local, Resolved(parsed)

    def _error(self, node, construct, advice):
        raise UnsupportedSyntaxError(construct, self.parsed.location(node), advice)

    def _evaluate(self, node, path):
        try:
            return self._looked_up(path)
        except (KeyError, AttributeError):
            self._error(node, f"the name `{'.'.join(path)}`, which is not defined",
                        "Define it at module level or pass it as an argument.")

    def _looked_up(self, path):
        obj = self.parsed.lookup(path[0])
        for attr in path[1:]:
            obj = getattr(obj, attr)
        return obj

    def _copies_into(self, call) -> bool:
        """`copy_into(a[i], v)`: how generated code writes `a[i] = v` for numba (slice_updates)."""
        path = syntax.dotted_path(call.func)
        if not path or path[0] in self.local or len(call.args) != 2 or call.keywords:
            return False
        try:
            return self._looked_up(path) is srcgrad_runtime.copy_into
        except (KeyError, AttributeError):
            return False

    # ----- calls -----------------------------------------------------------------------------
    def visit_Expr(self, node):
        """A call statement is kept only when it calls user code, which may write into its arguments."""
        if not isinstance(node.value, gast.Call):
            return node   # a docstring
        if _is_print(node.value, self.local):
            return node   # dropped by desugar: derivative code does not print
        if self._copies_into(node.value):   # generated code read again (a second derivative)
            view, value = node.value.args
            return self.visit(gast.copy_location(gast.Assign(targets=[syntax.as_store(view)], value=value), node))
        try:
            node.value = self.visit(node.value)
        except NoRuleError:
            node.value.srcgrad_user = None
        appends = getattr(getattr(node.value, "srcgrad_rule", None), "name", "") == "srcgrad_runtime.appended"
        if appends and not isinstance(node.value.args[0], gast.Name):
            self._error(node, "`.append()` on something other than a list variable",
                        "Append to a list bound to a name (`items = []` ... `items.append(v)`).")
        func = node.value.func if isinstance(node.value, gast.Call) else None
        if isinstance(func, gast.Attribute) and func.attr == "at" and isinstance(func.value, gast.Attribute):
            ufunc = gast.unparse(func.value).strip()   # np.add.at(a, idx, v): numpy's scatter into a, in place
            self._error(node, f"`{ufunc}.at`, numpy's in-place scatter",
                        f"Write its loop, whose element updates srcgrad differentiates: `for k in range(len(idx)): "
                        f"a[idx[k]] += v[k]` (repeated indices add up, as with {ufunc}.at).")
        if func is not None and syntax.dotted_name(func) in ("np.fill_diagonal", "numpy.fill_diagonal"):
            self._error(node, "`np.fill_diagonal`, which writes into its array in place",
                        "Write the diagonal by its elements, which srcgrad differentiates: `for i in range(n): "
                        "K[i, i] = c` (or add to it: `K = K + c * np.eye(n)`).")
        if getattr(node.value, "srcgrad_user", None) is None and not appends:
            self._error(node, "an expression statement (a call whose result is discarded)",
                        "Assign the result, or remove the call (printing and other side effects are not "
                        "differentiable). A call to your own function that writes into its array arguments "
                        "is supported.")
        return node

    def visit_Raise(self, node):
        """The derivative raises what the function raises; generated code sees builtins only."""
        exc = node.exc.func if isinstance(node.exc, gast.Call) else node.exc
        obj = self._evaluate(exc, [exc.id]) if isinstance(exc, gast.Name) and exc.id not in self.local else None
        builtin = getattr(builtins, exc.id, None) is obj or obj is srcgrad_runtime.UnequalLengths
        if not (isinstance(obj, type) and issubclass(obj, BaseException) and builtin):
            self._error(node, "a raise of an exception that is not a built-in one",
                        "Raise a built-in exception (ValueError, RuntimeError...): the derivative code "
                        "cannot import your module's exception classes.")
        return node

    def visit_Assert(self, node):
        return None   # it checks values; the derivative computes without it

    def visit_For(self, node):
        iterator = node.iter
        marked = self._checkpoint_mark(iterator)
        if marked is not None:   # srcgrad.checkpoint(range(n), ...): reverse mode checkpoints the loop
            node.iter = iterator = iterator.args[0]
            node.srcgrad_checkpoint = marked
        if self._calls_builtin(iterator, "reversed") and len(iterator.args) == 1 and self._calls_builtin(iterator.args[0], "range") \
                and 1 <= len(iterator.args[0].args) <= 2 and not iterator.args[0].keywords:
            # reversed(range(n)), reversed(range(a, b)): range(b - 1, a - 1, -1)
            bounds = iterator.args[0].args
            start, stop = (bounds[0], bounds[1]) if len(bounds) == 2 else (syntax.const(0), bounds[0])
            node.iter = iterator = gast.copy_location(syntax.call(
                "range", syntax.binop(stop, "-", syntax.const(1)), syntax.binop(start, "-", syntax.const(1)),
                syntax.const(-1)), iterator)
        if self._is_prange(iterator):   # numba's parallel range: a range whose iterations are independent
            iterator.func = syntax.name("range")
            node.srcgrad_parallel = True
        if any(self._calls_builtin(iterator, name) for name in ("range", "enumerate", "zip")):
            # loop headers are lowered by desugar; only their arguments are expressions
            inner = iterator.args[0] if iterator.func.id == "enumerate" and len(iterator.args) == 1 else None
            if self._calls_builtin(inner, "zip"):   # enumerate(zip(a, b))
                inner.args = [self.visit(a) for a in inner.args]
            else:
                iterator.args = [self.visit(a) for a in iterator.args]
            node.target = self.visit(node.target)
            node.body = [self.visit(s) for s in node.body]
            node.orelse = [self.visit(s) for s in node.orelse]
            if iterator.func.id == "range":
                self._bind_call(iterator, range, "range")
            return node
        return self.generic_visit(node)

    def _calls_builtin(self, node, name: str) -> bool:
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == name \
            and name not in self.local

    def _checkpoint_mark(self, iterator):
        """(budget in bytes, snapshots, segment length), 0 for "choose", when `iterator` is
        `srcgrad.checkpoint(range(...), ...)`; None otherwise."""
        if self._global_callee(iterator) is not checkpoint:
            return None
        try:
            bound = inspect.signature(checkpoint).bind(None, *(self._constant(a) for a in iterator.args[1:]),
                                                      **{k.arg: self._constant(k.value) for k in iterator.keywords})
        except TypeError as exc:
            self._error(iterator, f"srcgrad.checkpoint called with these arguments ({exc})",
                        "Write srcgrad.checkpoint(range(n), snapshots=k, segment=m, memory='64MB').")
        first = iterator.args[0] if iterator.args else None
        if not (isinstance(first, gast.Call) and syntax.dotted_path(first.func) == ["range"]):
            self._error(iterator, "srcgrad.checkpoint around something other than range(...)",
                        "Checkpoint a loop over range: `for i in srcgrad.checkpoint(range(n)):`.")
        values = bound.arguments
        counts = [values.get(k) for k in ("snapshots", "segment")]
        if any(c is not None and (not isinstance(c, int) or isinstance(c, bool) or c < 1) for c in counts):
            self._error(iterator, "srcgrad.checkpoint with snapshots or segment that is not a positive int",
                        "Give whole numbers of at least 1.")
        try:
            budget = parse_memory(values.get("memory"))
        except SrcgradError as exc:
            self._error(iterator, f"srcgrad.checkpoint with {exc}", "Give memory as bytes or a size such as '64MB'.")
        return (budget, counts[0] or 0, counts[1] or 0)

    def _constant(self, node):
        """The value of a constant or of a module-level name, for a compile-time setting."""
        if isinstance(node, gast.Constant):
            return node.value
        path = syntax.dotted_path(node)
        if path is None or path[0] in self.local:
            self._error(node, "a srcgrad.checkpoint setting computed at run time",
                        "Give snapshots, segment and memory as constants or module-level names.")
        return self._evaluate(node, path)

    def _is_prange(self, iterator) -> bool:
        return self._global_callee(iterator) is numba.prange

    def _global_callee(self, node):
        """What a call of a module-level dotted name calls (`numba.prange`, `srcgrad.checkpoint`); None otherwise."""
        path = syntax.dotted_path(node.func) if isinstance(node, gast.Call) else None
        return self._evaluate(node.func, path) if path is not None and path[0] not in self.local else None

    def visit_Call(self, node):
        self._bind_function_arguments(node)
        node.args = [self.visit(a) for a in node.args]
        for keyword in node.keywords:
            keyword.value = self.visit(keyword.value)
        func = node.func
        if isinstance(func, gast.Attribute) and not self._names_global(func.value):
            return self._method_call(node, self.visit(func.value), func.attr)
        if getattr(node, "srcgrad_specialized", None) is not None:
            return self._bind_call(node, node.srcgrad_specialized, func.id)
        path = syntax.dotted_path(func)
        if path is None:
            self._error(node, "a call through a computed expression", "Call a named function.")
        if path[0] in self.local:
            self._error(node, f"a call through the variable `{path[0]}`",
                        "Call a function defined at module level by its name.")
        return self._bind_call(node, self._evaluate(func, path), ".".join(path))

    def _bind_function_arguments(self, node) -> None:
        """`apply(np.sin, x)`, a function of yours given a function as an argument: the call
        becomes `apply(x)` of a version of `apply` whose parameter is np.sin (frontend/methods.py)."""
        path = syntax.dotted_path(node.func)
        if path is None or path[0] in self.local:
            return
        callee = self._evaluate(node.func, path)
        pyfunc = python_function(callee)
        if not isinstance(pyfunc, types.FunctionType) or _installed_library(pyfunc) or node.keywords:
            return
        params = list(inspect.signature(pyfunc).parameters)
        bound = {}
        for k, arg in enumerate(node.args[:len(params)]):
            value = self._evaluate(arg, syntax.dotted_path(arg)) if self._names_global(arg) else None
            if is_function_value(value):
                bound[params[k]] = value
        if bound:
            node.func = syntax.name(f"{pyfunc.__name__}_with_{'_'.join(sorted(bound))}")
            node.srcgrad_specialized = with_constants(pyfunc, bound)
            node.args = [a for k, a in enumerate(node.args) if k >= len(params) or params[k] not in bound]

    def _names_global(self, node) -> bool:
        """Whether `node` is a dotted path (`np`, `np.linalg`) starting at a non-local name."""
        path = syntax.dotted_path(node)
        return path is not None and path[0] not in self.local

    def _method_call(self, node, receiver, method: str):
        """`receiver.method(args)`: the numpy function of the same meaning, receiver first."""
        rule = registry.method(method)
        if rule is None and method in ("append", "pop") and _generated_file(self.parsed.filename):
            raise NoRuleError(
                f"{self.parsed.location(node)}\nsrcgrad cannot differentiate this reverse-mode derivative again: its "
                "reverse sweep keeps a tape of what its loops computed (a list it appends to and pops), which has no "
                "derivative. For a Hessian or Hessian-vector product use srcgrad.hessian or srcgrad.hvp (reverse mode "
                "over forward mode), or jacfwd of a forward-mode derivative (jacfwd(jacfwd(f)), jacfwd(jvp(f))).")
        if rule is None:
            supported = sorted({m for _, r in registry.all_rules() for m in r.methods})
            self._error(node, f"the method call `.{method}()`",
                        f"Use the numpy function instead; supported methods: {', '.join(supported)}.")
        canonical = rule.name
        args = [receiver] + node.args
        if method in ("reshape", "transpose") and len(node.args) > 1:   # x.reshape(2, 3): np.reshape(x, (2, 3))
            args = [receiver, syntax.tuple_(node.args)]
        call = syntax.call(canonical, *args)
        call.keywords = node.keywords
        if method == "astype":   # to floats a derivative passes through; to ints or bools none does
            call.srcgrad_to_float = self._is_float_dtype(node.args[0] if node.args else None)
        _copy_position(call, node)
        return self._bind_call(call, registry.resolve_path(canonical), canonical)

    def _roll_along(self, node):
        """`np.roll(x, s, axis=k)` as rules/composite.py's roll_along, written from slices (numba's
        np.roll takes no axis)."""
        axis = results_keyword(node, "axis", 2)
        if not isinstance(axis, (gast.Constant, gast.UnaryOp)) or isinstance(axis, gast.Constant) and not isinstance(axis.value, int):
            self._error(node, "`np.roll` with axis= other than one written integer",
                        "Roll along one axis at a time, written as an integer.")
        call = syntax.call("roll_along", node.args[0], node.args[1], syntax.clone(axis))
        _copy_position(call, node)
        return self._bind_call(call, roll_along, "np.roll")

    def _one_axis_at_a_time(self, node, obj, spelled):
        """`np.sum(x, axis=(1, 2))` as `np.sum(np.sum(x, axis=2), axis=1)`: a reduction over several
        axes is the same reduction over one, then the next (a mean of equal-sized means too). The
        largest axis goes first so the others keep their numbers; negative axes, counted from the
        end, go from -1 on, each later one moved up by the axes gone; with keepdims=True none moves."""
        axes = results_keyword(node, "axis", 1).elts
        values = [_written_int(a) for a in axes]
        keep = next((k.value for k in node.keywords if k.arg == "keepdims"), syntax.const(False))
        if None in values or not isinstance(keep, gast.Constant) or len(set(values)) != len(values) \
                or (min(values) < 0 <= max(values)) or len(node.args) > 2:
            self._error(node, f"`{spelled}` called with a tuple of axes that are not distinct written integers "
                        f"of one sign", "Reduce one axis at a time, or the whole array.")
        order = sorted(values, reverse=True)
        shifted = order if keep.value or order[0] >= 0 else [axis + k for k, axis in enumerate(order)]
        others = [k for k in node.keywords if k.arg not in ("axis", "keepdims")]
        value = node.args[0]
        for axis in shifted:   # the arguments are resolved already: bind each call as it is made
            call = gast.Call(func=syntax.clone(node.func), args=[value],
                             keywords=syntax.clone(others) + [gast.keyword(arg="axis", value=syntax.const(axis)),
                                                              gast.keyword(arg="keepdims", value=syntax.const(bool(keep.value)))])
            _copy_position(call, node)
            value = self._bind_call(call, obj, spelled)
        return value

    def _kept_dimension(self, node, obj, spelled):
        """`np.max(z, axis=1, keepdims=True)` as `np.expand_dims(np.max(z, axis=1), 1)`: one
        reduction record serves both, and numba, whose reductions take no keepdims, compiles it."""
        keep = next(k for k in node.keywords if k.arg == "keepdims")
        axis = results_keyword(node, "axis", 1)
        if not isinstance(keep.value, gast.Constant) or (keep.value.value and axis is None):
            self._error(node, f"`{spelled}` with keepdims= other than a constant, or without axis=",
                        "Pass axis= and keepdims=True or False as written constants.")
        node.keywords = [k for k in node.keywords if k.arg != "keepdims"]
        reduced = self._bind_call(node, obj, spelled)
        if not keep.value.value:
            return reduced
        kept = syntax.call("np.expand_dims", reduced, syntax.clone(axis))
        _copy_position(kept, node)
        return self._bind_call(kept, np.expand_dims, "np.expand_dims")

    def _is_float_dtype(self, dtype) -> bool:
        if isinstance(dtype, gast.Name) and dtype.id in self.local:   # generated code names it once
            bound = [n.value for n in syntax.walk(self.parsed.tree) if isinstance(n, gast.Assign)
                     and any(isinstance(t, gast.Name) and t.id == dtype.id for t in n.targets)]
            dtype = bound[0] if len(bound) == 1 else dtype
        try:
            value = eval(compile(gast.gast_to_ast(gast.Expression(body=syntax.clone(dtype))), "<dtype>", "eval"),
                         dict(self.parsed.namespace))
            return np.dtype(value).kind == "f"
        except Exception:
            self._error(dtype if dtype is not None else self.parsed.tree, "`.astype` with this dtype",
                        "Pass a dtype srcgrad can read when it compiles: float, np.float64, int, ...")

    def _bind_user_call(self, node, callee, pyfunc):
        """A call to a function srcgrad generates code for: `callee` is the Python function, or
        the CustomDerivative whose rules its derivatives call."""
        local_name = pyfunc.__name__ if pyfunc.__name__ not in self.local else f"{pyfunc.__name__}_function"
        self.found.user_calls.setdefault(local_name, callee)
        if self.found.user_calls[local_name] is not callee:
            local_name = f"{local_name}_{len(self.found.user_calls)}"
            self.found.user_calls[local_name] = callee
        node.func = syntax.name(local_name)
        node.srcgrad_user = callee
        return node

    def _bind_call(self, node, obj, spelled):
        if obj is srcgrad_runtime.astype and len(node.args) == 2:   # x.astype(dtype) as generated code spells it
            node.srcgrad_to_float = self._is_float_dtype(node.args[1])
        if obj is np.matmul and len(node.args) == 2:  # numba compiles `@` but not np.matmul
            return gast.BinOp(left=node.args[0], op=gast.MatMult(), right=node.args[1])
        if obj is np.clip:
            bound = _one_sided_clip(node)
            if bound is not None:
                return self._bind_call(bound, np.minimum if bound.func.attr == "minimum" else np.maximum, bound.func.attr)
        if obj is np.roll and results_keyword(node, "axis", 2) is not None and len(node.args) >= 2:
            return self._roll_along(node)
        permutation = _written_permutation(results_keyword(node, "axes", 1)) if obj is np.transpose else None
        if permutation is not None:
            return self._as_swaps(node, permutation)
        rule = registry.lookup(obj) or registry.constant_only(obj)
        if obj in _NESTING_REDUCTIONS and isinstance(results_keyword(node, "axis", 1), (gast.Tuple, gast.List)):
            return self._one_axis_at_a_time(node, obj, spelled)
        if rule is not None and rule.repeated_by and results_keyword(node, rule.repeated_by, 1) is not None:
            return self._bind_call(self._applied_repeatedly(node, rule, obj, spelled), obj, spelled)
        if rule is not None and rule.along is not None and any(k.arg == "axis" for k in node.keywords) \
                and len(node.args) == 1:   # along one axis: written in Python (rules/composite.py)
            return self._composite_along(node, rule)
        if isinstance(rule, registry.CompositeRule):
            return self._bind_composite(node, rule)
        if rule is not None and "axis" in rule.options.keywords:
            axis = results_keyword(node, "axis", 1)
            if isinstance(axis, (gast.Tuple, gast.List)):
                self._error(node, f"`{spelled}` called with a tuple of axes", "Reduce one axis at a time, or the whole array.")
            if any(k.arg == "keepdims" for k in node.keywords):
                return self._kept_dimension(node, obj, spelled)
        if rule is not None:
            node.func = syntax.dotted(rule.emitted_for(node))
            node.srcgrad_rule = rule
            _served_ranks(node, rule.name, rule.ranks)
            if getattr(rule, "function", None) is not None:   # registered by the user: bound at load
                self.found.bound[rule.emitted] = rule.function
                if isinstance(rule.partials, CallTemplate):
                    self.found.bound[rule.partials.name] = rule.partials.fn
            return node
        obj = getattr(obj, "srcgrad_custom", obj)   # generated code's copy of a function with custom rules
        if is_bound_method(obj):   # `self.energy(x)`: that method of that instance
            obj = method_as_function(obj)
        if is_custom(obj):   # its rules stand in for its derivative: called, never inlined
            return self._bind_user_call(node, obj, obj.fn)
        if is_derivative(obj):   # a derivative srcgrad made: its code, per argument kinds
            return self._bind_user_call(node, obj, obj.py_func)
        pyfunc = python_function(obj)
        if (getattr(pyfunc, "__module__", None) or "").startswith("srcgrad_runtime") and obj not in READ_AS_PYTHON:
            raise NoRuleError(
                f"{self.parsed.location(node)}\nsrcgrad cannot differentiate its own helper `{spelled}` again: it has "
                "no rule for it. A derivative of a derivative covers the helpers forward mode calls (what "
                "srcgrad.hessian and srcgrad.hvp differentiate: reverse mode over forward mode) but not all that "
                "reverse mode's sweep calls, and no primitive beyond the order srcgrad has (np.prod along an axis, "
                "np.linalg.cholesky, scipy.special.gammaln beyond its second derivative). Use srcgrad.hessian or "
                "srcgrad.hvp rather than jacfwd(grad(f)), or take one derivative fewer of that step.")
        if isinstance(pyfunc, types.FunctionType) and not _installed_library(pyfunc):
            return self._bind_user_call(node, pyfunc, pyfunc)
        module = (getattr(obj, "__module__", None) or "").split(".")[0]
        if spelled.startswith(("np.random.", "numpy.random.", "random.")):
            raise NoRuleError(f"{self.parsed.location(node)}\n`{spelled}`: random numbers drawn inside the function. "
                              "Draw them outside and pass them in as an argument (they carry no derivative, and numba's "
                              "generator would draw other numbers than numpy's).")
        if module in _LIBRARIES:
            advice = ("srcgrad has no derivative rule for it and does not differentiate a library's internals. Write "
                      "this step in Python from supported operations (an ODE solve as an explicit integrator loop, say), "
                      "give the function around it your own rule (`srcgrad.custom_vjp`), or, if the function is "
                      "elementwise and numba compiles it, register its partial derivatives with "
                      "`srcgrad.rules.register_elementwise`.")
            rule = registry.opaque_numpy(obj, advice) if module == "numpy" else None
            if rule is not None:   # fine on values without a derivative; activity refuses the others
                node.func, node.srcgrad_rule = syntax.dotted(rule.emitted), rule
                return node
            raise NoRuleError(f"{self.parsed.location(node)}\n`{spelled}`, a function of {module}: {advice}")
        if obj is slice:
            raise NoRuleError(f"{self.parsed.location(node)}\nsrcgrad does not follow a slice object (`{spelled}(...)`) "
                              f"into the index that uses it. Write the slice in the index itself: `x[a:b]`.")
        if isinstance(obj, type) and obj.__module__ == "builtins":   # zip, reversed, map, filter: not a function of numbers
            raise NoRuleError(
                f"{self.parsed.location(node)}\nsrcgrad does not differentiate through `{spelled}` here. Loop over "
                f"indices instead (`for i in range(n - 1, -1, -1):` for reversed, `for i in range(len(a)):` reading "
                f"`a[i]` and `b[i]` for zip); `for x, y in zip(a, b):` and `enumerate(a)` directly in a for loop are "
                f"supported.")
        raise NoRuleError(
            f"{self.parsed.location(node)}\nsrcgrad has no derivative rule for `{spelled}` "
            f"({obj!r}) and it is not a Python function it could read. Write it in Python, or, if "
            f"numba can compile it, register its partial derivatives: "
            f"`srcgrad.rules.register_elementwise({spelled.split('.')[-1]}, partials)` where `partials` "
            "is a def with the same parameters returning one derivative per parameter.")

    def _as_swaps(self, node, permutation: list):
        """`np.transpose(x, (1, 2, 0))` as the np.swapaxes calls that put the axes in that order:
        each is linear with its own transpose, where a permutation's transpose in reverse mode
        would need the inverse permutation."""
        result, labels = node.args[0], list(range(len(permutation)))
        for i, axis in enumerate(permutation):
            j = labels.index(axis)
            if j != i:
                swap = syntax.call("np.swapaxes", result, syntax.const(i), syntax.const(j))
                _copy_position(swap, node)
                result = self._bind_call(swap, np.swapaxes, "np.swapaxes")
                labels[i], labels[j] = labels[j], labels[i]
        return result   # x itself for the identity: shares its memory, as numpy's view does

    def _applied_repeatedly(self, node, rule, obj, spelled):
        """`np.diff(x, 2)` (or `n=2`) as `np.diff(np.diff(x))`: one call per application, each
        differentiated by the primitive's own rule."""
        times = results_keyword(node, rule.repeated_by, 1)
        if not (isinstance(times, gast.Constant) and type(times.value) is int and times.value >= 1):
            self._error(node, f"`{rule.name}` with {rule.repeated_by}= other than a written positive integer",
                        f"Write {rule.repeated_by} as a number (`{rule.name}(x, 2)`), or call {rule.name} that many times.")
        node.args = node.args[:1]
        node.keywords = [k for k in node.keywords if k.arg != rule.repeated_by]
        for _ in range(times.value - 1):
            inner = gast.Call(func=syntax.clone(node.func), args=node.args, keywords=[])
            _copy_position(inner, node)
            node.args = [self._bind_call(inner, obj, spelled)]
        return node

    def _bind_composite(self, node, rule):
        """A NumPy function srcgrad implements in Python: a call to that implementation (to its
        version along one axis for `axis=`, `keepdims=True` as np.expand_dims around it)."""
        node.srcgrad_composite = rule.name   # a sequence it is passed becomes an array (sequence_args.py)
        if rule.specialize is not None:   # np.einsum: a loop nest per subscript string
            try:
                implementation, node.args = rule.specialize(node)
            except SrcgradError as exc:
                self._error(node, f"`{rule.name}` called this way", str(exc))
            _served_ranks(node, rule.name, getattr(implementation, "srcgrad_ranks", rule.ranks))
            return self._bind_call(node, implementation, rule.name)
        extra = rule.refused_options(node, "reverse")
        if extra:
            self._error(node, f"`{rule.name}` called with {extra}",
                        f"srcgrad implements {rule.name} for its basic arguments only; write the computation out.")
        _served_ranks(node, rule.name, rule.ranks)
        return self._bind_call(node, rule.implementation, rule.name)

    def _composite_along(self, node, rule):
        axis = results_keyword(node, "axis")
        keep = next((k.value for k in node.keywords if k.arg == "keepdims"), syntax.const(False))
        if (not isinstance(axis, gast.Constant) and not isinstance(axis, gast.UnaryOp)) or not isinstance(keep, gast.Constant) \
                or {k.arg for k in node.keywords} - {"axis", "keepdims"}:
            self._error(node, f"`{rule.name}` with axis= other than one written integer, or options besides keepdims=",
                        "Pass one axis as a written integer (a tuple of axes: reduce one axis at a time) and no other "
                        "option (for ddof=, scale the result by n / (n - ddof) yourself).")
        call = syntax.call("along", node.args[0], syntax.clone(axis))
        _copy_position(call, node)
        _served_ranks(call, rule.name, getattr(rule.along, "srcgrad_ranks", ()))
        reduced = self._bind_call(call, rule.along, rule.name)
        if not keep.value or rule.kind is same_as_first:   # softmax keeps every dimension anyway
            return reduced
        kept = syntax.call("np.expand_dims", reduced, syntax.clone(axis))
        _copy_position(kept, node)
        return self._bind_call(kept, np.expand_dims, "np.expand_dims")

    # ----- attributes and free names ---------------------------------------------------------
    def visit_Attribute(self, node):
        if not self._names_global(node.value) or isinstance(
                self._evaluate(node.value, syntax.dotted_path(node.value)), np.ndarray):
            return self._array_attribute(node, self.visit(node.value))
        path = syntax.dotted_path(node)
        value = self._evaluate(node, path)
        if len(path) == 2 and self.parsed.lookup(path[0]) in (math, np) and isinstance(value, float):
            node.srcgrad_constant = True   # math.pi, np.e: generated code imports math and np too
            node.value = syntax.name("math" if self.parsed.lookup(path[0]) is math else "np")
            return node
        return self._constant_or_global(node, path, value)

    def _array_attribute(self, node, receiver):
        """`x.T`, `(A @ B).T`, `x.shape`: attributes of array values."""
        if node.attr == "T":
            call = syntax.call("np.transpose", receiver)
            _copy_position(call, node)
            return self._bind_call(call, np.transpose, "np.transpose")
        if node.attr in ARRAY_PROPERTIES:
            node.value = receiver
            return node
        self._error(node, f"the attribute `.{node.attr}`",
                    f"Only {', '.join(sorted(ARRAY_PROPERTIES | {'T'}))} are supported on arrays.")

    def visit_Name(self, node):
        if not isinstance(node.ctx, gast.Load) or node.id in self.local:
            return node
        value = self._evaluate(node, [node.id])
        return self._constant_or_global(node, [node.id], value)

    def _constant_or_global(self, node, path, value):
        as_name = "_".join(path)
        if isinstance(value, (bool, np.bool_)) or value is None:
            self.found.bake_value(self.parsed, path, value)   # a flag: numba takes it as a constant too
            return syntax.const(value if value is None else bool(value))
        if isinstance(value, (int, float, np.integer, np.floating, np.ndarray)):
            self.found.global_paths[as_name] = path
            return syntax.name(as_name)
        if callable(value) or isinstance(value, types.ModuleType):
            return node  # a function or module name, used by an enclosing call
        self._error(node, f"the global `{as_name}` of type {type(value).__name__}",
                    "Only numbers and numpy arrays can be read from module level.")


# reductions over several axes that are the reduction over one axis after another
_NESTING_REDUCTIONS = (np.sum, np.mean, np.max, np.min, np.prod, np.amax, np.amin, np.nansum, np.any, np.all)


def _written_int(node):
    """The integer `node` writes (`2`, `-1`), or None."""
    if isinstance(node, gast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and isinstance(node.operand, gast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _one_sided_clip(call):
    """`np.clip(x, None, hi)` (or `max=hi` alone) as `np.minimum(x, hi)`, the lower bound alone as
    `np.maximum(x, lo)`: numba's clip and its partials compare with numbers, not None."""
    names = ("x", "min", "max")
    bounds = dict(zip(names, call.args))
    bounds.update({("min" if k.arg == "a_min" else "max" if k.arg == "a_max" else k.arg): k.value for k in call.keywords})
    if set(bounds) - set(names) or "x" not in bounds:
        return None
    given = {k: v for k, v in bounds.items() if k != "x" and not (isinstance(v, gast.Constant) and v.value is None)}
    if len(given) != 1:
        return None
    side, bound = next(iter(given.items()))
    return gast.copy_location(syntax.call("np.minimum" if side == "max" else "np.maximum", bounds["x"], bound), call)


def _is_print(call, local: set) -> bool:
    return isinstance(call.func, gast.Name) and call.func.id == "print" and "print" not in local


def _written_permutation(axes) -> list | None:
    """The axes of np.transpose written as a tuple of non-negative integers, or None."""
    if not isinstance(axes, (gast.Tuple, gast.List)):
        return None
    numbers = [syntax.number(a) for a in axes.elts]
    if any(type(n) is not int for n in numbers) or sorted(numbers) != list(range(len(numbers))):
        return None
    return numbers


def _copy_position(new, old):
    for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        if hasattr(old, attr):
            setattr(new, attr, getattr(old, attr))


def _served_ranks(call, name: str, ranks: tuple) -> None:
    """Mark a call of a primitive that serves some argument ranks only (the record's `ranks`, or
    its generated implementation's): normalize/ranks.py refuses others once kinds are known."""
    if ranks:
        call.srcgrad_ranked = (name, ranks)


# libraries whose Python-level functions srcgrad does not read: their internals use what the
# supported subset does not (dtype dispatch, *args, try/except), and an error would point into them
_LIBRARIES = {"numpy", "scipy", "numba", "pandas", "sklearn", "jax", "torch"}
_STDLIB = os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep


def _generated_file(filename: str) -> bool:
    """Whether a function's file is a module srcgrad generated (a derivative's code)."""
    return os.path.basename(filename or "").startswith("srcgrad_gen_")


def _installed_library(pyfunc) -> bool:
    """A function of NumPy, SciPy or the standard library (np.identity, scipy.integrate.odeint):
    refused at the user's call, not differentiated from its source."""
    module = (getattr(pyfunc, "__module__", None) or "").split(".")[0]
    filename = os.path.realpath(pyfunc.__code__.co_filename)
    return module in _LIBRARIES or (filename.startswith(_STDLIB) and "site-packages" not in filename)
