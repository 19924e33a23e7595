"""Kinds: what sort of value each variable holds (float, int, bool, float array of rank n, tuple).

Kinds are inferred flow-insensitively from the argument kinds of one call signature. They decide
how generated code spells zeros (`0.0` or `np.zeros_like(x)`) and where a broadcast operand's
adjoint must be summed back to its shape. '?' means unknown; code for it uses runtime helpers
that work for every kind.
"""
from __future__ import annotations

import gast
import numpy as np

from .. import syntax

UNKNOWN = "?"
FLOAT, INT, BOOL = "f", "i", "b"


def array(ndim) -> str:
    return f"a{ndim}" if ndim is not None else "a?"


def is_array(kind) -> bool:
    return isinstance(kind, str) and (kind.startswith("a") or kind.startswith("ia"))


def is_scalar(kind) -> bool:
    return kind in (FLOAT, INT, BOOL)


def ndim(kind):
    if not is_array(kind):
        return 0 if is_scalar(kind) else None
    digits = kind.lstrip("ia")
    return int(digits) if digits.isdigit() else None


def of_value(value):
    """The kind of a runtime argument."""
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (int, np.integer)):
        return INT
    if isinstance(value, (float, np.floating)):
        return FLOAT
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiub":
            return UNKNOWN   # complex, object, ...: nothing srcgrad can differentiate or spell
        prefix = "a" if value.dtype.kind == "f" else "ia"
        return f"{prefix}{value.ndim}"
    if isinstance(value, tuple):
        return tuple(of_value(v) for v in value)
    return UNKNOWN


def join(a, b):
    if a is None:
        return b
    if b is None or a == b:
        return a
    if {a, b} <= {FLOAT, INT, BOOL}:
        return FLOAT if FLOAT in (a, b) else INT
    if is_array(a) and is_array(b):
        return "a?"
    return UNKNOWN


def broadcast(*kinds):
    if any(k == UNKNOWN or isinstance(k, tuple) for k in kinds):
        return UNKNOWN
    arrays = [k for k in kinds if is_array(k)]
    if arrays:
        dims = [ndim(k) for k in arrays]
        return "a?" if None in dims else array(max(dims))
    return FLOAT if FLOAT in kinds else INT


_SAME_AS_FIRST = {"np.copy", "np.zeros_like", "np.empty_like", "np.ones_like", "np.transpose", "np.clip",
                  "np.negative", "np.abs", "np.fabs"}
_TO_FLOAT = {"np.sum", "np.mean", "np.prod", "np.max", "np.min", "float", "np.linalg.norm"}
_TO_INT = {"len", "int", "round", "math.floor", "math.ceil", "math.trunc", "np.argmax", "np.argmin"}


def of_atom(atom, kinds: dict):
    """The kind of an ANF operand: a variable's inferred kind, or a constant's."""
    if isinstance(atom, gast.Name):
        return kinds.get(atom.id, UNKNOWN)
    return KindInference(None, {}).of(atom) or UNKNOWN


