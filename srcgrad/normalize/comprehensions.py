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
from ..analyze import kinds as K
from ..frontend.parse import ParsedFunction
from ..rules import registry

_LOWERED = (gast.ListComp, gast.GeneratorExp)


SIZED = "srcgrad_sized_comprehensions"   # on the function: list name -> (its length, its position counter)


def lower_comprehensions(parsed: ParsedFunction, names) -> None:
    sized = {}
    syntax.expand_statements(parsed.tree.body, lambda stmt: _statement(stmt, names, sized))
    if sized:
        setattr(parsed.tree, SIZED, sized)


def sized_comprehensions(tree: gast.FunctionDef, kinds: dict) -> bool:
    """A comprehension of numbers with one `for` clause and no `if` as an array of its length
    written by position: `items = np.zeros(items_length)` and `items[items_at] = v`, not a list
    that each item copies (a sum over n terms cost n^2 / 2 copies, and reverse mode kept them all).
    Runs once kinds are known; True when anything changed."""
    changed = False
    for items, (length, position) in getattr(tree, SIZED, {}).items():
        if K.ndim(kinds.get(items)) != 1 or K.is_array(kinds.get(items)) and kinds[items].startswith("ia"):
            continue
        for stmt in syntax.statements_in(tree.body):
            if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == items):
                continue
            rule = getattr(getattr(stmt.value, "srcgrad_rule", None), "name", None)
            if rule == "srcgrad_runtime.empty_list":
                stmt.value = registry.rule_call("np.zeros", syntax.name(length))
            elif rule == "srcgrad_runtime.appended":
                stmt.targets[0] = syntax.subscript(syntax.name(items), syntax.name(position), store=True)
                stmt.value = stmt.value.args[1]
            else:
                continue
            changed = True
    return changed


def _statement(stmt, names, sized: dict) -> list:
    """`stmt` preceded by the loops that build the comprehensions it evaluates once."""
    before = []
    for holder, field, comprehension in _eager_comprehensions(stmt):
        items = names.fresh("items")
        built = [syntax.assign(items, gast.List(elts=[], ctx=gast.Load()))]
        counted = _counted(comprehension, items, names, sized)
        built = counted[0] + built + _loops(comprehension, comprehension.generators, items, names, counted[1])
        for new in built:
            syntax.located(new, stmt)
        syntax.expand_statements(built, lambda inner: _statement(inner, names, sized))   # in the element: loops in the loop
        before += built
        _replace(holder, field, comprehension, syntax.name(items))
    return before + [stmt]


def _counted(comprehension, items: str, names, sized: dict) -> tuple:
    """For one `for` clause and no `if` (its length that of what it iterates over): the statements
    binding that length and a position counter first, and the counter's step, after the append.
    `sized[items]` then names both: once kinds show the items are numbers, the list is an array of
    that length, written by position (`sized_comprehensions`), not grown by a copy per item."""
    if len(comprehension.generators) != 1 or comprehension.generators[0].ifs:
        return [], []
    generator = comprehension.generators[0]
    iterated = generator.iter
    header = []
    if isinstance(iterated, gast.Call) and isinstance(iterated.func, gast.Name) and iterated.func.id in ("enumerate", "zip"):
        return [], []
    if isinstance(iterated, gast.Call) and isinstance(iterated.func, gast.Name) and iterated.func.id == "range":
        length_of = syntax.call("range", *map(syntax.clone, iterated.args))
    else:   # evaluated once, for its length and its items
        bound = names.fresh("iterated")
        header.append(syntax.assign(bound, iterated))
        generator.iter, length_of = syntax.name(bound), syntax.name(bound)
    length, position = names.fresh(f"{items}_length"), names.fresh(f"{items}_at")
    header += [syntax.assign(length, syntax.call("len", length_of)), syntax.assign(position, syntax.const(0))]
    sized[items] = (length, position)
    return header, [syntax.assign(position, syntax.binop(syntax.name(position), "+", syntax.const(1)))]


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


def _loops(comprehension, generators: list, items: str, names, after: list) -> list:
    """The loop nest for `generators` (one `for` clause each), appending the element innermost
    (then `after`)."""
    if not generators:
        append = gast.Call(func=gast.Attribute(value=syntax.name(items), attr="append", ctx=gast.Load()),
                           args=[comprehension.elt], keywords=[])
        return [gast.Expr(value=append)] + after
    first, rest = generators[0], generators[1:]
    renames = {name: names.fresh(name) for name in sorted(syntax.stored_names(first.target))}
    for node in [first.target, *first.ifs, comprehension.elt] + [part for g in rest for part in (g.iter, g.target, *g.ifs)]:
        syntax.rename(node, renames)
    inner = _loops(comprehension, rest, items, names, after)
    for test in reversed(first.ifs):
        inner = [syntax.if_(test, inner)]
    return [gast.For(target=first.target, iter=first.iter, body=inner, orelse=[], type_comment=None)]


