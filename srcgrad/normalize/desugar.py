"""Desugar: rewrite convenience syntax into the small core the transforms handle.

After this pass there are no augmented or annotated assignments, no chained targets (`a = b = v`),
no docstrings or `pass`, and every for loop iterates over `range(...)`: loops over an array's rows,
`enumerate` and `zip` of arrays become index loops that read the rows first.
"""
from __future__ import annotations

import gast
import numpy as np
import srcgrad_runtime

from .. import syntax
from ..analyze import kinds as K
from ..rules import registry
from ..errors import UnsupportedSyntaxError
from ..frontend.parse import ParsedFunction
from .names import NameGenerator


def desugar(parsed: ParsedFunction, names: NameGenerator) -> None:
    _dicts_as_tuples(parsed.tree)
    _list_targets_as_tuples(parsed.tree)
    _list_indices_as_arrays(parsed.tree)
    syntax.expand_statements(parsed.tree.body, _bound_apart)
    _refuse_list_arithmetic(parsed)
    parsed.tree.body = _Desugar(parsed, names).block(parsed.tree.body)


def whole_arrays_as_indices(tree, kinds: dict) -> None:
    """`a[...]` reads and writes as `a[:]`, the same view, where `a` is an array of one axis or
    more, and as `a[()]`, its one element, where `a` is a 0-d array (an accumulator); `float(a)` of
    such an accumulator reads `a[()]` too. numba reads no `a[...]` (it writes one) and takes no
    `float` of an array, `T[...] += 1.0` reads what it writes, and the accumulator's tangent is a
    number. (Other 0-d kinds may hold numbers at run time: their `float(a)` stays.)"""
    accumulators = set()
    for node in syntax.walk(tree):
        if (isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Constant) and node.slice.value is Ellipsis
                and isinstance(node.value, gast.Name) and K.is_array(kinds.get(node.value.id))):
            rank = K.ndim(kinds.get(node.value.id))
            if rank == 0:
                node.slice = gast.Tuple(elts=[], ctx=gast.Load())
                accumulators.add(node.value.id)
            elif rank is not None:
                node.slice = gast.Slice(lower=None, upper=None, step=None)
        elif (isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Tuple) and isinstance(node.value, gast.Name)
              and K.ndim(kinds.get(node.value.id)) is not None and K.is_array(kinds.get(node.value.id))):
            _ellipsis_as_slices(node, K.ndim(kinds[node.value.id]))
    for node in syntax.walk(tree):
        for field, value in gast.iter_fields(node):
            if _float_of(value, accumulators):
                setattr(node, field, syntax.subscript(value.args[0], gast.Tuple(elts=[], ctx=gast.Load())))


def _ellipsis_as_slices(node, rank: int) -> None:
    """`s[..., 0]` as `s[:, 0]`: the axes `...` stands for, written out (a write log cannot keep
    an index holding `...` on numba). Left as it is where the other parts do not say how many."""
    parts = node.slice.elts
    ellipses = [k for k, p in enumerate(parts) if isinstance(p, gast.Constant) and p.value is Ellipsis]
    fixed = [p for p in parts if not (isinstance(p, gast.Constant) and (p.value is Ellipsis or p.value is None))]
    if len(ellipses) != 1 or len(fixed) != len(parts) - 1 or rank - len(fixed) < 0:
        return   # none, several, or a np.newaxis among them
    at = ellipses[0]
    node.slice.elts = parts[:at] + [gast.Slice(lower=None, upper=None, step=None) for _ in range(rank - len(fixed))] + parts[at + 1:]


def _float_of(node, names: set) -> bool:
    return (isinstance(node, gast.Call) and getattr(getattr(node, "srcgrad_rule", None), "name", None) == "float"
            and len(node.args) == 1 and isinstance(node.args[0], gast.Name) and node.args[0].id in names)


