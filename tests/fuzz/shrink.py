"""Shrinking a failing program: delete and simplify statements and expressions while the failure persists.

Greedy: candidates are tried biggest reduction first, a few at a time in the worker pool; the
first that still fails with the same signature becomes the new program, until no candidate does
or the time budget is spent. A candidate the plain evaluation rejects simply does not reproduce.
"""
from __future__ import annotations

import ast
import copy
import itertools
import time
from dataclasses import replace

from .outcome import Outcome
from .plan import Plan

BODY_FIELDS = ("body", "orelse")


def shrink(outcome: Outcome, pool, seconds: float = 120.0) -> Outcome:
    """The smallest program found that still fails with `outcome`'s primary signature."""
    target = outcome.primary.signature
    plan = shrink_plan(outcome)
    best, deadline, tried = outcome, time.monotonic() + seconds, set()
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for batch in _batches(_fresh(candidates(best.program), tried), pool.jobs):
            results = pool.map(batch, plan)
            hit = next((r for r in results if any(f.signature == target for f in r.failures)), None)
            if hit is not None:
                best, improved = hit, True
                break
            if time.monotonic() > deadline:
                break
    best.program = replace(best.program, lines_before_shrink=len(outcome.program.source.splitlines()))
    return best


def shrink_plan(outcome: Outcome) -> Plan:
    """Only the backends and APIs the failure needs (numba only if python alone does not show it)."""
    primary = outcome.primary
    apis = {"jvp+vjp": ("jvp", "vjp")}.get(primary.api, (primary.api,) if primary.api else None)
    backends = ("python", "numba") if primary.check in ("python vs numba", "timeout", "crash") or \
        primary.backend == "numba" else ("python",)
    return Plan(backends=backends, apis=apis or Plan().apis)


def _fresh(programs, tried: set):
    for program in programs:
        key = (program.source, program.wrt)
        if key not in tried:
            tried.add(key)
            yield program


def _batches(iterable, size: int):
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


# ----- candidates ------------------------------------------------------------------------------

def candidates(program):
    """Smaller variants of `program`, biggest reductions first."""
    tree = ast.parse(program.source)
    yield from _wrt_variants(program)
    yield from _without_unused_params(program, tree)
    for edit in (_delete, _unwrap, _drop_else, _simplify_expression, _shorten_range):
        for path in _statement_paths(tree):
            for new_tree in edit(tree, path):
                yield program.with_source(_unparse(new_tree))


def _wrt_variants(program):
    if isinstance(program.wrt, tuple) and len(program.wrt) > 1:
        for w in program.wrt:
            yield program.with_source(program.source, wrt=w)


def _without_unused_params(program, tree):
    main = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == program.func)
    used = {n.id for stmt in main.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    for k, param in enumerate(program.params):
        wrt = tuple(w - (w > k) for w in program.wrt_tuple if w != k)
        if param.name in used or not wrt:
            continue
        new = copy.deepcopy(tree)
        fn = next(node for node in new.body if isinstance(node, ast.FunctionDef) and node.name == program.func)
        del fn.args.args[k]
        wrt = wrt if isinstance(program.wrt, tuple) else wrt[0]
        yield replace(program.with_source(_unparse(new)), params=program.params[:k] + program.params[k + 1:], wrt=wrt)


def _unparse(tree) -> str:
    ast.fix_missing_locations(tree)
    functions = [ast.unparse(node) for node in tree.body]
    return "\n".join(f for f in functions if f.startswith(("import", "from"))) + "\n\n\n" + \
        "\n\n\n".join(f for f in functions if not f.startswith(("import", "from"))) + "\n"


def _statement_paths(tree) -> list:
    """(field, index) paths to every statement inside functions, outermost and earliest first."""
    paths = []

    def visit(node, path):
        for field in BODY_FIELDS:
            for k, child in enumerate(getattr(node, field, []) or []):
                here = path + ((field, k),)
                if not _protected(node, field, k):
                    paths.append(here)
                if not _is_fill_loop(node, field, k):
                    visit(child, here)
    visit(tree, ())
    return sorted(paths, key=len)


def _protected(parent, field: str, k: int) -> bool:
    """Imports, fill loops of np.empty arrays, and while-loop counters stay (removing them breaks validity)."""
    stmt = getattr(parent, field)[k]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)) or _is_fill_loop(parent, field, k):
        return True
    if isinstance(parent, ast.While):
        return k == 0 or (k == 1 and isinstance(parent.test, ast.Constant))
    return False


def _is_fill_loop(parent, field: str, k: int) -> bool:
    body = getattr(parent, field)
    if k == 0 or not isinstance(body[k], ast.For):
        return False
    previous = body[k - 1]
    return (isinstance(previous, ast.Assign) and isinstance(previous.value, ast.Call)
            and ast.unparse(previous.value.func) in ("np.empty", "np.empty_like"))


def _at(tree, path):
    """A copy of `tree` and, in the copy, the statement list and index `path` points to."""
    tree = copy.deepcopy(tree)
    node = tree
    for field, k in path[:-1]:
        node = getattr(node, field)[k]
    field, k = path[-1]
    return tree, getattr(node, field), k


