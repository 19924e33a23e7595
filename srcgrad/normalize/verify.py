"""Verify: the contracts that pass docstrings state, checked on the tree (A-normal form, one exit).

`verify_after(pass_name, tree)` raises AssertionError naming the first statement that breaks the
contract of the pass just run; the pipeline reports that as an InternalError (a bug in srcgrad).
Later passes rely on these shapes: activity analysis, for instance, looks only at operands that
are names, so an expression nested where an atom belongs would silently lose a derivative.
"""
from __future__ import annotations

import gast

from .. import syntax

_CONDITIONS = (gast.Compare, gast.BoolOp)


def verify_after(pass_name: str, tree: gast.FunctionDef) -> None:
    if pass_name in ("anf", "scalarize", "small_arrays"):
        verify_anf(tree.body)
    elif pass_name == "inline":
        verify_anf(tree.body)
        calls = [n for n in syntax.statements_in(tree.body) if isinstance(n, gast.Expr) and isinstance(n.value, gast.Call)]
        _require(not calls, calls[0] if calls else None, "call statements are inlined")
    elif pass_name == "loop_exits":
        verify_anf(tree.body)
        verify_single_exit(tree.body)


def verify_anf(stmts: list) -> None:
    """Every statement is one of the forms A-normal form allows (see normalize/anf.py)."""
    for stmt in stmts:
        _check_statement(stmt)
        for block in syntax.child_blocks(stmt):
            verify_anf(block)


def verify_single_exit(stmts: list) -> None:
    """One return, the last statement; no continue; a break only as `if exit_loop: break`."""
    statements = syntax.statements_in(stmts)
    returns = [n for n in statements if isinstance(n, gast.Return)]
    _require(len(returns) == 1 and stmts and stmts[-1] is returns[0], stmts[-1] if stmts else None,
             "the function must end in its only return")
    for node in statements:
        _require(not isinstance(node, gast.Continue), node, "continue must be lowered to a flag")
        if syntax.is_loop(node) and _own_breaks(node.body):
            last = node.body[-1]
            _require(getattr(last, "srcgrad_loop_exit", False) and _own_breaks(node.body[:-1]) == 0, node,
                     "a loop's only break must be its last statement")


def _own_breaks(stmts: list) -> int:
    """The breaks that leave this loop (not the loops nested in it)."""
    count = 0
    for stmt in stmts:
        if isinstance(stmt, gast.Break):
            count += 1
        elif not syntax.is_loop(stmt):
            count += sum(_own_breaks(block) for block in syntax.child_blocks(stmt))
    return count


def _require(condition: bool, node, what: str) -> None:
    if not condition:
        shown = syntax.fingerprint(node)[:300] if node is not None else "(nothing)"
        raise AssertionError(f"{what}: {shown}")


def _check_statement(stmt) -> None:
    if isinstance(stmt, gast.Assign):
        _require(len(stmt.targets) == 1, stmt, "one target per assignment")
        _check_assign(stmt.targets[0], stmt.value)
    elif isinstance(stmt, gast.For):
        _require(isinstance(stmt.target, gast.Name) and _is_range(stmt.iter), stmt, "for loops run over range(atoms)")
    elif isinstance(stmt, gast.If):
        _require(isinstance(stmt.test, gast.Name), stmt, "an if tests a name")
    elif isinstance(stmt, gast.Return):
        value = stmt.value
        elts = value.elts if isinstance(value, gast.Tuple) else [value]
        _require(all(_is_atom(e) for e in elts), stmt, "return an atom or a tuple of atoms")
    elif isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        _require(_is_call(stmt.value), stmt, "a call statement's arguments are atoms")
    else:
        _require(isinstance(stmt, (gast.While, gast.Break, gast.Continue, gast.Pass, gast.Raise)) or syntax.is_comment(stmt),
                 stmt, "statement form")


def _check_assign(target, value) -> None:
    if isinstance(target, gast.Subscript):
        _require(isinstance(target.value, gast.Name) and _is_index(target.slice) and _is_atom(value),
                 target, "element writes are array[atoms] = atom")
    elif isinstance(target, gast.Tuple):
        _require(all(isinstance(e, gast.Name) for e in target.elts) and (_is_atom(value) or _is_call(value)),
                 target, "unpacking assigns names from an atom or a call")
    else:
        _require(isinstance(target, gast.Name) and _is_operation(value), value, "one operation on atoms")


def _is_atom(node) -> bool:
    return node is not None and syntax.is_atom(node)


def _is_range(node) -> bool:
    return (isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == "range"
            and all(_is_atom(a) for a in node.args))


def _is_index(node) -> bool:
    if isinstance(node, gast.Tuple):
        return all(_is_index(e) for e in node.elts)
    if isinstance(node, gast.Slice):
        return all(b is None or _is_atom(b) for b in (node.lower, node.upper, node.step))
    return _is_atom(node) or (isinstance(node, gast.Constant) and node.value is Ellipsis)


def _is_call(node) -> bool:
    if not isinstance(node, gast.Call):
        return False
    args_ok = all(_is_atom(a) or (isinstance(a, (gast.Tuple, gast.List)) and all(_is_atom(e) for e in a.elts))
                  for a in node.args)
    return args_ok and all(_is_atom(k.value) for k in node.keywords)


def _is_operation(node) -> bool:
    if _is_atom(node) or isinstance(node, _CONDITIONS) or _is_call(node):
        return True
    if isinstance(node, gast.BinOp):
        return _is_atom(node.left) and _is_atom(node.right)
    if isinstance(node, gast.UnaryOp):
        return isinstance(node.op, gast.Not) or _is_atom(node.operand)
    if isinstance(node, gast.Subscript):   # x[atoms]; also x.shape[atom] and x[atoms].shape[atom]
        array = node.value
        if isinstance(array, gast.Attribute) and array.attr == "shape":
            array = array.value
            if isinstance(array, gast.Subscript) and isinstance(array.value, gast.Name) and _is_index(array.slice):
                array = array.value
        return isinstance(array, gast.Name) and _is_index(node.slice)
    if isinstance(node, gast.Tuple):
        return all(_is_atom(e) for e in node.elts)
    if isinstance(node, gast.Attribute):
        return _is_atom(node.value)
    return False
