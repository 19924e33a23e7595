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
EMPTY = "[]"   # an empty list: the kind of what is appended to it (join's identity)
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


class Keyed(tuple):
    """A dict argument as the tuple of its values in its key order (`keys`): what generated code
    takes in its place, `params["W1"]` having become `params[0]`."""

    def __new__(cls, mapping: dict):
        keyed = super().__new__(cls, (as_keyed(v) for v in mapping.values()))
        keyed.keys = tuple(mapping)
        return keyed


def as_keyed(value):
    """`value` with every dict in it (nested in tuples, lists and dicts too) a Keyed tuple, and
    every list a tuple: a function reads an argument list as the sequence of its items (a
    derivative changes no argument, so a tuple holds what it reads)."""
    if isinstance(value, dict):
        return Keyed(value)
    if type(value) in (tuple, list):
        return tuple(as_keyed(v) for v in value)
    return value


class DictKind(tuple):
    """The kind of a Keyed argument: its values' kinds, and its keys (part of its identity)."""

    def __new__(cls, kinds, keys):
        kind = super().__new__(cls, kinds)
        kind.keys = tuple(keys)
        return kind

    def __eq__(self, other):
        return isinstance(other, DictKind) and self.keys == other.keys and tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((tuple(self), self.keys))

    def __repr__(self):
        return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in zip(self.keys, self)) + "}"


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
    if is_device_array(value):
        return of_value(np.empty((0,) * len(value.shape), np.dtype(value.dtype)))
    if isinstance(value, Keyed):
        return DictKind(tuple(of_value(v) for v in value), value.keys)
    if isinstance(value, dict):
        return of_value(Keyed(value))
    if isinstance(value, tuple):
        return tuple(of_value(v) for v in value)
    return UNKNOWN


def is_device_array(value) -> bool:
    """A GPU array (numba's device arrays, CuPy's, anything with the CUDA array interface): target="cuda" takes
    it as an array whose elements stay on the device."""
    return not isinstance(value, np.ndarray) and (hasattr(value, "__cuda_array_interface__") or hasattr(value, "copy_to_host"))


def join(a, b):
    if a is None or a == EMPTY:
        return b
    if b == EMPTY:
        return a
    if b is None or a == b:
        return a
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(join(x, y) for x, y in zip(a, b))
    if {a, b} <= {FLOAT, INT, BOOL}:
        return FLOAT if FLOAT in (a, b) else INT
    if is_array(a) and is_array(b):   # an int array and a float one of one rank: the rank is still known
        return array(ndim(a)) if ndim(a) is not None and ndim(a) == ndim(b) else "a?"
    return UNKNOWN