def _delete(tree, path):
    if path[0][0] == "body" and len(path) == 1 and isinstance(tree.body[path[0][1]], ast.FunctionDef):
        if tree.body[path[0][1]].name == "f":
            return
    new, body, k = _at(tree, path)
    if isinstance(body[k], ast.FunctionDef) or len(body) > 1:
        del body[k]
        yield new
    elif not isinstance(body[k], ast.Pass):
        body[k] = ast.Pass()
        yield new


def _unwrap(tree, path):
    new, body, k = _at(tree, path)
    stmt = body[k]
    if isinstance(stmt, ast.For):
        body[k:k + 1] = _first_iteration(stmt) + stmt.body
        yield new
    elif isinstance(stmt, ast.While):
        body[k:k + 1] = stmt.body
        yield new
    elif isinstance(stmt, ast.If):
        for branch in (stmt.body, stmt.orelse):
            if branch:
                new, body, k = _at(tree, path)
                body[k:k + 1] = copy.deepcopy(branch)
                yield new


def _first_iteration(loop: ast.For) -> list:
    """Assignments that bind a for loop's targets as its first iteration would."""
    call = ast.unparse(loop.iter.func) if isinstance(loop.iter, ast.Call) else None
    if call == "range":
        start = loop.iter.args[0] if len(loop.iter.args) > 1 else ast.Constant(0)
        return [_assign(loop.target, start)]
    iterable = loop.iter.args[0] if call == "enumerate" else loop.iter
    row = ast.Subscript(value=iterable, slice=ast.Constant(0), ctx=ast.Load())
    if isinstance(loop.target, ast.Tuple):
        return [_assign(loop.target.elts[0], ast.Constant(0)), _assign(loop.target.elts[1], row)]
    return [_assign(loop.target, row)]


def _assign(target, value) -> ast.Assign:
    return ast.Assign(targets=[copy.deepcopy(target)], value=copy.deepcopy(value), lineno=0)


def _drop_else(tree, path):
    new, body, k = _at(tree, path)
    if isinstance(body[k], ast.If) and body[k].orelse:
        body[k].orelse = []
        yield new


def _shorten_range(tree, path):
    new, body, k = _at(tree, path)
    loop = body[k]
    if isinstance(loop, ast.For) and isinstance(loop.iter, ast.Call) and ast.unparse(loop.iter.func) == "range":
        args = loop.iter.args
        if len(args) == 1 and isinstance(args[0], ast.Constant) and args[0].value > 1:
            for n in range(1, args[0].value):
                new, body, k = _at(tree, path)
                body[k].iter.args[0] = ast.Constant(n)
                yield new


def _simplify_expression(tree, path):
    """The statement with one expression replaced by one of its operands (or by 0.5)."""
    _, body, k = _at(tree, path)
    stmt = body[k]
    nodes = [n for n in _own_expressions(stmt) if not isinstance(n, (ast.Name, ast.Constant))]
    for index, node in enumerate(nodes):
        for replacement in _simpler(node):
            if isinstance(stmt, ast.Assign) and node is stmt.value and isinstance(replacement, ast.Name):
                continue   # `t = w` would make a second name for an array, which generated programs never do
            new, body, k = _at(tree, path)
            target = [n for n in _own_expressions(body[k]) if not isinstance(n, (ast.Name, ast.Constant))][index]
            if _replace(body[k], target, replacement):
                yield new


def _own_expressions(stmt) -> list:
    """Expressions of `stmt` itself, not of nested statements; not call or store targets, loop iterables or tests."""
    out = []

    def visit(node):
        for field, value in ast.iter_fields(node):
            if field in BODY_FIELDS or field in ("targets", "target", "func", "ctx", "iter") or \
                    (isinstance(node, ast.While) and field == "test"):   # loops keep their bounds
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.expr):
                    out.append(child)
                    visit(child)
    visit(stmt)
    return out


def _simpler(node) -> list:
    """Operands that could stand in for `node`, then the constant 0.5."""
    children = []
    if isinstance(node, ast.BinOp):
        children = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp):
        children = [node.operand]
    elif isinstance(node, ast.IfExp):
        children = [node.body, node.orelse]
    elif isinstance(node, ast.Call):
        children = [a for a in node.args if not isinstance(a, ast.Constant)]
    elif isinstance(node, ast.Tuple):
        children = node.elts
    elif isinstance(node, (ast.Subscript, ast.Attribute)):
        children = [node.value]
    return [copy.deepcopy(c) for c in children] + [ast.Constant(0.5)]


def _replace(root, old, new) -> bool:
    """Put `new` where `old` is in `root`; False where a constant cannot go (an indexed or called object)."""
    for parent in ast.walk(root):
        for field, value in ast.iter_fields(parent):
            if value is old:
                if isinstance(new, ast.Constant) and isinstance(parent, (ast.Subscript, ast.Attribute)) \
                        and field == "value":
                    return False
                setattr(parent, field, new)
                return True
            if isinstance(value, list) and any(v is old for v in value):
                value[[i for i, v in enumerate(value) if v is old][0]] = new
                return True
    return False
