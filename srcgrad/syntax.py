"""The one place that names gast node classes: node builders and small queries used by every pass."""
from __future__ import annotations

import ast
import copy
from collections import deque
from typing import Iterable, Iterator

import gast

# Re-exported so passes write `syntax.Assign` rather than importing gast themselves.
AST = gast.AST
Assign = gast.Assign
AugAssign = gast.AugAssign
Attribute = gast.Attribute
BinOp = gast.BinOp
BoolOp = gast.BoolOp
Break = gast.Break
Call = gast.Call
Compare = gast.Compare
Constant = gast.Constant
Continue = gast.Continue
Expr = gast.Expr
For = gast.For
FunctionDef = gast.FunctionDef
If = gast.If
IfExp = gast.IfExp
Module = gast.Module
Name = gast.Name
Pass = gast.Pass
Return = gast.Return
Slice = gast.Slice
Subscript = gast.Subscript
Tuple = gast.Tuple
UnaryOp = gast.UnaryOp
While = gast.While
NodeTransformer = gast.NodeTransformer
NodeVisitor = gast.NodeVisitor

# Operators by symbol, for builders and for rule lookup.
BINOPS = {
    gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
    gast.FloorDiv: "//", gast.Mod: "%", gast.MatMult: "@",
}
_BINOP_BY_SYMBOL = {v: k for k, v in BINOPS.items()}


def parse_module(source: str) -> gast.Module:
    return gast.parse(source)


def parse_expr(source: str) -> gast.AST:
    return gast.parse(source).body[0].value


def name(identifier: str, store: bool = False) -> gast.Name:
    ctx = gast.Store() if store else gast.Load()
    return gast.Name(id=identifier, ctx=ctx, annotation=None, type_comment=None)


def const(value) -> gast.AST:
    """A constant that re-parses to itself: negatives become unary minus, nan/inf become math names."""
    if isinstance(value, float) and value != value:
        return attribute("math", "nan")
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        inf = attribute("math", "inf")
        return inf if value > 0 else gast.UnaryOp(op=gast.USub(), operand=inf)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return gast.UnaryOp(op=gast.USub(), operand=gast.Constant(value=-value, kind=None))
    return gast.Constant(value=value, kind=None)


def attribute(module: str, attr: str) -> gast.Attribute:
    node: gast.AST = name(module)
    for part in attr.split("."):
        node = gast.Attribute(value=node, attr=part, ctx=gast.Load())
    return node


def dotted(path: str) -> gast.AST:
    """`np.linalg.norm` as a Name/Attribute chain."""
    head, _, rest = path.partition(".")
    return attribute(head, rest) if rest else name(head)


