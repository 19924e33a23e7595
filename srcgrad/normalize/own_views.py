"""Reverse mode: `y = y[::-1]` then writes into y, where no other name reaches the old array, copies.

Reverse mode refuses a write through a view: one name's adjoint cannot see what the other name's
gathers. A name bound to a view of its own array (`y = y[::-1]`, a filter run backwards) leaves the
old array to no other name, so a write through the view changes nothing another name sees, and a
copy computes the same values. After this pass such a binding is followed by `y = np.copy(y)`,
and the writes are differentiated. Runs per signature, in reverse mode, after kinds.
"""
from __future__ import annotations

import gast
import numpy as np

from .. import syntax
from ..analyze.aliasing import held_in_tuples, linear_order, sharing, writes_through_views
from ..rules import registry


def copy_views_of_forgotten_arrays(tree: gast.FunctionDef, kinds: dict) -> bool:
    """Insert `y = np.copy(y)` after each such binding that a write goes through; True if any."""
    changed = False
    found = writes_through_views(tree, kinds)
    while found and _forgotten(tree, kinds, found[1]):
        binding = found[1].stmt
        copy = syntax.call("np.copy", syntax.name(binding.targets[0].id))
        copy.srcgrad_rule = registry.lookup(np.copy)
        for block in syntax.blocks(tree.body):
            if any(s is binding for s in block):
                at = next(k for k, s in enumerate(block) if s is binding)
                block.insert(at + 1, syntax.located(syntax.assign(binding.targets[0].id, copy), binding))
                break
        changed = True
        found = writes_through_views(tree, kinds)
    return changed


def _forgotten(tree, kinds: dict, view) -> bool:
    """Whether `view` binds a name to a view of its own array that no other name can reach: not
    an argument, not a tuple's item, and every other name sharing the memory bound only after it
    (outside any loop holding it), so those see the new array only."""
    name = view.name
    if view.base != name or name in syntax.param_names(tree) or name in held_in_tuples(tree.body, kinds):
        return False
    order = linear_order(tree.body)
    for other in sharing(tree.body, kinds).get(name, set()) - {name}:
        bindings = [s for s in order.statements if isinstance(s, gast.Assign) and other in syntax.stored_names(s.targets)]
        if not bindings or any(order.position[id(b)] < order.position[id(view.stmt)] or order.share_loop(b, view.stmt, None)
                               for b in bindings):
            return False
    return True
