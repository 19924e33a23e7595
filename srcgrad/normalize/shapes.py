"""Allocation shapes: `z = np.empty(n)` ... `m = z.shape[0]` reads `m = n`, the shape it was made with.

Inlined helpers and scalarized lines size their loops by the arrays they fill (`n_4 = k1.shape[0]`
where `k1 = z` and `z = np.empty(n)`; `for i in range(len(w))` where `w = np.zeros_like(y)`).
The value is the same, but in the derivative the reverse sweep must then replay the allocation
only to read its shape, and numba compiles loops bounded by a fresh array's shape field markedly
worse (an RK4 step's adjoint: 82 against 56 µs). After this pass no statement reads the shape
(`.shape`, `.shape[c]`, `len`) of an array allocated in the same block from known sizes
(np.empty, np.zeros, np.ones, np.full: the registry's `shape_from="sizes"`) or like another array
(np.empty_like and its kin, np.copy: `shape_from="like"`; np.empty(a.shape)), directly or through plain aliases, while what that shape was made
from still holds its value there: such reads read those sizes, or that other array's shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import gast

from .. import syntax
from ..analyze import kinds as K


@dataclass(frozen=True)
class _Shape:
    """An array's shape: its sizes (atoms), or the shape of the array `like`."""

    sizes: tuple = ()
    like: str | None = None

    def names(self) -> set:
        return {self.like} if self.like is not None else syntax.names_in(list(self.sizes))

    def read(self, axis: int | None):
        """The expression `.shape` (axis None) or `.shape[axis]` of such an array reads."""
        if self.like is not None:
            shape = gast.Attribute(value=syntax.name(self.like), attr="shape", ctx=gast.Load())
            return shape if axis is None else syntax.subscript(shape, syntax.const(axis))
        if axis is None:
            return gast.Tuple(elts=[syntax.clone(a) for a in self.sizes], ctx=gast.Load())
        return syntax.clone(self.sizes[axis]) if -len(self.sizes) <= axis < len(self.sizes) else None


def forward_allocation_shapes(tree: gast.FunctionDef, kinds: dict) -> bool:
    """Rewrite, in place, each shape read of a freshly allocated array; True when anything changed."""
    return any([_block(block, kinds) for block in list(syntax.blocks(tree.body))])


def _block(block: list, kinds: dict) -> bool:
    """One block's statements in order, with the shapes of the arrays allocated so far in it that
    still hold, by name, and for each name the arrays whose shape it is or is made from."""
    shapes, depending, changed = {}, {}, False
    for stmt in block:
        for name in _rebound(stmt):   # a loop's body may rebind them after a read: its reads keep theirs
            for array in depending.pop(name, ()):
                shapes.pop(array, None)
        changed |= _rewrite_reads(stmt, shapes)
        bound = _bound_shape(stmt, shapes, kinds)
        if bound is not None:
            array = stmt.targets[0].id
            shapes[array] = bound
            for name in bound.names() | {array}:
                depending.setdefault(name, set()).add(array)
    return changed


def _rebound(stmt) -> set:
    """The names `stmt` binds anew, or whose shape it sets (`a.shape = (n, m)`); an element write
    into an array keeps its shape."""
    found = set()
    for node in syntax.walk(stmt):
        if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
            found.add(node.id)
        elif isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name) and not isinstance(node.ctx, gast.Load):
            found.add(node.value.id)
    return found


def _bound_shape(stmt, shapes: dict, kinds: dict) -> _Shape | None:
    """The shape `name = np.empty(shape)`, `name = np.zeros_like(a)` (or `name = other`, an alias)
    gives `name`."""
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)):
        return None
    value, name = stmt.value, stmt.targets[0].id
    if isinstance(value, gast.Name):
        return shapes.get(value.id)
    rule = getattr(value, "srcgrad_rule", None)
    if not (isinstance(value, gast.Call) and rule is not None and value.args and not value.keywords):
        return None
    first = value.args[0]
    if rule.shape_from == "like":
        return _like(first, name, shapes, kinds)
    if rule.shape_from != "sizes":
        return None
    if _shape_of(first) is not None:   # np.empty(a.shape)
        return _like(first.value, name, shapes, kinds)
    atoms = first.elts if isinstance(first, gast.Tuple) else [first]
    if not all(_integer_atom(atom, kinds) for atom in atoms) or name in syntax.names_in(atoms):
        return None
    return _Shape(sizes=tuple(syntax.clone(atom) for atom in atoms))


def _like(array, name: str, shapes: dict, kinds: dict) -> _Shape | None:
    """The shape of an array made like `array`: `array`'s own, or what is known of it."""
    if not (isinstance(array, gast.Name) and array.id != name and K.is_array(kinds.get(array.id))):
        return None
    return shapes.get(array.id, _Shape(like=array.id))


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
    """What `node` reads when it is `a.shape[c]`, `a.shape` or `len(a)` of an `a` in `shapes`."""
    if isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Constant) and type(node.slice.value) is int:
        name = _shape_of(node.value)
        return shapes[name].read(node.slice.value) if name in shapes else None
    if isinstance(node, gast.Call) and getattr(getattr(node, "srcgrad_rule", None), "name", None) == "len" \
            and len(node.args) == 1 and isinstance(node.args[0], gast.Name) and node.args[0].id in shapes:
        return shapes[node.args[0].id].read(0)
    name = _shape_of(node)
    return shapes[name].read(None) if name in shapes else None


def _shape_of(node) -> str | None:
    """`a` for the expression `a.shape` (read), else None."""
    if isinstance(node, gast.Attribute) and node.attr == "shape" and isinstance(node.value, gast.Name) \
            and isinstance(node.ctx, gast.Load):
        return node.value.id
    return None