def dotted_path(node: gast.AST) -> list[str] | None:
    """["np", "linalg", "norm"] for `np.linalg.norm` (the inverse of `dotted`); None for anything
    but a name or an attribute chain on one."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, gast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def dotted_name(node: gast.AST) -> str:
    """`np.linalg.norm` for that Name/Attribute chain; "" for anything else."""
    return ".".join(dotted_path(node) or [])


def call(func: gast.AST | str, *args: gast.AST) -> gast.Call:
    if isinstance(func, str):
        func = dotted(func)
    return gast.Call(func=func, args=list(args), keywords=[])


def binop(left: gast.AST, symbol: str, right: gast.AST) -> gast.BinOp:
    return gast.BinOp(left=left, op=_BINOP_BY_SYMBOL[symbol](), right=right)


def neg(operand: gast.AST) -> gast.UnaryOp:
    return gast.UnaryOp(op=gast.USub(), operand=operand)


def not_(operand: gast.AST) -> gast.UnaryOp:
    return gast.UnaryOp(op=gast.Not(), operand=operand)


def tuple_(elts: Iterable[gast.AST], store: bool = False) -> gast.Tuple:
    return gast.Tuple(elts=list(elts), ctx=gast.Store() if store else gast.Load())


def subscript(value: gast.AST, index: gast.AST, store: bool = False) -> gast.Subscript:
    return gast.Subscript(value=value, slice=index, ctx=gast.Store() if store else gast.Load())


def assign(target: gast.AST | str, value: gast.AST) -> gast.Assign:
    if isinstance(target, str):
        target = name(target, store=True)
    return gast.Assign(targets=[as_store(target)], value=value, type_comment=None)


def aug_assign(target: gast.AST | str, symbol: str, value: gast.AST) -> gast.AugAssign:
    if isinstance(target, str):
        target = name(target, store=True)
    return gast.AugAssign(target=as_store(target), op=_BINOP_BY_SYMBOL[symbol](), value=value)


def if_(test: gast.AST, body: list, orelse: list | None = None) -> gast.If:
    return gast.If(test=test, body=body or [gast.Pass()], orelse=orelse or [])


def for_range(index: str, range_args: list, body: list) -> gast.For:
    return gast.For(target=name(index, store=True), iter=call("range", *range_args),
                    body=body or [gast.Pass()], orelse=[], type_comment=None)


def while_(test: gast.AST, body: list) -> gast.While:
    return gast.While(test=test, body=body or [gast.Pass()], orelse=[])


def return_(value: gast.AST | None) -> gast.Return:
    return gast.Return(value=value)


def comment(text: str) -> gast.Expr:
    """A statement the printer writes as `# text` (see emit.printer)."""
    node = gast.Expr(value=gast.Constant(value=text, kind=None))
    node.srcgrad_comment = True
    return node


def is_comment(stmt: gast.AST) -> bool:
    return getattr(stmt, "srcgrad_comment", False)


def function(fn_name: str, params: list[str], body: list) -> gast.FunctionDef:
    args = gast.arguments(args=[name(p, store=False) for p in params], posonlyargs=[], vararg=None,
                          kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    for arg in args.args:
        arg.ctx = gast.Param()
    return gast.FunctionDef(name=fn_name, args=args, body=body, decorator_list=[], returns=None,
                            type_comment=None, type_params=[])


def param_names(fn: gast.FunctionDef) -> list[str]:
    return [a.id for a in fn.args.args]


def as_store(node: gast.AST) -> gast.AST:
    node = copy.copy(node)
    if isinstance(node, (gast.Name, gast.Subscript, gast.Attribute)):
        node.ctx = gast.Store()
    elif isinstance(node, gast.Tuple):
        node.ctx = gast.Store()
        node.elts = [as_store(e) for e in node.elts]
    return node


def as_load(node: gast.AST) -> gast.AST:
    node = clone(node)
    for sub in walk(node):
        if hasattr(sub, "ctx"):
            sub.ctx = gast.Load()
    return node


def clone(node):
    """A copy of an AST (or list of them): nodes and lists are copied, annotations such as the rule
    a call is bound to are shared. Four times faster than copy.deepcopy, which matters for long code."""
    if isinstance(node, list):
        return [clone(n) for n in node]
    if not isinstance(node, gast.AST):
        return node
    new = node.__class__.__new__(node.__class__)
    for key, value in node.__dict__.items():
        new.__dict__[key] = clone(value) if isinstance(value, (gast.AST, list)) else value
    return new


def names_in(node: gast.AST | list) -> set[str]:
    """Identifiers read or written anywhere inside `node`."""
    return {n.id for n in nodes_in(node) if isinstance(n, gast.Name)}


def loaded_names(node: gast.AST | list) -> set[str]:
    found = set()
    for n in nodes_in(node):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
            found.add(n.id)
        elif isinstance(n, (gast.Subscript,)) and isinstance(n.ctx, gast.Store):
            # writing x[i] reads the array x (and i)
            found.add(base_name(n))
    return found


def base_name(node: gast.AST) -> str | None:
    while isinstance(node, (gast.Subscript, gast.Attribute)):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def stored_names(node: gast.AST | list) -> set[str]:
    """Names bound or mutated (x[i] = ... mutates x) anywhere inside `node`."""
    found = set()
    for n in nodes_in(node):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
            found.add(n.id)
        elif isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store):
            found.add(base_name(n))
    return found


def substitute(node: gast.AST, mapping: dict[str, gast.AST]) -> gast.AST:
    """A copy of `node` with loaded names replaced by copies of mapping's expressions.

    One pass that copies and replaces (rules instantiate templates through this for every
    partial), reaching what a NodeTransformer with visit_Name would: the fields of nodes other than
    names; other attributes holding nodes are copied as clone copies them."""
    if isinstance(node, gast.Name):   # a name is replaced whole or copied whole (its annotation too)
        return clone(mapping[node.id] if isinstance(node.ctx, gast.Load) and node.id in mapping else node)
    new = node.__class__.__new__(node.__class__)
    fields = node._fields
    for key, value in node.__dict__.items():
        if key not in fields:
            new.__dict__[key] = clone(value) if isinstance(value, (gast.AST, list)) else value
        elif isinstance(value, gast.AST):
            new.__dict__[key] = substitute(value, mapping)
        elif isinstance(value, list):
            new.__dict__[key] = [substitute(item, mapping) if isinstance(item, gast.AST) else clone(item) for item in value]
        else:
            new.__dict__[key] = value
    return new


ROWS_OF = "srcgrad_rows_of"   # the names a desugared loop iterates over, on its loop (tuple_loops.py)


def rename(node: gast.AST | list, mapping: dict[str, str]):
    """Rename names (loads and stores) in place, and the names a loop's `ROWS_OF` mark lists;
    returns node."""
    nodes = node if isinstance(node, list) else [node]
    for root in nodes:
        for n in walk(root):
            if isinstance(n, gast.Name) and n.id in mapping:
                n.id = mapping[n.id]
            elif getattr(n, ROWS_OF, None):
                setattr(n, ROWS_OF, [mapping.get(name, name) for name in getattr(n, ROWS_OF)])
    return node


def located(new: gast.AST, old: gast.AST) -> gast.AST:
    """`new`, and every node inside it without a position of its own, at `old`'s source position:
    a refusal or comment naming a synthesized statement, or its parts, names the user's line."""
    for attr in _POSITION:
        if hasattr(old, attr):
            setattr(new, attr, getattr(old, attr))
    for node in walk(new):
        if isinstance(node, (gast.expr, gast.stmt)) and getattr(node, "lineno", None) is None:
            for attr in _POSITION:
                setattr(node, attr, getattr(new, attr, None))
    return new