def _dicts_as_tuples(tree) -> None:
    """`{"loss": a, "acc": b}` becomes the tuple `(a, b)` that remembers its keys: its kind is a
    dict kind (indexed by its keys written out, as a dict argument is) and srcgrad's API gives it
    back to the user as a dict."""

    class _Dicts(gast.NodeTransformer):
        def visit_Dict(self, node):
            self.generic_visit(node)
            pair = gast.Tuple(elts=list(node.values), ctx=gast.Load())
            pair.srcgrad_keys = tuple(k.value for k in node.keys)
            return gast.copy_location(pair, node)

    _Dicts().visit(tree)


def _list_indices_as_arrays(tree) -> None:
    """`x[[1, 3]]` indexes as `x[np.array([1, 3])]`, which numpy does the same (and numba takes)."""
    for node in syntax.walk(tree):
        if isinstance(node, gast.Subscript):
            if isinstance(node.slice, gast.List):
                node.slice = _as_index_array(node.slice)
            elif isinstance(node.slice, gast.Tuple):
                node.slice.elts = [_as_index_array(e) if isinstance(e, gast.List) else e for e in node.slice.elts]


def _as_index_array(items: gast.List) -> gast.Call:
    call = syntax.call("np.array", items)
    call.srcgrad_rule = registry.lookup(np.array)
    return gast.copy_location(call, items)


def _list_targets_as_tuples(tree) -> None:
    """`[y, z] = f(x)` unpacks as `y, z = f(x)` does."""
    for node in syntax.walk(tree):
        targets = node.targets if isinstance(node, gast.Assign) else [node.target] if isinstance(node, gast.For) else []
        for target in targets:
            for part in syntax.walk(target):
                if isinstance(part, gast.List) and isinstance(part.ctx, gast.Store):
                    part.__class__ = gast.Tuple


def _bound_apart(stmt) -> list:
    """`u, history = u0.copy(), []` as one assignment per name, so that the list is bound to its
    name as lists are (below), and a new array to its name rather than through a tuple (which made
    `u` a second name for it, and a write into `u` refused in reverse mode); only where no name it
    binds is read on the right, so the order of evaluation changes nothing."""
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Tuple)
            and isinstance(stmt.value, gast.Tuple) and len(stmt.value.elts) == len(stmt.targets[0].elts)
            and any(isinstance(e, (gast.List, gast.Call)) for e in stmt.value.elts)
            and all(isinstance(t, gast.Name) for t in stmt.targets[0].elts)
            and not syntax.stored_names(stmt.targets[0]) & syntax.names_in(stmt.value)):
        return [stmt]
    return [syntax.located(syntax.assign(target, value), stmt) for target, value in zip(stmt.targets[0].elts, stmt.value.elts)]


def _refuse_list_arithmetic(parsed: ParsedFunction) -> None:
    """srcgrad keeps lists as arrays, where `+` and `*` add and multiply; on a Python list they
    concatenate and repeat. A list (or a slice of one) used as an operand, or passed to your own
    function (which could do either), would silently mean something else: refuse it."""
    lists = {t.id for node in syntax.walk(parsed.tree) if isinstance(node, gast.Assign) and isinstance(node.value, gast.List)
             for t in node.targets if isinstance(t, gast.Name)}
    if not lists:
        return

    def is_list(node) -> bool:
        while isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Slice):
            node = node.value
        return isinstance(node, gast.Name) and node.id in lists or isinstance(node, gast.List)

    for node in syntax.walk(parsed.tree):
        operands = []
        if isinstance(node, gast.BinOp):
            operands = [node.left, node.right]
        elif isinstance(node, gast.AugAssign):
            operands = [node.target, node.value]
        elif isinstance(node, gast.UnaryOp):
            operands = [node.operand]
        elif isinstance(node, gast.Compare):
            operands = [node.left] + list(node.comparators)
        elif isinstance(node, gast.Call) and getattr(node, "srcgrad_user", None) is not None \
                and not getattr(node, "srcgrad_composite", None):   # NumPy's (or a builtin's) meaning: an array
            operands = list(node.args)
        for operand in operands:
            if is_list(operand):
                raise UnsupportedSyntaxError(
                    "arithmetic on a Python list (or passing one to your own function)", parsed.location(operand),
                    "On a list, `+` concatenates and `*` repeats, while srcgrad keeps lists as arrays: convert "
                    "it first (`np.array(items)`) and compute on the array.")


