"""A-normal form: one operation per statement, operands are names or constants.

After this pass every statement is one of
    name = <op>(atoms)          op: arithmetic, unary minus, a call, a subscript, a tuple, an attribute
    name1, name2 = name         tuple unpacking
    array[atoms] = atom         element or slice write
    for i in range(atoms): ...  while <condition>: ...   if cond_name: ... else: ...
    return atom | (atoms)       break       continue
Conditions (comparisons, and/or/not) are kept whole, since they are never differentiated; an if's
condition is first stored in its own name so the reverse sweep can replay the decision.
Conditional expressions become if statements. Each statement records `srcgrad_origin`, the user
line it came from, for the comments in generated code.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..errors import UnsupportedSyntaxError
from ..frontend.parse import ParsedFunction
from ..rules import registry
from .names import NameGenerator

_OP_NAMES = {gast.Add: "add", gast.Sub: "sub", gast.Mult: "mul", gast.Div: "div", gast.Pow: "pow",
             gast.FloorDiv: "floordiv", gast.Mod: "mod", gast.MatMult: "matmul"}


def to_anf(parsed: ParsedFunction, names: NameGenerator) -> None:
    body = parsed.tree.body
    if body and isinstance(body[-1], gast.Return) and body[-1].value is None:
        body = body[:-1]   # a subroutine's closing `return`: it returns nothing either way
    parsed.tree.body = _Anf(parsed, names).block(body)


def _is_condition(node) -> bool:
    return isinstance(node, (gast.Compare, gast.BoolOp)) or (
        isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.Not))


class _Anf:
    def __init__(self, parsed: ParsedFunction, names: NameGenerator):
        self.parsed, self.names = parsed, names
        self.out: list = []
        self.origin = ""
        self.position: dict = {}
        self.reads: dict = {}   # element reads available for reuse: fingerprint -> (temp, names read)

    # ----- statements ------------------------------------------------------------------------
    def block(self, stmts: list) -> list:
        saved, saved_origin, saved_reads, self.out, self.reads = self.out, self.origin, self.reads, [], {}
        saved_position = self.position
        for stmt in stmts:
            self.origin = self._origin_of(stmt)
            self.position = {"lineno": getattr(stmt, "lineno", None), "col_offset": getattr(stmt, "col_offset", None)}
            self.stmt(stmt)
        block, self.out, self.origin, self.reads = self.out, saved, saved_origin, saved_reads
        self.position = saved_position
        return block

    def emit(self, stmt):
        stmt.srcgrad_origin = self.origin
        for attr in ("lineno", "col_offset"):   # errors about generated pieces point at the user's line
            if getattr(stmt, attr, None) is None and self.position.get(attr) is not None:
                setattr(stmt, attr, self.position[attr])
        self.out.append(stmt)
        if not isinstance(stmt, gast.Assign) or getattr(stmt.value, "srcgrad_user", None) is not None:
            self.reads.clear()   # a loop, a branch or a call of user code (a subroutine) may write anything
            return
        written = syntax.stored_names(stmt)
        self.reads = {key: (temp, names) for key, (temp, names) in self.reads.items() if not names & written}

    def stmt(self, stmt):
        method = getattr(self, "stmt_" + type(stmt).__name__, None)
        if method is None:
            raise UnsupportedSyntaxError(type(stmt).__name__, self.parsed.location(stmt), "Rewrite it with plain assignments.")
        method(stmt)

    def stmt_Assign(self, stmt):
        target, value = stmt.targets[0], stmt.value
        if isinstance(target, gast.Tuple) and isinstance(value, gast.Tuple):
            return self._parallel_assign(stmt, target, value)
        if isinstance(value, gast.IfExp):
            return self._conditional_assign(target, value)
        if isinstance(target, gast.Subscript):
            index = self.index(target.slice)
            array = self.array_name(target.value)
            rhs = self.atom(value)
            return self.emit(syntax.assign(syntax.subscript(array, index, store=True), rhs))
        if isinstance(target, gast.Tuple):
            if not all(isinstance(e, gast.Name) for e in target.elts):
                self._reject(stmt, "unpacking into something other than plain names")
            user_call = isinstance(value, gast.Call) and getattr(value, "srcgrad_user", None) is not None
            unpacked = self.operation(value) if user_call else self.atom(value)   # else a name, unpacked below
            return self.emit(syntax.assign(target, unpacked))
        if not isinstance(target, gast.Name):
            self._reject(stmt, "assignment to an attribute" if isinstance(target, gast.Attribute) else
                         f"assignment to `{gast.unparse(target).strip()}`")
        new = syntax.assign(target, self.operation(value))
        new.srcgrad_augmented = getattr(stmt, "srcgrad_augmented", False)
        self.emit(new)

    def _parallel_assign(self, stmt, target, value):
        if len(target.elts) != len(value.elts):
            self._reject(stmt, "unpacking a tuple of the wrong length")
        temps = [self.atom(v, force_temp=True) for v in value.elts]
        for t, v in zip(target.elts, temps):
            self.stmt_Assign(syntax.assign(t, v))

    def _conditional_assign(self, target, ifexp):
        cond = self.names.fresh("cond")
        self.emit(syntax.assign(cond, self.operation(ifexp.test)))
        body = self.block([syntax.assign(syntax.clone(target), ifexp.body)])
        orelse = self.block([syntax.assign(syntax.clone(target), ifexp.orelse)])
        self.emit(syntax.if_(syntax.name(cond), body, orelse))

    def stmt_For(self, stmt):
        args = [self.atom(a) for a in stmt.iter.args]
        if stmt.iter.keywords or not 1 <= len(args) <= 3:
            self._reject(stmt, "range() with keyword or missing arguments")
        loop = syntax.for_range(stmt.target.id, args, self.block(stmt.body))
        for mark in ("srcgrad_parallel", "srcgrad_checkpoint", syntax.ROWS_OF):   # prange, srcgrad.checkpoint, rows of
            if hasattr(stmt, mark):
                setattr(loop, mark, getattr(stmt, mark))
        self.emit(loop)

    def stmt_While(self, stmt):
        self.emit(syntax.while_(stmt.test, self.block(stmt.body)))

    def stmt_If(self, stmt):
        cond = self.names.fresh("cond")
        self.emit(syntax.assign(cond, self.operation(stmt.test)))   # `if np.any(x > 2):` too
        body, orelse = self.block(stmt.body), self.block(stmt.orelse)
        self.emit(syntax.if_(syntax.name(cond), body, orelse))

    def stmt_Raise(self, stmt):
        self.emit(syntax.clone(stmt))   # an exception class and constants: nothing to name

    def stmt_Return(self, stmt):
        value = stmt.value
        if value is None:
            raise UnsupportedSyntaxError("a return without a value before the end of the function",
                                         self.parsed.location(stmt),
                                         "Put the rest of the function in an else branch, so it ends in one place.")
        if isinstance(value, gast.Tuple):
            self.emit(syntax.return_(_keyed_like(syntax.tuple_([self.atom(e) for e in value.elts]), value)))
        else:
            self.emit(syntax.return_(self.atom(value)))

    def stmt_Break(self, stmt):
        self.emit(gast.Break())

    def stmt_Continue(self, stmt):
        self.emit(gast.Continue())

    def stmt_Expr(self, stmt):  # srcgrad comments, and calls of user functions for their effects
        if isinstance(stmt.value, gast.Call):
            return self.emit(gast.Expr(value=self.operation(stmt.value)))
        self.out.append(stmt)

    # ----- expressions -----------------------------------------------------------------------
    def atom(self, node, force_temp: bool = False):
        if syntax.is_atom(node) and not force_temp:
            return node
        if isinstance(node, gast.IfExp):
            temp = self.names.fresh("choice")
            self._conditional_assign(syntax.name(temp, store=True), node)
            return syntax.name(temp)
        value = self.operation(node) if not syntax.is_atom(node) else node
        key = syntax.fingerprint(value) if isinstance(value, gast.Subscript) and not force_temp else None
        if key in self.reads:   # the same element read again, nothing written since: reuse it
            return syntax.name(self.reads[key][0])
        temp = self.names.fresh(self._temp_base(value))
        self.emit(syntax.assign(temp, value))
        if key is not None:
            self.reads[key] = (temp, syntax.names_in(value))
        return syntax.name(temp)

    def operation(self, node):
        """`node` with every operand reduced to an atom."""
        if syntax.is_atom(node) or _is_condition(node):
            return node
        if isinstance(node, gast.BinOp):
            return gast.BinOp(left=self.atom(node.left), op=node.op, right=self.atom(node.right))
        if isinstance(node, gast.UnaryOp):
            return gast.UnaryOp(op=node.op, operand=self.atom(node.operand))
        if isinstance(node, gast.Call):
            node.args = [self.call_arg(a, node) for a in node.args]
            for keyword in node.keywords:
                keyword.value = self.atom(keyword.value)
            return node
        if isinstance(node, gast.Subscript):
            return syntax.subscript(self.array_name(node.value), self.index(node.slice))
        if isinstance(node, gast.Tuple):
            return _keyed_like(syntax.tuple_([self.atom(e) for e in node.elts]), node)
        if isinstance(node, gast.Attribute):
            return gast.Attribute(value=self.atom(node.value), attr=node.attr, ctx=gast.Load())
        if isinstance(node, gast.IfExp):
            return self.atom(node)
        if isinstance(node, gast.List):
            raise UnsupportedSyntaxError("a list literal as an operand", self.parsed.location(node),
                                         "Make it an array first: `np.array([a, b])` (numpy converts it so in arithmetic).")
        self._reject(node, f"the expression {type(node).__name__}")

    def call_arg(self, node, call=None):
        if isinstance(node, (gast.Tuple, gast.List)):  # np.concatenate((a, b)), np.array([x, y])
            # a tuple either way: numba builds arrays from tuples of arrays, not from lists
            rows = [self._row(e, call) for e in node.elts]
            if _builds_array(call) and any(row is not e for row, e in zip(rows, node.elts)):
                call.func = syntax.dotted("np.stack")   # numba stacks arrays; its np.array takes numbers
            return syntax.tuple_([self.atom(row) for row in rows])
        return self.atom(node)

    @staticmethod
    def _row(element, call):
        """A literal inside a sequence argument as an array of its own: a row of a nested literal,
        `np.array([[a, b], [c, d]])` (the matrix is then the rows stacked), or a piece of a
        concatenation, `np.concatenate((x, [s]))`."""
        if not isinstance(element, (gast.Tuple, gast.List)):
            return element
        if _builds_array(call):
            row = syntax.call(syntax.clone(call.func), element)
            row.srcgrad_rule = call.srcgrad_rule
        else:
            row = registry.rule_call("np.array", element)
        return gast.copy_location(row, element)

    def array_name(self, node):
        value = self.atom(node)
        if not isinstance(value, gast.Name):
            self._reject(node, "indexing something that is not a variable")
        return value

    def index(self, node):
        if isinstance(node, gast.Tuple):
            return syntax.tuple_([self.index(e) for e in node.elts])
        if isinstance(node, gast.Slice):
            bound = lambda b: None if b is None else self.atom(b)  # noqa: E731
            return gast.Slice(lower=bound(node.lower), upper=bound(node.upper), step=bound(node.step))
        return self.atom(node)

    def _temp_base(self, node) -> str:
        if isinstance(node, gast.Call):
            func = node.func
            return func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", "call")
        if isinstance(node, gast.BinOp):
            return _OP_NAMES.get(type(node.op), "op")
        if isinstance(node, gast.UnaryOp):
            return {gast.USub: "neg", gast.UAdd: "pos", gast.Not: "negated"}.get(type(node.op), "unary")
        if isinstance(node, gast.Subscript):
            base = syntax.base_name(node.value) or "item"
            index = node.slice
            if isinstance(index, gast.Name):
                return f"{base}_{index.id}"
            if isinstance(index, gast.Constant):
                return f"{base}_{index.value}"
            return f"{base}_item"
        if isinstance(node, gast.Attribute):
            return f"{syntax.base_name(node) or 'attr'}_{node.attr}"
        if _is_condition(node):
            return "cond"
        return "t"

    def _origin_of(self, stmt) -> str:
        if getattr(stmt, "srcgrad_origin", None):
            return stmt.srcgrad_origin
        lineno, end = getattr(stmt, "lineno", None), getattr(stmt, "end_lineno", None)
        if lineno is None:
            return self.origin
        if isinstance(stmt, (gast.For, gast.While, gast.If)):
            end = lineno
        text = " ".join(line.strip() for line in self.parsed.lines[lineno - 1:(end or lineno)])
        return text.rstrip(":")   # a compound statement's header, or a statement made from one

    def _reject(self, node, construct):
        raise UnsupportedSyntaxError(construct, self.parsed.location(node), "Split it into simpler statements.")


def _builds_array(call) -> bool:
    rule = getattr(call, "srcgrad_rule", None)
    return rule is not None and rule.name in ("np.array", "np.stack")


def _keyed_like(pair: gast.Tuple, written: gast.Tuple) -> gast.Tuple:
    """`pair` with the keys of the dict literal `written` stood for (normalize/desugar.py), if any."""
    if getattr(written, "srcgrad_keys", None) is not None:
        pair.srcgrad_keys = written.srcgrad_keys
    return pair
