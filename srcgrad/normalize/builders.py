"""Array builders whose primitive depends on kinds, chosen per signature: `[]`, `np.array`, `np.hstack`.

Desugar keeps a list as an array that grows (`items.append(v)` is `items = appended(items, v)`);
kinds then know what is appended (numbers: a vector; vectors: a matrix). Runs per signature, after
kinds. After it, no `empty_list()` call and no call of a ByKindRule (np.hstack, np.column_stack)
remains: `[]` is zeros of length 0 with the rank of what is appended, np.hstack and
np.column_stack are the np.concatenate or np.stack their pieces call for (np.vstack is a composite,
rules/composite.py), and `np.array` of an array variable is
`np.copy`, of a tuple of arrays `np.stack` (numba's np.array takes numbers only). An item stored
into a list (`items[k] = v`) has the shape of the list's items: another rank is refused, another
length raises at run time (a row of the array would broadcast it, where a list would hold it).
"""
from __future__ import annotations

import gast
import numpy as np
import srcgrad_runtime

from .. import syntax
from ..analyze import kinds as K
from ..errors import UnsupportedSyntaxError
from ..rules import registry
from ..rules.results import keyword as results_keyword
from .scalarize import length_check, with_origin


def choose_builders(tree: gast.FunctionDef, kinds: dict, location, tentative: bool = False, names=None) -> bool:
    """Rewrite the builders above into the primitives they are for these kinds; True if any.
    `location` maps a node to its place in the user's file, for errors. `tentative`: some
    argument kinds are unknown (a callee built while its caller's kinds are still being inferred);
    a builder whose pieces' ranks are unknown then takes its first choice."""
    changed = _vectors_lifted(tree, kinds, names) if names is not None else False
    for node in syntax.walk(tree):
        if (isinstance(node, gast.Assign) and isinstance(node.value, gast.Call)
                and getattr(getattr(node.value, "srcgrad_rule", None), "name", "") == "srcgrad_runtime.empty_list"):
            rank = K.ndim(kinds.get(node.targets[0].id, K.EMPTY)) or 1
            zeros = syntax.call("np.zeros", syntax.tuple_([syntax.const(0)] * rank))
            zeros.srcgrad_rule = registry.lookup(np.zeros)
            node.value = gast.copy_location(zeros, node.value)
            changed = True
        elif isinstance(node, gast.Call) and getattr(getattr(node, "srcgrad_rule", None), "name", "") == "np.array" \
                and len(node.args) == 1 and not node.keywords:
            changed |= _array_of_arrays(node, kinds)
        elif isinstance(node, gast.Call) and getattr(getattr(node, "srcgrad_rule", None), "name", "") == "np.stack":
            changed |= _rows_stacked(node, kinds)
        elif isinstance(node, gast.Call) and isinstance(getattr(node, "srcgrad_rule", None), registry.ByKindRule):
            _chosen(node, kinds, location, tentative)
            changed = True
    return changed


def _list_names(tree) -> set[str]:
    """Names bound to a list: a literal (desugar marks it), `[]`, or a list appended to."""
    listed = {"srcgrad_runtime.empty_list", "srcgrad_runtime.appended"}
    return {node.targets[0].id for node in syntax.walk(tree)
            if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) and isinstance(node.value, gast.Call)
            and (getattr(node.value, "srcgrad_list", False)
                 or getattr(getattr(node.value, "srcgrad_rule", None), "name", "") in listed)}


def check_list_items(tree: gast.FunctionDef, kinds: dict, names, location) -> bool:
    """`items[k] = v` on a list kept as an array: v of another rank than the items is refused; of
    the same rank, a check that its lengths are the items' goes before the store. True if any."""
    lists = _list_names(tree)
    checked = []

    def expand(stmt) -> list:
        rank = _stored_item_rank(stmt, lists, kinds, location)
        if not rank:
            return [stmt]
        checked.append(stmt)
        return _item_shape_check(stmt, rank, names) + [stmt]

    if lists:
        syntax.expand_statements(tree.body, expand)
    return bool(checked)