_POSITION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def length_along(array: gast.AST, axis: int) -> gast.Subscript:
    """`array.shape[axis]` (the node `array` is used as it is: pass a fresh one)."""
    return subscript(gast.Attribute(value=array, attr="shape", ctx=gast.Load()), const(axis))


def expand_statements(stmts: list, expand) -> None:
    """Replace each statement of `stmts`, and of every block nested in them (inner blocks first),
    by the statements `expand(stmt)` returns: [stmt] keeps it, [] drops it."""
    out = []
    for stmt in stmts:
        for child in child_blocks(stmt):
            expand_statements(child, expand)
        out += expand(stmt)
    stmts[:] = out


_BLOCK_HOLDERS = frozenset({gast.If, gast.For, gast.While, gast.With, gast.Try, gast.ExceptHandler, gast.FunctionDef,
                            gast.AsyncFor, gast.AsyncWith, gast.AsyncFunctionDef, gast.ClassDef})


def child_blocks(stmt: gast.AST) -> list | tuple:
    """The statement lists nested directly in a compound statement (none for a simple one: asked of
    every statement of every block, so nothing is made for those)."""
    if stmt.__class__ not in _BLOCK_HOLDERS:
        return ()
    return [block for block in (getattr(stmt, "body", None), getattr(stmt, "orelse", None))
            if isinstance(block, list) and block and isinstance(block[0], gast.stmt)]


def blocks(code: list) -> Iterator[list]:
    """The statement list `code` and every block nested in it, outer ones first."""
    yield code
    for stmt in code:
        if stmt.__class__ in _BLOCK_HOLDERS:
            for block in child_blocks(stmt):
                yield from blocks(block)


