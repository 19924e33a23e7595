"""Overlapping writes: `a[1:] = r` where `r` is a view of `a` itself writes a copy of `r`.

NumPy copies the right-hand side of an assignment when it overlaps the slots written along the
same axes (`w[1:] = w[:-1]`, `w[i, 1:] = w[i, :-1]`); numba and the element loops generated code
runs do not, so a later slot would see an earlier one's new value. Across axes (a row written
into a column, `w[:, -1] = w[1]`) NumPy writes element by element without a copy, so its result
depends on the order it visits the slots: such a write is refused (fuzz 28:469:0). Runs per
signature, after kinds (only arrays are views). After it, no element or slice write takes its
value from a name that may share memory with the array written.
"""
from __future__ import annotations

import gast
import numpy as np

from .. import syntax
from ..analyze import kinds as K
from ..analyze.aliasing import sharing
from ..analyze.dataflow import writes_into_new_arrays
from ..errors import UnsupportedSyntaxError
from ..rules import registry


def copy_overlapping_values(tree: gast.FunctionDef, kinds: dict, names, location=lambda node: None) -> bool:
    """Insert `r_copy = np.copy(r)` before each such write and write `r_copy`; True if any."""
    shared = sharing(tree.body, kinds)
    scalars = frozenset(name for name, kind in kinds.items() if K.is_scalar(kind))
    made_here = writes_into_new_arrays(tree.body, scalars)
    copied_into = []

    def expand(stmt) -> list:
        if not _writes_a_view_of_itself(stmt, made_here.get(id(stmt)), shared, kinds):
            return [stmt]
        value = stmt.value.id
        if not _along_the_same_axes(stmt, tree, kinds):
            array = syntax.base_name(stmt.targets[0])
            raise UnsupportedSyntaxError(
                f"a write into `{array}` of a view of `{array}` taken along other axes", location(stmt),
                f"NumPy copies such a value or not depending on how the two overlap; copy it first "
                f"(`... = {array}[...].copy()`).")
        copy = names.fresh(f"{value}_copy")
        copied = syntax.call("np.copy", syntax.name(value))
        copied.srcgrad_rule = registry.lookup(np.copy)
        taken = syntax.assign(copy, copied)
        taken.srcgrad_origin = getattr(stmt, "srcgrad_origin", None)
        stmt.value = syntax.name(copy)
        copied_into.append(stmt)
        return [taken, stmt]

    syntax.expand_statements(tree.body, expand)
    return bool(copied_into)


def _writes_a_view_of_itself(stmt, sharers_here, shared: dict, kinds: dict) -> bool:
    """Whether the value written may share memory with the array written into. `sharers_here`:
    where that array is one the code made itself on every path, the names that may share its
    memory at this write (flow-sensitive: a new state grid each step, `V = np.zeros_like(U)` ...
    `V[0] = U[1]` ... `U = V`, keeps the old grid apart from the new); else `shared` says it."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)
            and isinstance(stmt.value, gast.Name)):
        return False
    array = syntax.base_name(stmt.targets[0])
    sharers = sharers_here if sharers_here is not None else shared.get(array, ())
    return stmt.value.id in sharers and K.is_array(kinds.get(stmt.value.id))


def _along_the_same_axes(stmt, tree, kinds) -> bool:
    """Whether the written value is `a[index]` for the array `a` written, with an index that picks
    whole numbers and ranges in the same positions as the write's: NumPy copies such a value."""
    value, target = stmt.value.id, stmt.targets[0]
    definitions = [n for n in syntax.walk(tree) if isinstance(n, gast.Assign)
                   and isinstance(n.targets[0], gast.Name) and n.targets[0].id == value]
    if len(definitions) != 1 or not isinstance(definitions[0].value, gast.Subscript):
        return False
    view = definitions[0].value
    array = syntax.base_name(target)
    if not (isinstance(view.value, gast.Name) and view.value.id == array and isinstance(target.value, gast.Name)):
        return False
    rank = K.ndim(kinds.get(array))
    return rank is not None and _pattern(view, rank) == _pattern(target, rank)


def _pattern(subscript, rank: int) -> tuple:
    parts = ["range" if isinstance(p, gast.Slice) else "number" for p in syntax.index_parts(subscript)]
    return tuple(parts + ["range"] * (rank - len(parts)))