class KindInference:
    """Flow-insensitive kinds of every variable of one ANF function."""

    def __init__(self, fn: gast.FunctionDef, arg_kinds: dict, call_kinds=None, global_kinds=None):
        self.kinds: dict = dict(arg_kinds)
        self.kinds.update(global_kinds or {})
        self.call_kinds = call_kinds or (lambda call, arg_kinds: UNKNOWN)
        self.fn = fn

    def run(self) -> dict:
        for _ in range(6):
            before = dict(self.kinds)
            self._block(self.fn.body)
            if before == self.kinds:
                break
        return self.kinds

    def of(self, node):
        if isinstance(node, gast.Name):
            return self.kinds.get(node.id)
        if isinstance(node, gast.Constant):
            v = node.value
            return BOOL if isinstance(v, bool) else INT if isinstance(v, int) else FLOAT if isinstance(v, float) else UNKNOWN
        if isinstance(node, gast.UnaryOp):
            return BOOL if isinstance(node.op, gast.Not) else self.of(node.operand)
        if isinstance(node, gast.Attribute) and node.attr in ("math", "pi", "e", "inf", "nan"):
            return FLOAT
        return UNKNOWN

    def _set(self, name, kind):
        self.kinds[name] = join(self.kinds.get(name), kind)

    def _block(self, stmts):
        for stmt in stmts:
            if isinstance(stmt, gast.Assign):
                self._assign(stmt.targets[0], stmt.value)
            elif isinstance(stmt, gast.For):
                self._set(stmt.target.id, INT)
            for block in syntax.child_blocks(stmt):
                self._block(block)

    def _assign(self, target, value):
        if isinstance(target, gast.Name):
            self._set(target.id, self.expr(value))
        elif isinstance(target, gast.Tuple):
            kind = self.expr(value)
            for k, elt in enumerate(target.elts):
                self._set(elt.id, kind[k] if isinstance(kind, tuple) and k < len(kind) else UNKNOWN)

    def expr(self, node):
        if isinstance(node, (gast.Compare, gast.BoolOp)):
            return BOOL
        if isinstance(node, gast.BinOp):
            return self._binop(node)
        if isinstance(node, gast.Subscript):
            return self._subscript(node)
        if isinstance(node, gast.Attribute):
            base = self.of(node.value)
            if node.attr == "shape":
                n = ndim(base)
                return (INT,) * n if n is not None else UNKNOWN
            return INT if node.attr in ("size", "ndim") else self.of(node)
        if isinstance(node, gast.Tuple):
            return tuple(self.of(e) for e in node.elts)
        if isinstance(node, gast.Call):
            return self._call(node)
        kind = self.of(node)
        return UNKNOWN if kind is None else kind

    def _binop(self, node):
        left, right = self.of(node.left), self.of(node.right)
        if isinstance(node.op, gast.MatMult):
            return _matmul_kind(left, right)
        kind = broadcast(left, right)
        if kind == INT and isinstance(node.op, gast.Div):
            return FLOAT
        if kind == INT and isinstance(node.op, gast.Pow):
            return UNKNOWN if not isinstance(node.right, gast.Constant) else INT
        return kind

    def _subscript(self, node):
        if isinstance(node.value, gast.Attribute) and node.value.attr == "shape":
            return INT
        base = self.of(node.value)
        if isinstance(base, tuple):
            index = node.slice
            if isinstance(index, gast.Constant) and isinstance(index.value, int) and index.value < len(base):
                return base[index.value]
            return INT if base and all(k == INT for k in base) else UNKNOWN
        if not is_array(base):
            return UNKNOWN
        n = ndim(base)
        parts = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        dropped = sum(1 for p in parts if not isinstance(p, gast.Slice) and self.of(p) in (INT, BOOL))
        if any(not isinstance(p, gast.Slice) and self.of(p) not in (INT, BOOL) for p in parts) or n is None:
            return "a?" if n is None else UNKNOWN
        rest = n - dropped
        element = INT if base.startswith("ia") else FLOAT
        return element if rest == 0 else (("ia" if element == INT else "a") + str(rest))

    def _call(self, node):
        rule = getattr(node, "srcgrad_rule", None)
        args = [self.of(a) if not isinstance(a, (gast.Tuple, gast.List)) else tuple(self.of(e) for e in a.elts)
                for a in node.args]
        if getattr(node, "srcgrad_user", None) is not None:
            return self.call_kinds(node, args)
        if rule is None:
            return UNKNOWN
        return _rule_kind(rule.name, args, node)


def _matmul_kind(a, b):
    da, db = ndim(a), ndim(b)
    if da is None or db is None:
        return UNKNOWN
    if da == 1 and db == 1:
        return FLOAT
    if da == 0 or db == 0:
        return UNKNOWN
    return array(da + db - 2)


def _rule_kind(name, args, node):
    has_axis = len(args) > 1 or any(k.arg == "axis" for k in node.keywords)
    if name in _TO_INT:
        return INT if not (args and is_array(args[0]) and name.startswith("np.") and name not in ("np.argmax", "np.argmin")) else args[0]
    if name in _TO_FLOAT and not has_axis:
        return FLOAT
    if name in _TO_FLOAT and args and ndim(args[0]):
        return FLOAT if ndim(args[0]) == 1 else array(ndim(args[0]) - 1)
    if name == "np.cumsum":
        return (args[0] if ndim(args[0]) in (0, 1) else "a1") if not has_axis else args[0]
    if name in ("np.eye", "np.identity"):
        return "a2"
    if name in _SAME_AS_FIRST:
        return args[0] if args else UNKNOWN
    if name.startswith("math."):
        return INT if name in _TO_INT else FLOAT
    if name in ("np.dot", "np.matmul", "op:@"):
        return _matmul_kind(*args[:2])
    if name == "np.outer":
        return "a2"
    if name in ("np.zeros", "np.ones", "np.empty", "np.full"):
        shape = args[0] if args else UNKNOWN
        return array(len(shape)) if isinstance(shape, tuple) else "a1" if shape == INT else "a?"
    if name in ("np.ravel", "np.arange", "np.linspace"):
        return "a1"
    if name == "np.reshape":
        shape = args[1] if len(args) > 1 else UNKNOWN
        return array(len(shape)) if isinstance(shape, tuple) else "a1" if shape == INT else "a?"
    if name == "np.where":
        return broadcast(*args[1:3])
    if name in ("np.concatenate",):
        parts = args[0] if args and isinstance(args[0], tuple) else ()
        return parts[0] if parts else UNKNOWN
    if name in ("np.stack", "np.array"):
        parts = args[0] if args and isinstance(args[0], tuple) else ()
        inner = parts[0] if parts else UNKNOWN
        return "a1" if is_scalar(inner) else array(ndim(inner) + 1) if ndim(inner) else "a?"
    if name in ("range", "np.shape"):
        return UNKNOWN
    return broadcast(*args) if args else UNKNOWN
