"""What a CUDA thread can run: after this check, a specialized function holds floats, ints, bools and
tuples of them only, and calls nothing that exists only on the CPU.

A CUDA device function cannot allocate memory (no arrays, lists or dicts), and srcgrad_runtime's
helpers are CPU code. Both are refused while transforming, at the user's line, so a kernel never
fails to compile in numba with a message about generated code.
"""
from __future__ import annotations

from .. import syntax
from ..emit.module import RUNTIME_HELPERS
from ..errors import UnsupportedSyntaxError
from . import kinds as K

ADVICE_ARRAYS = ("A CUDA thread computes with numbers only: write this with floats (a loop over k instead of "
                 "an array of k values), or use target='parallel', which runs the same per-element code on "
                 "every CPU core and allows arrays.")


def require_device_code(tree, kinds: dict, location) -> None:
    """Raise UnsupportedSyntaxError at the first statement a CUDA thread cannot run."""
    for node in syntax.walk(tree):
        if isinstance(node, syntax.gast.Assign):
            for name in sorted(syntax.stored_names(node.targets)):
                if not _on_device(kinds.get(name, K.UNKNOWN)):
                    raise UnsupportedSyntaxError(f"an array, list or dict (`{name}`) on a CUDA device",
                                                 location(node) or location(tree), ADVICE_ARRAYS)
        rule = getattr(node, "srcgrad_rule", None)
        if rule is not None and getattr(rule, "spelling", "") in RUNTIME_HELPERS:
            raise UnsupportedSyntaxError(
                f"{rule.name} on a CUDA device", location(node) or location(tree),
                f"srcgrad implements {rule.name} for the CPU only. Use its `math` counterpart where there is one "
                "(math.erf, math.erfc, math.lgamma), or use target='parallel'.")


def _on_device(kind) -> bool:
    if isinstance(kind, tuple):
        return all(_on_device(k) for k in kind)
    return K.is_scalar(kind)
