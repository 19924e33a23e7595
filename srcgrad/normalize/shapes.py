"""Allocation shapes: `z = np.empty(n)` ... `m = z.shape[0]` reads `m = n`, the shape it was made with.

Inlined helpers and scalarized lines size their loops by the arrays they fill (`n_4 = k1.shape[0]`
where `k1 = z` and `z = np.empty(n)`). The value is the same, but in the derivative the reverse
sweep must then replay the allocation only to read its shape, and numba compiles loops bounded by
a fresh array's shape field markedly worse (an RK4 step's adjoint: 82 against 56 µs). After this
pass no statement reads the shape of an array allocated from a known shape (np.empty, np.zeros,
np.ones, np.full, directly or through plain aliases) in the same block while the names that shape
is made of still hold their values there; such reads are those names.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K

_ALLOCATIONS = ("np.empty", "np.zeros", "np.ones", "np.full")


def forward_allocation_shapes(tree: gast.FunctionDef, kinds: dict) -> bool:
    """Rewrite, in place, each `a.shape` and `a.shape[c]` of a freshly allocated `a`; True when
    anything changed."""
    return any([_block(block, kinds) for block in list(syntax.blocks(tree.body))])


def _block(block: list, kinds: dict) -> bool:
    """One block's statements in order, with the shapes (lists of atoms) of the arrays allocated
    so far in it that still hold, by name."""
    shapes, changed = {}, False
    for stmt in block:
        stored = _rebound(stmt)
        for name in list(shapes):   # a loop's body may rebind them after a read: its reads keep theirs
            if name in stored or syntax.names_in(shapes[name]) & stored:
                del shapes[name]
        changed |= _rewrite_reads(stmt, shapes)
        bound = _bound_shape(stmt, shapes, kinds)
        if bound is not None:
            shapes[stmt.targets[0].id] = bound
    return changed


def _rebound(stmt) -> set:
    """The names `stmt` binds anew, or whose shape it sets (`a.shape = (n, m)`); an element write
    into an array keeps its shape."""
    return {n.id for n in syntax.walk(stmt) if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load)} | \
        {n.value.id for n in syntax.walk(stmt) if isinstance(n, gast.Attribute) and isinstance(n.value, gast.Name)
         and not isinstance(n.ctx, gast.Load)}


def _bound_shape(stmt, shapes: dict, kinds: dict) -> list | None:
    """The shape `name = np.empty(shape)` (or `name = other`, an alias) gives `name`, as atoms."""
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)):
        return None
    value, name = stmt.value, stmt.targets[0].id
    if isinstance(value, gast.Name):
        return shapes.get(value.id)
    rule = getattr(value, "srcgrad_rule", None)
    if not (isinstance(value, gast.Call) and rule is not None and rule.name in _ALLOCATIONS and value.args):
        return None
    shape = value.args[0]
    atoms = shape.elts if isinstance(shape, gast.Tuple) else [shape]
    if not all(_integer_atom(atom, kinds) for atom in atoms) or name in syntax.names_in(atoms):
        return None
    return [syntax.clone(atom) for atom in atoms]


def _integer_atom(atom, kinds: dict) -> bool:
    if isinstance(atom, gast.Constant):
        return type(atom.value) is int
    return isinstance(atom, gast.Name) and kinds.get(atom.id) == K.INT


def _rewrite_reads(stmt, shapes: dict) -> bool:
    """Replace, in `stmt`, the shape reads of the arrays in `shapes`."""
    if not shapes:
        return False
    changed = False
    for node in syntax.walk(stmt):
        for field, child in gast.iter_fields(node):
            children = child if isinstance(child, list) else [child]
            replaced = [_shape_read(c, shapes) for c in children]
            if any(r is not None for r in replaced):
                new = [c if r is None else r for c, r in zip(children, replaced)]
                setattr(node, field, new if isinstance(child, list) else new[0])
                changed = True
    return changed


def _shape_read(node, shapes: dict):
    """The atoms `node` reads when it is `a.shape[c]` or `a.shape` of an `a` in `shapes`."""
    if isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Constant) and type(node.slice.value) is int:
        atoms = _shape_of(node.value, shapes)
        if atoms is not None and -len(atoms) <= node.slice.value < len(atoms):
            return syntax.clone(atoms[node.slice.value])
        return None
    atoms = _shape_of(node, shapes)
    return None if atoms is None else gast.Tuple(elts=[syntax.clone(a) for a in atoms], ctx=gast.Load())


def _shape_of(node, shapes: dict) -> list | None:
    if isinstance(node, gast.Attribute) and node.attr == "shape" and isinstance(node.value, gast.Name) \
            and isinstance(node.ctx, gast.Load):
        return shapes.get(node.value.id)
    return None