def _appends(value) -> bool:
    rule = getattr(value, "srcgrad_rule", None)
    return rule is not None and rule.name == "srcgrad_runtime.appended" and isinstance(value.args[0], gast.Name)


def _list_as_array(value: gast.List) -> gast.Call:
    """`[]` and `[a, b * b, 2.0]` bound to a name: a list of numbers or arrays is kept as an array
    (numba's lists hold one type and srcgrad differentiates arrays)."""
    if not value.elts:
        call = syntax.call("empty_list")
        call.srcgrad_rule = registry.lookup(srcgrad_runtime.empty_list)
    else:
        call = syntax.call("np.array", value)
        call.srcgrad_rule = registry.lookup(np.array)
    call.srcgrad_list = True   # builders check that items stored into it later have its items' shape
    return gast.copy_location(call, value)


def _keeps_call(value) -> bool:
    """A call statement that stays: one of a user function (a subroutine), not `print`."""
    return isinstance(value, gast.Call) and getattr(value, "srcgrad_user", None) is not None


class _Desugar:
    def __init__(self, parsed, names):
        self.parsed, self.names = parsed, names

    def block(self, stmts: list) -> list:
        out = []
        for stmt in stmts:
            out.extend(self.stmt(stmt))
        return out

    def stmt(self, stmt) -> list:
        if isinstance(stmt, gast.Expr) and _appends(stmt.value):
            # items.append(v): the list is an array that grows, bound again to the longer one
            return [syntax.located(syntax.assign(stmt.value.args[0].id, stmt.value), stmt)]
        if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.List) and isinstance(stmt.targets[0], gast.Name):
            stmt.value = _list_as_array(stmt.value)
        if isinstance(stmt, gast.Pass) or (isinstance(stmt, gast.Expr) and not syntax.is_comment(stmt)
                                                           and not _keeps_call(stmt.value)):
            return []   # a print shows values; the derivative computes without it
        if isinstance(stmt, gast.AugAssign):
            value = gast.BinOp(left=syntax.as_load(stmt.target), op=stmt.op, right=stmt.value)
            assign = syntax.located(syntax.assign(_merged_indices(stmt.target), value), stmt)
            assign.srcgrad_augmented = True   # numpy updates an array in place; srcgrad binds a new one
            return [assign]
        if isinstance(stmt, gast.AnnAssign):
            return [syntax.located(syntax.assign(stmt.target, stmt.value), stmt)] if stmt.value else []
        if isinstance(stmt, gast.Assign) and len(stmt.targets) > 1:
            # a = b = v: v is evaluated once and both names refer to that one value
            last = stmt.targets[-1]
            first = syntax.located(syntax.assign(_merged_indices(last), stmt.value), stmt)
            return [first] + [syntax.located(syntax.assign(_merged_indices(t), syntax.as_load(last)), stmt)
                              for t in stmt.targets[-2::-1]]
        if isinstance(stmt, gast.Assign) and _nested_unpacking(stmt.targets[0]):
            return self.block(self._unpack_in_steps(stmt))
        if isinstance(stmt, gast.Assign):
            stmt.targets = [_merged_indices(stmt.targets[0])]
            return [stmt]
        if isinstance(stmt, gast.For):
            return self.for_loop(stmt)
        if isinstance(stmt, gast.If) and _constant_test(stmt.test) is not None:
            # numba drops the branch a constant test never takes, and then cannot type the names
            # only that branch binds where the derivative's sweep reads them: take the branch here
            return self.block(stmt.body if _constant_test(stmt.test) else stmt.orelse)
        if isinstance(stmt, (gast.If, gast.While)):
            stmt.body = self.block(stmt.body)
            stmt.orelse = self.block(stmt.orelse)
            return [stmt]
        return [stmt]

    def _unpack_in_steps(self, stmt) -> list:
        """`(a, b), c = v` as `ab, c = v` then `a, b = ab`."""
        inner, elements = [], []
        for element in stmt.targets[0].elts:
            if isinstance(element, (gast.Tuple, gast.List)):
                name = self.names.fresh("_".join(sorted(syntax.stored_names(element))) or "items")
                elements.append(syntax.name(name, store=True))
                inner.append(syntax.located(syntax.assign(gast.Tuple(elts=element.elts, ctx=gast.Store()),
                                                    syntax.name(name)), stmt))
            else:
                elements.append(element)
        outer = syntax.located(syntax.assign(gast.Tuple(elts=elements, ctx=gast.Store()), stmt.value), stmt)
        return [outer] + inner

    def for_loop(self, loop: gast.For) -> list:
        loop.body = self.block(loop.body)
        iterator = loop.iter
        if isinstance(iterator, gast.Call) and isinstance(iterator.func, gast.Name) and iterator.func.id == "range":
            if not isinstance(loop.target, gast.Name):
                self._reject(loop, "a for loop over range with a tuple target")
            return [loop]
        if isinstance(iterator, gast.Call) and isinstance(iterator.func, gast.Name) and iterator.func.id == "enumerate":
            return self._enumerate(loop)
        if isinstance(iterator, gast.Call) and isinstance(iterator.func, gast.Name) and iterator.func.id == "zip":
            return self._zip(loop)
        if _array_expression(iterator):
            return self._rows(loop, [loop.target], [iterator], self.names.fresh("row_index"))
        self._reject(loop, "a for loop over this kind of iterable")

    def _rows(self, loop, targets: list, arrays: list, index: str) -> list:
        """An index loop over the rows of `arrays` together (as far as the shortest goes, as zip
        does), binding each row to its target first."""
        before, rows, rebound = [], [], _rebound(loop.body)
        for array in arrays:
            if not isinstance(array, gast.Name):   # `x[:2]`, `X.T`, `np.linspace(...)`: evaluated once, first
                base = syntax.base_name(array) if not isinstance(array, gast.Tuple) else None
                name = self.names.fresh(f"{base}_rows" if base else "items")   # refusals name it
                before.append(_located_header(syntax.assign(name, array), loop))
                rows.append(name)
                continue
            name = array.id
            if name in rebound:   # Python iterates over the array the loop started with
                name = self.names.fresh(f"{array.id}_rows")
                before.append(_located_header(syntax.assign(name, syntax.name(array.id)), loop))
            rows.append(name)
        lengths = [syntax.subscript(gast.Attribute(value=syntax.name(name), attr="shape", ctx=gast.Load()), syntax.const(0))
                   for name in rows]
        stop = lengths[0]
        for length in lengths[1:]:
            stop = registry.rule_call("min", stop, length)
        reads = [_located_header(syntax.assign(target, syntax.subscript(syntax.name(name), syntax.name(index))), loop)
                 for target, name in zip(targets, rows)]
        new = syntax.for_range(index, [stop], reads + loop.body)
        setattr(new, syntax.ROWS_OF, rows)   # a tuple's items, once kinds tell, are unrolled (tuple_loops.py)
        return before + [syntax.located(new, loop)]

    def _enumerate(self, loop) -> list:
        target = loop.target
        array = loop.iter.args[0] if loop.iter.args else None
        if isinstance(array, gast.Call) and isinstance(array.func, gast.Name) and array.func.id == "zip" \
                and isinstance(target, gast.Tuple) and len(target.elts) == 2 and isinstance(target.elts[0], gast.Name):
            # enumerate(zip(a, b)): the rows of a and b together, with their index
            pair = target.elts[1]
            if not (isinstance(pair, gast.Tuple) and len(pair.elts) == len(array.args) >= 1 and not array.keywords
                    and all(_array_expression(a) for a in array.args)):
                self._reject(loop, "this form of enumerate(zip(...))")
            return self._rows(loop, list(pair.elts), list(array.args), target.elts[0].id)
        if not (isinstance(target, gast.Tuple) and len(target.elts) == 2 and isinstance(target.elts[0], gast.Name)
                and _array_expression(array)):
            self._reject(loop, "this form of enumerate")
        return self._rows(loop, [target.elts[1]], [array], target.elts[0].id)

    def _zip(self, loop) -> list:
        target, arrays = loop.target, loop.iter.args
        if not (isinstance(target, gast.Tuple) and len(target.elts) == len(arrays) >= 1 and not loop.iter.keywords
                and all(_array_expression(a) for a in arrays)):
            self._reject(loop, "this form of zip")
        return self._rows(loop, list(target.elts), list(arrays), self.names.fresh("row_index"))

    def _reject(self, node, construct):
        raise UnsupportedSyntaxError(construct, self.parsed.location(node),
                                     "Loop over range(n), over an array's rows, enumerate(array) or zip(a, b).")