def broadcast(*kinds):
    if any(k == UNKNOWN or isinstance(k, tuple) for k in kinds):
        return UNKNOWN
    arrays = [k for k in kinds if is_array(k)]
    if arrays:
        dims = [ndim(k) for k in arrays]
        if None in dims:
            return "a?"
        integer = all(k in (INT, BOOL) or k.startswith("ia") for k in kinds)
        if max(dims) == 0:   # arithmetic on 0-d arrays gives numbers, in numpy and numba alike
            return INT if integer else FLOAT
        return ("i" if integer else "") + array(max(dims))   # int arrays stay int (`idx + 1` indexes)
    return FLOAT if FLOAT in kinds else INT


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
        # name -> the rank of the comparison bound to it (None: unknown). A comparison's kind says
        # a bool, but a call given a comparison of arrays is given an array of bools (np.where's
        # condition, broadcast with its branches)
        self.compared: dict = {}

    def run(self) -> dict:
        for _ in range(6):
            before = dict(self.kinds)
            self._block(self.fn.body)
            if before == self.kinds:
                break
        return {name: UNKNOWN if kind is None else kind for name, kind in self.kinds.items()}

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
        if isinstance(node, (gast.BinOp, gast.Subscript, gast.Call)):
            return self.expr(node)   # an operand ANF left whole: a comparison's, as `w[:, 1] > 2.0 * w[0]`
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
            if isinstance(value, gast.Compare):
                ranks = [ndim(self.of(op)) for op in [value.left] + value.comparators]
                rank = None if None in ranks else max(ranks)
                known = self.compared.get(target.id, rank)
                self.compared[target.id] = rank if known == rank else None
        elif isinstance(target, gast.Tuple):
            kind = self.expr(value)
            if kind is None:
                return
            if is_array(kind):   # unpacking an array gives its rows
                rank = ndim(kind)
                integer = kind.startswith("ia")
                row = UNKNOWN if rank is None else (INT if integer else FLOAT) if rank == 1 else \
                    ("i" if integer else "") + array(rank - 1)
                kind = tuple([row] * len(target.elts))
            for k, elt in enumerate(target.elts):
                self._set(elt.id, kind[k] if isinstance(kind, tuple) and k < len(kind) else UNKNOWN)

    def expr(self, node):
        """The kind of an ANF operation's value; None while an operand is not inferred yet."""
        if isinstance(node, (gast.Compare, gast.BoolOp)):
            return BOOL
        if isinstance(node, gast.BinOp):
            return self._binop(node)
        if isinstance(node, gast.Subscript):
            return self._subscript(node)
        if isinstance(node, gast.Attribute):
            base = self.of(node.value)
            if base is None and not syntax.is_module_path(node):
                return None
            if node.attr == "shape":
                n = ndim(base)
                return (INT,) * n if n is not None else UNKNOWN
            return INT if node.attr in ("size", "ndim") else self.of(node)
        if isinstance(node, gast.Tuple):
            elements = tuple(self.of(e) for e in node.elts)
            if None in elements:
                return None
            keys = getattr(node, "srcgrad_keys", None)   # a dict literal (normalize/desugar.py)
            return DictKind(elements, keys) if keys is not None else elements
        if isinstance(node, gast.Call):
            return self._call(node)
        return self.of(node)

    def _binop(self, node):
        # a comparison of arrays is an array of bools here too: `(x > 0) * 1.0`, `(x > a) & (x < b)`
        left, right = self._argument(node.left), self._argument(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, gast.MatMult):
            return matmul_kind(left, right)
        kind = broadcast(left, right)
        if isinstance(node.op, gast.Div) and (kind == INT or kind.startswith("ia")):
            return FLOAT if kind == INT else kind[1:]   # true division of integers gives floats
        if kind == INT and isinstance(node.op, gast.Pow):
            return UNKNOWN if not isinstance(node.right, gast.Constant) else INT
        return kind

    def _subscript(self, node):
        if isinstance(node.value, gast.Attribute) and node.value.attr == "shape":
            return INT
        base = self.of(node.value)
        if base is None:
            return None
        if isinstance(base, tuple):
            index = node.slice
            if isinstance(index, gast.Constant) and isinstance(index.value, int) and index.value < len(base):
                return base[index.value]
            return INT if base and all(k == INT for k in base) else UNKNOWN
        if not is_array(base):
            return UNKNOWN
        n = ndim(base)
        parts = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        indices = [self._argument(p) for p in parts if not isinstance(p, gast.Slice)]   # a mask: its rank
        dropped = sum(1 for k in indices if k in (INT, BOOL))
        # one vector of indices (or a 1-D mask) replaces its axis by one of its own length
        vectors = sum(1 for k in indices if is_array(k) and ndim(k) == 1)
        if any(k not in (INT, BOOL) for k in indices) and not (vectors == 1 and dropped + vectors == len(indices)):
            return "a?" if n is None or vectors else UNKNOWN
        if n is None:
            return "a?"
        rest = n - dropped
        element = INT if base.startswith("ia") else FLOAT
        return element if rest == 0 else (("ia" if element == INT else "a") + str(rest))

    def _call(self, node):
        rule = getattr(node, "srcgrad_rule", None)
        args = [self._argument(a) if not isinstance(a, (gast.Tuple, gast.List)) else tuple(self._argument(e) for e in a.elts)
                for a in node.args]
        if any(a is None or (isinstance(a, tuple) and None in a) for a in args):
            return None   # an argument not inferred yet: a later round of the fixpoint decides
        if getattr(node, "srcgrad_user", None) is not None:
            return self.call_kinds(node, args)
        if rule is None:
            return UNKNOWN
        return rule.result_kind(args, node)

    def _argument(self, node):
        """The kind of a call's argument: a comparison of arrays is an array of bools ("ia2")."""
        kind = self.of(node)
        if kind != BOOL or not isinstance(node, gast.Name) or node.id not in self.compared:
            return kind
        rank = self.compared[node.id]
        return BOOL if rank == 0 else "ia?" if rank is None else f"ia{rank}"


def matmul_kind(a, b):
    da, db = ndim(a), ndim(b)
    if da is None or db is None:
        return UNKNOWN
    if da == 1 and db == 1:
        return FLOAT
    if da == 0 or db == 0:
        return UNKNOWN
    return array(da + db - 2)


def selects_element(subscript, kinds: dict) -> bool:
    """Whether `x[...]` is one element of the array x: an integer for every axis (no slice, no
    index array)."""
    parts = syntax.index_parts(subscript)
    return ndim(kinds.get(syntax.base_name(subscript))) == len(parts) and all(
        not isinstance(p, gast.Slice) and is_scalar(of_atom(p, kinds)) for p in parts)


def selects_by_array(index, kinds: dict, if_unknown: bool) -> bool:
    """Whether an index (`x[index]`) holds an integer array or a mask (numpy copies what they
    select, and may select one element twice); `if_unknown` answers for parts of unknown kind."""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    found = [of_atom(part, kinds) for part in parts if not isinstance(part, gast.Slice)]
    return any(is_array(kind) or (kind == UNKNOWN and if_unknown) for kind in found)
