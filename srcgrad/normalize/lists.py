"""Lists kept as arrays, per signature: `[]` takes the rank of what is appended; `np.array(items)` copies.

Desugar keeps a list as an array that grows (`items.append(v)` is `items = appended(items, v)`);
kinds then know what is appended (numbers: a vector; vectors: a matrix). Runs per signature, after
kinds. After it, no `empty_list()` call remains, `np.array` of an array variable is `np.copy` and
of a tuple of arrays `np.stack` (the same arrays; numba's np.array takes numbers only).
"""
from __future__ import annotations

import gast
import numpy as np

from .. import syntax
from ..analyze import kinds as K
from ..rules import registry


def lists_as_arrays(tree: gast.FunctionDef, kinds: dict) -> bool:
    """Replace each `items = empty_list()` by `items = np.zeros((0,) * rank)`; True if any."""
    changed = False
    for node in syntax.walk(tree):
        if (isinstance(node, gast.Assign) and isinstance(node.value, gast.Call)
                and getattr(getattr(node.value, "srcgrad_rule", None), "name", "") == "srcgrad_runtime.empty_list"):
            rank = K.ndim(kinds.get(node.targets[0].id, K.EMPTY)) or 1
            zeros = syntax.call("np.zeros", syntax.tuple_([syntax.const(0)] * rank))
            zeros.srcgrad_rule = registry.lookup(np.zeros)
            node.value = gast.copy_location(zeros, node.value)
            changed = True
        elif isinstance(node, gast.Call) and getattr(getattr(node, "srcgrad_rule", None), "name", "") == "np.array" \
                and len(node.args) == 1 and not node.keywords:
            changed |= _array_of_arrays(node, kinds)
    return changed


def _array_of_arrays(call, kinds: dict) -> bool:
    """`np.array(a)` of an array is `np.copy(a)`; of a tuple of arrays, `np.stack` (numba's
    np.array takes numbers and tuples of numbers only)."""
    arg = call.args[0]
    if isinstance(arg, gast.Name) and K.is_array(kinds.get(arg.id)):
        call.func = syntax.dotted("np.copy")
        call.srcgrad_rule = registry.lookup(np.copy)
        return True
    if isinstance(arg, gast.Tuple) and any(isinstance(e, gast.Name) and K.is_array(kinds.get(e.id)) for e in arg.elts):
        call.func = syntax.dotted("np.stack")
        return True
    return False