def _nested_unpacking(target) -> bool:
    return isinstance(target, (gast.Tuple, gast.List)) and any(isinstance(e, (gast.Tuple, gast.List)) for e in target.elts)


def _constant_test(test) -> bool | None:
    """The truth of a condition made of literal numbers only (`-1.1 < 0.52`), else None."""
    if not all(isinstance(n, (gast.Constant, gast.Compare, gast.BoolOp, gast.UnaryOp, gast.BinOp, gast.cmpop,
                              gast.boolop, gast.unaryop, gast.operator)) for n in syntax.walk(test)):
        return None
    if any(isinstance(n, gast.Constant) and not isinstance(n.value, (int, float, bool)) for n in syntax.walk(test)):
        return None
    try:
        return bool(eval(compile(gast.gast_to_ast(gast.Expression(body=syntax.clone(test))), "<test>", "eval"), {}))
    except Exception:
        return None


def _array_expression(node) -> bool:
    """Whether a loop may iterate over `node` as over an array's rows: a name, an element or slice
    (`x[:2]`), an attribute (`X.T`) or a call of a module function or method (`np.linspace(...)`),
    not a builtin such as `reversed`, whose result is no array; or a tuple written out, whose
    items tuple_loops unrolls."""
    if isinstance(node, gast.Call):
        return isinstance(node.func, gast.Attribute)
    return isinstance(node, (gast.Name, gast.Subscript, gast.Attribute, gast.Tuple))   # a tuple's items: unrolled


def _rebound(stmts) -> set:
    """Names bound anew (not element writes) anywhere in `stmts`."""
    return {n.id for stmt in stmts for n in syntax.walk(stmt) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}


def _merged_indices(target):
    """`a[i][j] = v` writes into the row `a[i]`, a view: written `a[i, j] = v`, it writes into `a`
    itself, which later passes track. Only indices without slices merge (`a[1:3][0]` is not
    `a[1:3, 0]`)."""
    if not (isinstance(target, gast.Subscript) and isinstance(target.value, gast.Subscript)):
        return target
    inner = _merged_indices(target.value)
    parts = syntax.index_parts(inner) + syntax.index_parts(target)
    if any(isinstance(p, gast.Slice) for p in parts):
        return target
    return syntax.subscript(inner.value, syntax.tuple_(parts), store=True)


def _located_header(new, loop):
    """Give a statement made from a loop's header the position of `for target in iterable`, so
    its comment shows the header, not the whole loop."""
    syntax.located(new, loop)
    new.end_lineno, new.end_col_offset = loop.iter.end_lineno, loop.iter.end_col_offset
    return new


