"""Activity: which variables carry a tangent or adjoint (they depend on a `wrt` input and reach the result).

A variable is *varied* if an assignment to it reads a varied value through an operation whose
derivative is not identically zero, and *useful* if the returned value depends on it the same way.
Active = varied and useful (plus the `wrt` parameters themselves), so a value the result never uses
gets no derivative code, and a non-finite partial there (np.prod over zeros) cannot leak into the
gradient. Both analyses are flow-insensitive. A name bound to another array or to a view of it
(`b = a`, `r = A[0]`, `t = A.T`) shares that array's activity, since writes through one change the
other. Conditions, shapes, integer rounding and array constructors are never active.
"""
from __future__ import annotations

import gast

from .. import syntax
from .aliasing import alias_pairs, changed_while_listed, loop_header_of, updated_while_viewed
from ..errors import UnsupportedSyntaxError
from ..rules.registry import InactiveRule, LinearRule


def active_variables(fn: gast.FunctionDef, wrt_names: set[str], kinds: dict | None = None,
                     location=lambda node: None) -> set[str]:
    """The variables of `fn` that carry derivatives when differentiating with respect to `wrt_names`."""
    assignments = list(_assignments(fn.body))
    aliases = alias_pairs(fn.body, kinds or {})
    varied = _fixpoint(set(wrt_names), assignments, aliases, forward=True)
    useful = _fixpoint(_returned_names(fn.body), assignments, aliases, forward=False)
    active = (varied & useful) | set(wrt_names)
    _refuse_dropped_derivatives(assignments, varied, useful, location)
    return active


def _refuse_dropped_derivatives(assignments, varied: set, useful: set, location) -> None:
    """A call whose rule has no derivative although its result depends smoothly on its arguments
    (np.arange's start, math.lgamma, np.bincount's weights=) is refused when one of those arguments,
    positional or keyword, depends on the input and the result reaches the output: its derivative
    would silently be dropped."""
    for stmt in assignments:
        value = stmt.value
        rule = getattr(value, "srcgrad_rule", None) if isinstance(value, gast.Call) else None
        if (isinstance(rule, InactiveRule) and not rule.zero_derivative and syntax.stored_names(stmt) & useful
                and any(_arg_active(a, varied) for a in list(value.args) + [k.value for k in value.keywords])):
            raise UnsupportedSyntaxError(
                f"`{rule.name}` with an argument that depends on the differentiated input",
                location(value), f"srcgrad cannot differentiate through it; {rule.advice}")


def refuse_updates_of_viewed_arrays(fn, kinds: dict, location) -> None:
    """`a -= r` updates numpy's array in place, so a row or view of `a` changes too; srcgrad
    computes `a = a - r` as a new array. Refused where the two differ: a view read afterwards.
    Asked of the code as the user wrote it (per signature, before small arrays become scalars or
    vectorized lines element loops, which copy `v = w` and so hide the sharing)."""
    found = updated_while_viewed(fn, kinds)
    if not found:
        return
    aliases = alias_pairs(fn.body, kinds)
    view, update = found
    array = update.targets[0].id
    other = _sharers(array, aliases + [(view.name, array)])   # the reader may be a tuple holding it: `pair = (0.5, a)`
    copied = view.name   # a copy where the view is bound separates the two names
    header = loop_header_of(copied, fn)
    if header:   # desugar bound the rows a loop iterates over: the user wrote no such name
        raise UnsupportedSyntaxError(
            f"an augmented assignment to the array `{array}` while the loop `{header}` iterates over its memory",
            location(update), f"numpy would update `{array}` in place and change the rows still to come. Loop "
            f"over a copy (`.copy()` of what the loop iterates over), or write `{array} = {array} - ...` to make "
            f"a new array.")
    raise UnsupportedSyntaxError(
        f"an augmented assignment to the array `{array}` while `{', '.join(other)}` shares its memory",
        location(update), f"numpy would update `{array}` in place and change `{other[0]}` too. Take a copy "
        f"where `{copied}` is bound (`{copied} = ....copy()`), or write `{array} = {array} - ...` to make a new array.")


def refuse_changes_of_listed_arrays(fn, kinds: dict, location) -> None:
    """A Python list holds its items by reference, so a write into an array after the list took
    it (`hist.append(x)` ... `x[0] = ...`) changes what the list holds too; srcgrad keeps a list
    as an array of copies. Refused where the two differ: the list read after the write."""
    found = changed_while_listed(fn, kinds)
    if found:
        capture, change, items, array = found
        where = location(capture)
        built = f" (line {where.line})" if where is not None else ""
        raise UnsupportedSyntaxError(
            f"a change to the array `{array}` after the list `{items}`{built} took it as an item", location(change),
            f"A Python list holds the array itself, so `{items}` would see the change; srcgrad keeps a list as "
            f"an array of copies of its items. Put a copy in the list (`{items}.append({array}.copy())`, "
            f"`[{array}.copy()]`), or make a new array instead of changing `{array}` in place.")


