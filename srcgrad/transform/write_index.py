"""Where an array write lands: its index as values to log (scalars, slice bounds) and as a pattern.

Reverse mode logs, for each write into an array inside a loop, the old values and these index
values; undoing the write rebuilds the same index from the logged values.
"""
from __future__ import annotations

import gast

from .. import syntax


def index_atoms(target) -> list:
    """The values that locate a write `x[i, a:b] = v`: its scalar indices and slice bounds, in order."""
    atoms = []
    for part in syntax.index_parts(target):
        if isinstance(part, gast.Slice):
            atoms += [b for b in (part.lower, part.upper, part.step) if b is not None]
        else:
            atoms.append(part)
    return atoms


def index_pattern(target) -> tuple:
    """The shape of a write's index without its values: which parts are slices, which bounds given."""
    return tuple(("slice", part.lower is not None, part.upper is not None, part.step is not None)
                 if isinstance(part, gast.Slice) else "scalar" for part in syntax.index_parts(target))


def rebuild_index(pattern: tuple, names: list):
    """The index of `pattern` with its atoms taken from `names`, in index_atoms' order."""
    names = iter(names)
    parts = []
    for part in pattern:
        if part == "scalar":
            parts.append(syntax.name(next(names)))
        else:
            lower, upper, step = (syntax.name(next(names)) if given else None for given in part[1:])
            parts.append(gast.Slice(lower=lower, upper=upper, step=step))
    return parts[0] if len(parts) == 1 else syntax.tuple_(parts)
