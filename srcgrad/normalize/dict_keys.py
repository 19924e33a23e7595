"""Dict arguments: `params["W1"]` becomes `params[0]`, the dict arriving as the tuple of its values.

Runs per signature, after kinds are inferred (a dict's keys are part of its kind), and again for
dicts inside dicts. After it no subscript of a dict has a string key; any other use of a dict (a
key held in a variable, a method such as `.items()`) is refused.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import values_bound_once
from ..errors import UnsupportedSyntaxError


def index_dict_keys(tree: gast.FunctionDef, kinds: dict, location, strict: bool = True) -> bool:
    """Rewrite the key subscripts of every variable whose kind is a dict; True if any changed.
    `strict=False` leaves a key held in a name for later (a loop over a tuple of keys, unrolled
    next, writes it out)."""
    changed = False
    written = _names_of_one_string(tree)
    for node in syntax.walk(tree):
        if not (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)):
            continue
        kind = kinds.get(node.value.id)
        if not isinstance(kind, K.DictKind):
            continue
        key = node.slice
        if isinstance(key, gast.Constant) and type(key.value) is int:
            continue   # rewritten in an earlier round
        if isinstance(key, gast.Name) and key.id in written:   # `name_0 = "l1"`: an unrolled loop's key
            key = syntax.const(written[key.id])
        if isinstance(key, gast.Name) and not strict:
            continue
        if not (isinstance(key, gast.Constant) and key.value in kind.keys):
            raise UnsupportedSyntaxError(
                f"`{node.value.id}[{gast.unparse(key).strip()}]`, a key of a dict that is not one of its keys "
                f"{list(kind.keys)} written out", location(node),
                "Index a dict argument with its keys written as strings: `params[\"W1\"]`.")
        node.slice = syntax.const(kind.keys.index(key.value))
        changed = True
    return changed


def _names_of_one_string(tree) -> dict:
    """name -> the string a name is bound to, for names bound once, to a written string."""
    once = values_bound_once(tree)

    def string(value):
        if isinstance(value, gast.Constant) and isinstance(value.value, str):
            return value.value
        # `name_0 = items[0]` with `items = "l1", "l2"`: a loop over a tuple of keys, unrolled
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) and isinstance(value.slice, gast.Constant) \
                and isinstance(once.get(value.value.id), gast.Tuple) and type(value.slice.value) is int:
            items = once[value.value.id].elts
            if -len(items) <= value.slice.value < len(items):
                return string(items[value.slice.value])
        return None
    found = {name: string(value) for name, value in once.items()}
    return {name: text for name, text in found.items() if text is not None}
