"""Vector mode: a float's tangent that lives within one pass over the directions is a local, not a buffer.

After this pass, a float's tangent buffer (`dmul = np.zeros(directions)`) is gone where every
mention of it is `dmul[direction]` inside loops over the directions, each of which writes it
before reading it in every iteration: no value flows from one direction, one loop or one
iteration to another, so `dmul` is a number the loop body assigns, one a compiler keeps in a
register, where before each direction stored into memory and read back (ht's per-point residual:
seven such buffers per point).
"""
from __future__ import annotations

import gast

from .. import syntax


def localize_float_tangents(fn: gast.FunctionDef, direction: str, buffers: set[str]) -> None:
    """Rewrite `fn` in place: each of `buffers` (float tangents declared at the top of its body as
    `d = np.zeros(directions)`) that qualifies becomes a local of the direction loops."""
    declarations = {stmt.targets[0].id: stmt for stmt in fn.body
                    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                    and stmt.targets[0].id in buffers}
    loops = [n for n in syntax.nodes_in(fn.body) if _over_directions(n, direction)]
    inside = {id(n) for loop in loops for n in syntax.nodes_in(loop.body)}
    named = {id(loop): syntax.names_in(loop.body) for loop in loops}   # each loop walked once, not once per buffer
    mentions: dict = {}
    for node in syntax.nodes_in(fn.body):
        if isinstance(node, gast.Name) and node.id in declarations:
            mentions.setdefault(node.id, []).append(node)
    local = set()
    for name, found in mentions.items():
        outside = [n for n in found if id(n) not in inside]
        if outside != [declarations[name].targets[0]]:
            continue
        users = [loop for loop in loops if name in named[id(loop)]]
        if all(_only_element_of_direction(loop, name, direction) and _written_first(loop.body, name, direction) is True
               for loop in users):
            local.add(name)
    if not local:
        return
    dropped = {id(declarations[name]) for name in local}
    fn.body[:] = [stmt for stmt in fn.body if id(stmt) not in dropped]
    for loop in loops:
        _as_locals(loop, local, direction)


def _over_directions(node, direction: str) -> bool:
    return isinstance(node, gast.For) and isinstance(node.target, gast.Name) and node.target.id == direction


def _only_element_of_direction(loop, name: str, direction: str) -> bool:
    """Whether every mention of `name` in the loop is `name[direction]`."""
    elements = {id(n.value) for n in syntax.nodes_in(loop.body) if _element(n, name, direction)}
    return all(id(n) in elements for n in syntax.nodes_in(loop.body) if isinstance(n, gast.Name) and n.id == name)


def _element(node, name: str, direction: str) -> bool:
    return (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and node.value.id == name
            and isinstance(node.slice, gast.Name) and node.slice.id == direction)


def _written_first(stmts: list, name: str, direction: str):
    """True when the first statement of `stmts` mentioning `name` assigns `name[direction]` (on
    every path through a branch) without reading it; False when a read may come first; None when
    nothing mentions it."""
    for stmt in stmts:
        if name not in syntax.names_in(stmt):
            continue
        if isinstance(stmt, gast.Assign):
            return _element(stmt.targets[0], name, direction) and name not in syntax.names_in(stmt.value)
        if isinstance(stmt, gast.If) and name not in syntax.names_in(stmt.test):
            return _written_first(stmt.body, name, direction) is True and _written_first(stmt.orelse, name, direction) is True
        return False
    return None


def _as_locals(loop, local: set[str], direction: str) -> None:
    class Rewrite(gast.NodeTransformer):
        def visit_Subscript(self, node):
            if isinstance(node.value, gast.Name) and node.value.id in local and _element(node, node.value.id, direction):
                return gast.Name(id=node.value.id, ctx=node.ctx, annotation=None, type_comment=None)
            return self.generic_visit(node)
    for k, stmt in enumerate(loop.body):
        loop.body[k] = Rewrite().visit(stmt)