def _sharers(name: str, aliases) -> list:
    """The names sharing `name`'s memory through chains of views, the user's own first (a loop over
    rows reads them through a `<array>_rows` name of srcgrad's)."""
    group, changed = {name}, True
    while changed:
        bigger = group | {a for a, b in aliases if b in group} | {b for a, b in aliases if a in group}
        changed, group = bigger != group, bigger
    names = sorted(group - {name})
    return [n for n in names if not n.endswith("_rows")] or names


def _fixpoint(seed: set, assignments, aliases, forward: bool) -> set:
    """Propagate from `seed` along the differentiable data flow, forwards (operands to targets)
    or backwards (targets to operands): everything reachable, aliases counting both ways."""
    edges: dict = {}
    for stmt in assignments:
        targets, sources = _target_names(stmt.targets[0]), _differentiable_sources(stmt)
        for start in (sources if forward else targets):
            edges.setdefault(start, set()).update(targets if forward else sources)
    for a, b in aliases:
        edges.setdefault(a, set()).add(b)
        edges.setdefault(b, set()).add(a)
    found, pending = set(seed), list(seed)
    while pending:
        for reached in edges.get(pending.pop(), ()):
            if reached not in found:
                found.add(reached)
                pending.append(reached)
    return found


def _differentiable_sources(stmt) -> list[str]:
    """Names whose derivative flows into the assignment's target."""
    value = stmt.value
    return [_name_of(a) for a in _operand_atoms(value, _differentiable_positions(value)) if _name_of(a)]


def _name_of(atom):
    return atom.id if isinstance(atom, gast.Name) else None


def _returned_names(stmts) -> set[str]:
    found = set()
    for node in syntax.statements_in(stmts):
        if isinstance(node, gast.Return) and node.value is not None:
            found |= syntax.loaded_names(node.value)
    return found


def _assignments(stmts):
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            yield stmt
        for block in syntax.child_blocks(stmt):
            yield from _assignments(block)


def _target_names(target):
    if isinstance(target, gast.Name):
        return [target.id]
    if isinstance(target, gast.Tuple):
        return [e.id for e in target.elts]
    if isinstance(target, gast.Subscript):
        return [syntax.base_name(target)]
    return []


def is_active_atom(node, active: set[str]) -> bool:
    return isinstance(node, gast.Name) and node.id in active


def _differentiable_positions(node) -> list[int]:
    """Positions of the operands of an ANF operation through which derivatives can flow."""
    if isinstance(node, gast.Call):
        if getattr(node, "srcgrad_user", None) is not None:
            return list(range(len(node.args)))
        rule = getattr(node, "srcgrad_rule", None)
        if rule is None:
            raise AssertionError(f"a call without a rule reached activity analysis: {syntax.fingerprint(node.func)}")
        if isinstance(rule, InactiveRule):
            return []
        if isinstance(rule, LinearRule):
            return [p for p in rule.linear_args if p < len(node.args)]
        return list(range(len(node.args)))
    if isinstance(node, gast.BinOp):
        return [] if isinstance(node.op, gast.FloorDiv) else [0, 1]
    if isinstance(node, gast.UnaryOp):
        return [] if isinstance(node.op, gast.Not) else [0]
    if isinstance(node, (gast.Subscript, gast.Name)):
        return [0]
    if isinstance(node, gast.Tuple):
        return list(range(len(node.elts)))
    if isinstance(node, (gast.Compare, gast.BoolOp, gast.Constant, gast.Attribute)) or syntax.is_atom(node):
        return []
    raise AssertionError(f"activity analysis met an expression outside A-normal form: {syntax.fingerprint(node)}")


def _operand_atoms(node, positions) -> list:
    if isinstance(node, gast.Call):
        atoms = []
        for k in positions:
            arg = node.args[k]
            atoms.extend(arg.elts if isinstance(arg, (gast.Tuple, gast.List)) else [arg])
        return atoms
    if isinstance(node, gast.BinOp):
        return [(node.left, node.right)[k] for k in positions]
    if isinstance(node, gast.UnaryOp):
        return [node.operand] if positions else []
    if isinstance(node, gast.Subscript):
        return [node.value] if positions else []
    if isinstance(node, gast.Tuple):
        return [node.elts[k] for k in positions]
    if isinstance(node, gast.Name):
        return [node]
    return []


def active_operands(node, active: set[str]) -> list[int]:
    """Positions of the operands of an ANF operation that carry derivatives into its result."""
    positions = _differentiable_positions(node)
    if isinstance(node, gast.Call):
        return [k for k in positions if _arg_active(node.args[k], active)]
    if isinstance(node, gast.BinOp):
        return [k for k in positions if is_active_atom((node.left, node.right)[k], active)]
    if isinstance(node, gast.UnaryOp):
        return [0] if positions and is_active_atom(node.operand, active) else []
    if isinstance(node, gast.Subscript):
        return [0] if is_active_atom(node.value, active) else []
    if isinstance(node, gast.Tuple):
        return [k for k in positions if is_active_atom(node.elts[k], active)]
    if isinstance(node, gast.Name):
        return [0] if node.id in active else []
    return []


def _arg_active(arg, active):
    if isinstance(arg, (gast.Tuple, gast.List)):
        return any(is_active_atom(e, active) for e in arg.elts)
    return is_active_atom(arg, active)


def is_active_expr(node, active: set[str]) -> bool:
    return bool(active_operands(node, active))
