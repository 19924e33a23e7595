"""List comprehensions and generator expressions as loops that append to a list.

`np.array([f(t) for t in ts])` and `sum(w[i] * x[i] for i in range(n))` are how scientists write
a map or a sum. Before the fence, each comprehension evaluated once when its statement starts
(in an assignment, a return, an `if` test, a `for` header, or as an argument in them) becomes,
just before that statement, `items = []` and a loop nest, one loop per `for` clause with its
`if` clauses around the inner part, that appends the element; the comprehension's place holds
`items`. Its loop variables take fresh names, as a comprehension's own scope keeps them from the
function's. A generator expression is made a list too: every consumer srcgrad differentiates
(sum, max, min, np.array, ...) reads a list as it reads the generator. After this pass no list
comprehension or generator expression remains but where its statement would evaluate it more than
once or maybe not at all (a `while` test, a branch of a conditional expression, an operand of
`and`/`or` after the first): the fence refuses those, with advice.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..frontend.parse import ParsedFunction

_LOWERED = (gast.ListComp, gast.GeneratorExp)


def lower_comprehensions(parsed: ParsedFunction, names) -> None:
    parsed.tree.body = _block(parsed.tree.body, names)


def _block(stmts: list, names) -> list:
    out = []
    for stmt in stmts:
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block and isinstance(block[0], gast.stmt) \
                    and not isinstance(stmt, (gast.FunctionDef, gast.ClassDef)):
                setattr(stmt, field, _block(block, names))
        out += _statement(stmt, names)
    return out


def _statement(stmt, names) -> list:
    """`stmt` preceded by the loops that build the comprehensions it evaluates once."""
    before = []
    for holder, field, comprehension in _eager_comprehensions(stmt):
        items = names.fresh("items")
        built = [syntax.assign(items, gast.List(elts=[], ctx=gast.Load()))]
        built += _loops(comprehension, comprehension.generators, items, names)
        for new in built:
            _locate(new, stmt)
        before += _block(built, names)   # comprehensions inside the element: loops in the loop
        _replace(holder, field, comprehension, syntax.name(items))
    return before + [stmt]


def _eager_comprehensions(stmt) -> list:
    """(node holding it, its slot there, comprehension) for the outermost comprehensions `stmt`
    evaluates exactly once, before anything else it does."""
    if isinstance(stmt, gast.While):
        return []   # its test runs before every iteration
    found = []
    for field in ("value", "test", "iter"):
        if isinstance(getattr(stmt, field, None), gast.expr):
            _visit(getattr(stmt, field), stmt, field, found)
    return found


def _visit(node, holder, slot, found: list) -> None:
    if isinstance(node, _LOWERED):
        found.append((holder, slot, node))
    elif isinstance(node, gast.IfExp):
        _visit(node.test, node, "test", found)   # only the test surely runs
    elif isinstance(node, gast.BoolOp):
        _visit(node.values[0], node, ("values", 0), found)   # the others may not run
    elif isinstance(node, gast.AST) and not isinstance(node, (gast.Lambda, gast.SetComp, gast.DictComp)):
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                for index, child in enumerate(value):
                    _visit(child, node, (field, index), found)
            elif isinstance(value, gast.AST):
                _visit(value, node, field, found)


def _replace(holder, field, old, new) -> None:
    if isinstance(field, tuple):
        name, index = field
        getattr(holder, name)[index] = new
    else:
        setattr(holder, field, new)


def _loops(comprehension, generators: list, items: str, names) -> list:
    """The loop nest for `generators` (one `for` clause each), appending the element innermost."""
    if not generators:
        append = gast.Call(func=gast.Attribute(value=syntax.name(items), attr="append", ctx=gast.Load()),
                           args=[comprehension.elt], keywords=[])
        return [gast.Expr(value=append)]
    first, rest = generators[0], generators[1:]
    renames = {name: names.fresh(name) for name in sorted(syntax.stored_names(first.target))}
    for node in [first.target, *first.ifs, comprehension.elt] + [part for g in rest for part in (g.iter, g.target, *g.ifs)]:
        syntax.rename(node, renames)
    inner = _loops(comprehension, rest, items, names)
    for test in reversed(first.ifs):
        inner = [syntax.if_(test, inner)]
    return [gast.For(target=first.target, iter=first.iter, body=inner, orelse=[], type_comment=None)]


def _locate(new, stmt) -> None:
    """The statement's position on every node made for it, so refusals and comments name its line."""
    for node in gast.walk(new):
        if isinstance(node, (gast.expr, gast.stmt)) and getattr(node, "lineno", None) is None:
            for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
                setattr(node, attr, getattr(stmt, attr, None))
