"""What a CUDA thread can run: after this check, a specialized function holds floats, ints, bools and
tuples of them only, and calls nothing that exists only on the CPU.

A CUDA device function cannot allocate memory (no arrays, lists or dicts), and srcgrad_runtime's
helpers are CPU code. Both are refused while transforming, at the user's line, so a kernel never
fails to compile in numba with a message about generated code.

A function with prange loops on target="cuda" is checked in two parts: its prange loops as device
code, and the rest, which runs on the host as Python on device arrays, as host code: numbers,
allocations, shapes and single elements only (a device array has no arithmetic).
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
            bound = {n.id for target in node.targets for n in syntax.walk(target)
                     if isinstance(n, syntax.gast.Name) and isinstance(n.ctx, syntax.gast.Store)}
            for name in sorted(bound):   # element writes `x[i] = v` bind nothing: a kernel writes its own elements
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


HOST_ALLOCATIONS = {"np.zeros", "np.empty", "np.ones", "np.full", "np.zeros_like", "np.empty_like", "np.ones_like",
                    "np.full_like"}
ADVICE_HOST = ("On target='cuda' the code outside prange loops runs on the host, where the arrays are on the GPU: "
               "it may compute with numbers, allocate arrays and read or write single elements. Move this into the "
               "prange loop (a sum over its iterations), or use target='parallel'.")


def require_host_and_loops(tree, kinds: dict, location) -> None:
    """Check a function with prange loops for target="cuda": its prange loops' bodies run on the
    device, the rest on the host (see the module's docstring)."""
    for loop in (n for n in syntax.walk(tree) if getattr(n, "srcgrad_parallel", False)):
        for stmt in loop.body:
            require_device_code(stmt, kinds, lambda node: location(node) or location(loop))
    _require_host_code(tree.body, kinds, location, tree)


def _require_host_code(block: list, kinds: dict, location, tree) -> None:
    for stmt in block:
        if getattr(stmt, "srcgrad_parallel", False):
            continue
        problem = _host_problem(stmt, kinds)
        if problem:
            raise UnsupportedSyntaxError(f"{problem} outside a prange loop on target='cuda'",
                                         location(stmt) or location(tree), ADVICE_HOST)
        for child in syntax.child_blocks(stmt):
            _require_host_code(child, kinds, location, tree)


def _host_problem(stmt, kinds: dict) -> str | None:
    """What in `stmt` (not counting the blocks it holds) the host cannot do with device arrays."""
    array = lambda node: K.is_array(K.of_atom(node, kinds)) if isinstance(node, syntax.gast.Name) else False  # noqa: E731
    compound = isinstance(stmt, (syntax.gast.For, syntax.gast.While, syntax.gast.If))
    header = (stmt.iter if isinstance(stmt, syntax.gast.For) else stmt.test) if compound else stmt
    if isinstance(stmt, syntax.gast.AugAssign) and array(stmt.target):
        return "arithmetic on a whole array"
    for node in syntax.walk(header):
        if isinstance(node, syntax.gast.Call) and getattr(node, "srcgrad_user", None) is not None:
            return f"a call of {getattr(node.srcgrad_user, '__qualname__', 'a function')}"
        if isinstance(node, syntax.gast.Call) and any(array(a) for a in node.args):
            path = syntax.dotted_name(node.func)
            if path not in HOST_ALLOCATIONS and path != "len":
                return f"`{path or 'a call'}` of an array"
        if isinstance(node, (syntax.gast.BinOp, syntax.gast.UnaryOp, syntax.gast.Compare)) \
                and any(array(n) for n in syntax.gast.iter_child_nodes(node)):
            return "arithmetic on a whole array"
        if isinstance(node, syntax.gast.Attribute) and array(node.value) and node.attr not in ("shape", "size", "ndim", "dtype"):
            return f"`.{node.attr}` of an array"
        if isinstance(node, syntax.gast.Subscript) and array(node.value) \
                and any(isinstance(n, syntax.gast.Slice) for n in syntax.walk(node.slice)):
            return "a slice of an array"
    return None
