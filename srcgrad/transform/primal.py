"""Primal: the normalized function itself, for calls whose arguments carry no derivative."""
from __future__ import annotations

import gast

from .. import syntax


class PrimalTransform:
    """Renames calls to user functions to their generated primal copies; changes nothing else."""

    def __init__(self, fn: gast.FunctionDef, callee):
        self.fn, self.callee = fn, callee

    def run(self, function_name: str) -> gast.FunctionDef:
        for node in gast.walk(self.fn):
            if isinstance(node, gast.Call) and getattr(node, "srcgrad_user", None) is not None:
                node.func = syntax.name(self.callee(node, []))
        return syntax.function(function_name, syntax.param_names(self.fn), self.fn.body)