def _stored_item_rank(stmt, lists: set, kinds: dict, location):
    """The rank of the item `items[k] = v` stores into a list (None for another statement or an
    unknown rank); a rank other than the list's items' is refused."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Subscript)
            and getattr(stmt.targets[0].value, "id", None) in lists
            and not isinstance(stmt.targets[0].slice, (gast.Slice, gast.Tuple))):
        return None
    list_rank = K.ndim(kinds.get(stmt.targets[0].value.id, K.UNKNOWN))
    value_rank = K.ndim(K.of_atom(stmt.value, kinds))
    if list_rank is None or value_rank is None or value_rank == list_rank - 1:
        return value_rank
    item_rank = list_rank - 1
    raise UnsupportedSyntaxError(
        f"storing {'a number' if value_rank == 0 else f'an array of rank {value_rank}'} into a list whose "
        f"items are {'numbers' if item_rank == 0 else f'arrays of rank {item_rank}'}", location(stmt), _ONE_SHAPE)


_ONE_SHAPE = ("srcgrad keeps a list as one array, whose items all have one shape: build a new list with the "
              "items you want (`items = [a, b]`), or keep this item in a variable of its own.")


def _item_shape_check(store, rank: int, names) -> list:
    """`if v.shape[0] != items.shape[1] or ...: raise UnequalLengths(...)` before `items[k] = v`."""
    items, value = store.targets[0].value.id, store.value.id
    tests = [gast.Compare(left=syntax.length_along(syntax.name(value), d), ops=[gast.NotEq()],
                          comparators=[syntax.length_along(syntax.name(items), d + 1)]) for d in range(rank)]
    test = tests[0] if rank == 1 else gast.BoolOp(op=gast.Or(), values=tests)
    # guards the write: a shorter item would be broadcast into the row
    checks = length_check(test, ("storing an array into a list whose items have other lengths", _ONE_SHAPE), names,
                          guards_write=True)
    return [with_origin(c, store) for c in checks]


def _array_of_arrays(call, kinds: dict) -> bool:
    """`np.array(a)` of an array is `np.copy(a)`; of a tuple of arrays, `np.stack` (numba's
    np.array takes numbers and tuples of numbers only)."""
    arg = call.args[0]
    if isinstance(arg, gast.Name) and K.is_array(kinds.get(arg.id)):
        call.func = syntax.dotted("np.copy")
        call.srcgrad_rule = registry.lookup(np.copy)
        return True
    if isinstance(arg, gast.Tuple) and any(isinstance(e, gast.Name) and K.is_array(kinds.get(e.id)) for e in arg.elts):
        call.func = syntax.dotted("np.stack")
        return True
    return False


def _rows_stacked(call, kinds: dict) -> bool:
    """`np.stack(a, axis=k)` of an array (a list kept as one) is a copy of it with its first axis
    moved to k, `stacked_rows(a, k)` (numba's np.stack takes a tuple of arrays only)."""
    arg, axis = call.args[0], results_keyword(call, "axis", 1)
    if not (isinstance(arg, gast.Name) and K.is_array(kinds.get(arg.id))):
        return False
    call.srcgrad_rule = registry.lookup(srcgrad_runtime.stacked_rows if axis is not None else np.copy)
    call.func = syntax.dotted(call.srcgrad_rule.emitted)
    call.args, call.keywords = [arg] + ([syntax.clone(axis)] if axis is not None else []), []
    return True


# a vector among matrices: np.column_stack makes it a column, np.vstack a row (the axis it gains)
_LIFTED = {"np.column_stack": 1, "np.vstack": 0}


def _vectors_lifted(tree, kinds: dict, names) -> bool:
    """`np.column_stack((np.ones(n), X))`: each vector among matrices bound first as the column
    (np.vstack: the row) numpy makes of it, `ones_column = np.expand_dims(ones, 1)`."""
    changed = []

    def expand(stmt) -> list:
        call = stmt.value if isinstance(stmt, gast.Assign) else None
        lifted = _LIFTED.get(getattr(getattr(call, "srcgrad_rule", None), "name", ""))
        if lifted is None or not call.args or not isinstance(call.args[0], gast.Tuple):
            return [stmt]
        pieces = call.args[0].elts
        ranks = [K.ndim(_NestedKinds(None, kinds).expr(p) or K.UNKNOWN) for p in pieces]
        if set(ranks) != {1, 2}:
            return [stmt]
        before = []
        for k, piece in enumerate(pieces):
            if ranks[k] == 1:
                name = names.fresh("column" if lifted else "row")
                before.append(gast.copy_location(syntax.assign(name, registry.rule_call("np.expand_dims", piece, syntax.const(lifted))), stmt))
                pieces[k] = syntax.name(name)
        changed.append(stmt)
        return before + [stmt]

    syntax.expand_statements(tree.body, expand)
    return bool(changed)


def _chosen(call, kinds: dict, location, tentative: bool) -> None:
    """A call of np.hstack / np.vstack as the primitive its pieces' kinds call for."""
    rule = call.srcgrad_rule
    pieces = call.args[0].elts if call.args and isinstance(call.args[0], gast.Tuple) else []
    inference = _NestedKinds(None, kinds)   # pieces inside a condition are expressions, not names
    ranks = [K.ndim(inference.expr(p) or K.UNKNOWN) for p in pieces]
    known = [r for r in ranks if r is not None]   # a piece of unknown rank has the others' rank
    if not known and tentative:
        known = [1]
    piece_kinds = tuple(K.array(known[0]) for _ in pieces) if known else ()
    if not known or known[0] not in (1, 2) or any(r != known[0] for r in known):
        raise UnsupportedSyntaxError(f"`{rule.name}` of pieces that are not all vectors or all matrices", location(call),
                                     "Pass the pieces as vectors or as matrices (a vector v as the row "
                                     "v[None, :] or the column v[:, None]); np.concatenate or np.stack say "
                                     "exactly which.")
    path, options = rule.choose(piece_kinds)
    call.func = syntax.dotted(path)
    call.srcgrad_rule = registry.lookup(registry.resolve_path(path))
    call.keywords = [gast.keyword(arg=k, value=syntax.const(v)) for k, v in options.items()]


class _NestedKinds(K.KindInference):
    """Kinds of expressions of any depth: conditions are left whole by A-normal form."""

    def of(self, node):
        return super().of(node) if syntax.is_atom(node) else self.expr(node)

    def expr(self, node):
        if isinstance(node, gast.IfExp):
            body, orelse = self.of(node.body), self.of(node.orelse)
            return None if body is None or orelse is None else K.join(body, orelse)
        if isinstance(node, gast.UnaryOp):
            return K.BOOL if isinstance(node.op, gast.Not) else self.of(node.operand)
        if isinstance(node, (gast.Name, gast.Constant, gast.Compare, gast.BoolOp, gast.BinOp, gast.Subscript,
                             gast.Attribute, gast.Tuple, gast.Call)):
            return super().expr(node)
        return K.UNKNOWN   # a construct ANF leaves in conditions that the kinds do not follow
