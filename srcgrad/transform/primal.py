"""Primal: the normalized function itself, for calls whose arguments carry no derivative."""
from __future__ import annotations

import gast

from .. import syntax
from .common import primal_calls


class PrimalTransform:
    """Renames calls to user functions to their generated primal copies; changes nothing else."""

    def __init__(self, fn: gast.FunctionDef, callee):
        self.fn, self.callee = fn, callee

    def run(self, function_name: str) -> gast.FunctionDef:
        primal_calls(self.fn, self.callee)
        return syntax.function(function_name, syntax.param_names(self.fn), self.fn.body)
