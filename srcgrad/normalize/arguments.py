"""Arguments written into (reverse mode): the function works on a copy and writes it back at its end.

numpy lets a function change an array its caller passed (`x[0] = ...`, `x *= 2`). The reverse sweep
must keep every value the function read, so the function works on a copy (`x = np.copy(x_arg)`)
and the caller's array receives the final values just before the return (`x_arg[...] = x`), as if
the function had written them in place. An argument that is also bound again by a plain assignment
keeps today's checks (a write before that binding changes the caller's array; after it, not).
Runs in reverse mode after loop_exits (one return, at the end). After it, no statement writes into
a parameter except the write-backs, which carry `srcgrad_argument_write_back` and are not differentiated.
"""
from __future__ import annotations

import gast
import numpy as np

from .. import syntax
from ..frontend.parse import ParsedFunction
from ..rules import registry
from .names import NameGenerator


def copy_written_arguments(parsed: ParsedFunction, names: NameGenerator) -> None:
    tree = parsed.tree
    written = _written_parameters(tree)
    if not written or not tree.body or not isinstance(tree.body[-1], gast.Return):
        return
    copies, write_backs = [], []
    for param in tree.args.args:
        if param.id not in written:
            continue
        argument = names.fresh(f"{param.id}_argument")
        copied = syntax.call("np.copy", syntax.name(argument))
        copied.srcgrad_rule = registry.lookup(np.copy)
        copies.append(syntax.assign(param.id, copied))
        back = syntax.assign(syntax.subscript(syntax.name(argument), gast.Constant(value=Ellipsis, kind=None), store=True),
                             syntax.name(param.id))
        back.srcgrad_argument_write_back = True
        write_backs.append(back)
        param.id = argument
    tree.body[:] = copies + tree.body[:-1] + write_backs + tree.body[-1:]


def _written_parameters(tree) -> set:
    """Array parameters written into (element or slice writes; augmented assignments to them are
    in-place updates too) and never bound again by a plain assignment."""
    params = set(syntax.param_names(tree))
    written, rebound = set(), set()
    for node in syntax.statements_in(tree.body):
        if isinstance(node, gast.Assign):
            target = node.targets[0]
            if isinstance(target, gast.Subscript):
                written.add(syntax.base_name(target))
            elif isinstance(target, gast.Name) and not getattr(node, "srcgrad_augmented", False):
                rebound.add(target.id)
    return (written & params) - rebound
