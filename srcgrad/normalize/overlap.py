"""Overlapping writes: `a[:, j] = r` where `r` is a view of `a` itself writes a copy of `r`.

NumPy copies the right-hand side of an assignment when it overlaps the slots written; numba and
the element loops generated code runs do not, so a later slot would see an earlier one's new
value. Runs per signature, after kinds (only arrays are views). After it, no element or slice
write takes its value from a name that may share memory with the array written.
"""
from __future__ import annotations

import gast
import numpy as np

from .. import syntax
from ..analyze import kinds as K
from ..analyze.aliasing import sharing
from ..rules import registry


def copy_overlapping_values(tree: gast.FunctionDef, kinds: dict, names) -> bool:
    """Insert `r_copy = np.copy(r)` before each such write and write `r_copy`; True if any."""
    shared = sharing(tree.body, kinds)
    changed = False

    def block(stmts: list) -> list:
        nonlocal changed
        out = []
        for stmt in stmts:
            for child in syntax.child_blocks(stmt):
                child[:] = block(child)
            if _writes_a_view_of_itself(stmt, shared, kinds):
                value = stmt.value.id
                copy = names.fresh(f"{value}_copy")
                copied = syntax.call("np.copy", syntax.name(value))
                copied.srcgrad_rule = registry.lookup(np.copy)
                taken = syntax.assign(copy, copied)
                taken.srcgrad_origin = getattr(stmt, "srcgrad_origin", None)
                out.append(taken)
                stmt.value = syntax.name(copy)
                changed = True
            out.append(stmt)
        return out

    tree.body[:] = block(tree.body)
    return changed


def _writes_a_view_of_itself(stmt, shared: dict, kinds: dict) -> bool:
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)
            and isinstance(stmt.value, gast.Name)):
        return False
    array = syntax.base_name(stmt.targets[0])
    return stmt.value.id in shared.get(array, ()) and K.is_array(kinds.get(stmt.value.id))