def statements_in(code: list) -> list:
    """Every statement of `code` and of the blocks nested in it, outer ones first. Statements sit
    only in the blocks of other statements, so no expression node is visited: for questions about
    statements, a tenth of a walk of every node."""
    return [stmt for block in blocks(code) for stmt in block]


def is_loop(stmt: gast.AST) -> bool:
    return isinstance(stmt, (gast.For, gast.While))


def number(node: gast.AST):
    """The value of a written number, `2`, `0.5` or `-1` (a negated constant), else None."""
    if isinstance(node, gast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        inner = number(node.operand)
        return None if inner is None else -inner
    return None


def is_atom(node: gast.AST) -> bool:
    """A name or a constant: what A-normal form allows as an operand."""
    if isinstance(node, (gast.Name, gast.Constant)):
        return True
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return isinstance(node.operand, gast.Constant)
    return isinstance(node, gast.Attribute) and is_module_path(node)


def is_module_path(node: gast.AST) -> bool:
    """`math.pi`, `np.newaxis`: an attribute chain on a name, marked constant by the resolver."""
    return getattr(node, "srcgrad_constant", False)


# fields that never hold a node: walking reads the others only. `ctx` holds one (Load, Store), a
# leaf no query asks for: a third of the nodes of ANF code, left out
_LEAF_FIELDS = frozenset({"ctx", "id", "attr", "type_comment", "kind", "conversion", "is_async", "level", "module",
                          "simple"})
_CHILD_FIELDS: dict = {}


def _child_fields(cls) -> tuple:
    fields = tuple(f for f in cls._fields if f not in _LEAF_FIELDS and not (cls is gast.Constant and f == "value"))
    _CHILD_FIELDS[cls] = fields
    return fields


def walk(node):
    """Every node inside `node`, itself first, breadth first: what ast.walk yields, in its order
    (children are queued before their parent is handed out), less the expression contexts (Load,
    Store), at about three times its speed: ast.walk runs two nested generators per node, and
    passes walk long generated code many times."""
    todo = deque([node])
    take, queue, fields_of = todo.popleft, todo.append, _CHILD_FIELDS
    while todo:
        node = take()
        fields = fields_of.get(node.__class__)
        if fields is None:
            fields = _child_fields(node.__class__)
        attributes = node.__dict__
        for field in fields:
            value = attributes.get(field)
            if value is None:
                continue
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        queue(item)
            elif isinstance(value, ast.AST):
                queue(value)
        yield node


def nodes_in(node: gast.AST | list) -> list:
    """Every node inside `node` (or inside each node of a list) but the expression contexts, in no
    particular order: for the queries below that gather sets, one plain loop instead of a generator
    per node. Its inner loop is walk's, written out again: a shared helper would be a call per node
    on the compiler's hottest path."""
    todo = list(node) if isinstance(node, list) else [node]
    found, fields_of = [], _CHILD_FIELDS
    take, put = todo.pop, todo.append
    while todo:
        node = take()
        found.append(node)
        fields = fields_of.get(node.__class__)
        if fields is None:
            fields = _child_fields(node.__class__)
        attributes = node.__dict__
        for field in fields:
            value = attributes.get(field)
            if value is None:
                continue
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        put(item)
            elif isinstance(value, ast.AST):
                put(value)
    return found


def fingerprint(node) -> str:
    """A string equal for structurally equal expressions, to find repeats."""
    return gast.dump(node)


def index_parts(subscript) -> list:
    """The index components of `x[i]` ([i]) or `x[i, j]` ([i, j])."""
    return subscript.slice.elts if isinstance(subscript.slice, gast.Tuple) else [subscript.slice]


def index_value(index: gast.AST) -> gast.AST:
    """An index as a value to pass to a function: `1:n` becomes `slice(1, n, None)`."""
    if isinstance(index, gast.Slice):
        return call("slice", *(clone(b) if b is not None else const(None) for b in (index.lower, index.upper, index.step)))
    if isinstance(index, gast.Tuple):
        return tuple_([index_value(part) for part in index.elts])
    return clone(index)
