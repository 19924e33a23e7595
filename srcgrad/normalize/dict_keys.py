"""Dict arguments: `params["W1"]` becomes `params[0]`, the dict arriving as the tuple of its values.

Runs per signature, after kinds are inferred (a dict's keys are part of its kind), and again for
dicts inside dicts. After it no subscript of a dict has a string key; any other use of a dict (a
key held in a variable, a method such as `.items()`) is refused.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..errors import UnsupportedSyntaxError


def index_dict_keys(tree: gast.FunctionDef, kinds: dict, location) -> bool:
    """Rewrite the key subscripts of every variable whose kind is a dict; True if any changed."""
    changed = False
    for node in syntax.walk(tree):
        if not (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)):
            continue
        kind = kinds.get(node.value.id)
        if not isinstance(kind, K.DictKind):
            continue
        key = node.slice
        if isinstance(key, gast.Constant) and type(key.value) is int:
            continue   # rewritten in an earlier round
        if not (isinstance(key, gast.Constant) and key.value in kind.keys):
            raise UnsupportedSyntaxError(
                f"`{node.value.id}[{gast.unparse(key).strip()}]`, a key of a dict that is not one of its keys "
                f"{list(kind.keys)} written out", location(node),
                "Index a dict argument with its keys written as strings: `params[\"W1\"]`.")
        node.slice = syntax.const(kind.keys.index(key.value))
        changed = True
    return changed
