"""A tuple or list of values where a primitive differentiates an array: `np.sum([a, b])` sums `np.array([a, b])`.

NumPy takes a sequence wherever it takes an array; a rule differentiates an array operand, and
with a tuple there the derivative reached none of its elements (`np.sum([x[0], x[1] * x[2]])`
had a zero gradient; `np.dot([1.0, 2.0], x)` failed inside the generated code). After this pass
(per signature, once kinds are known), a sequence literal at an operand a rule differentiates is
a name bound just before to the array NumPy would make of it: `np.array` of numbers, `np.stack`
of arrays of one rank. `max([a, b, c])` and `min(...)` of numbers are the builtins of two numbers,
nested (`max(max(a, b), c)`: Python's first largest too), and of a vector are np.max and np.min;
a tuple of numbers in arithmetic with an array (`x * (1.0, 2.0)`) is that array too. Positions a rule does not
differentiate (a shape, axes, repetitions: integers) and builders of pieces (np.concatenate,
np.stack, ...) keep their sequences; at other positions, a sequence holding floats or float arrays
is values too (`np.max([a, b])`, `np.interp(t, [0.0, 1.0], [1.0, 3.0])`), and so is one passed to
a function srcgrad writes in Python (`sum([a, b])`), whose parameter inlining bound; a sequence of
numbers and arrays mixed is refused.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..errors import UnsupportedSyntaxError
from ..rules import registry
from ..rules.registry import BilinearRule, ByKindRule, ElementwiseRule, LinearRule


def sequences_as_arrays(fn: gast.FunctionDef, kinds: dict, names, location=lambda node: None) -> bool:
    """Rewrite `fn` in place (see the module docstring); True when anything changed."""
    changed = []

    def expand(stmt) -> list:
        composite = getattr(stmt, "srcgrad_sequence_for", None)
        if composite and isinstance(stmt.value, gast.Tuple) and _values(stmt.value, kinds):
            stmt.value = _as_array(stmt.value, kinds, composite, location(stmt))   # written for arrays
            changed.append(stmt)
            return [stmt]
        if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.BinOp):
            before = _arrays_for_tuple_operands(stmt, kinds, names)
            changed.extend(before)
            return before + [stmt]
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)
                and getattr(stmt.value, "srcgrad_rule", None) is not None):
            return [stmt]
        call = stmt.value
        if call.srcgrad_rule.name in ("max", "min") and len(call.args) == 1 and not isinstance(call.args[0], gast.Tuple):
            changed.append(stmt)
            return _builtin_of_a_vector(stmt, kinds, location)
        if call.srcgrad_rule.name in ("max", "min") and (len(call.args) > 2 or len(call.args) == 1):
            changed.append(stmt)
            return _builtin_of_numbers(stmt, kinds, names, location) + [stmt]
        before = _arrays_for_sequences(stmt, kinds, names, location)
        changed.extend(before)
        return before + [stmt]

    syntax.expand_statements(fn.body, expand)
    return bool(changed)


# builders that take a sequence of pieces (and `appended`, a list's rows): their sequences stay
_PIECES = frozenset({"np.concatenate", "np.stack", "np.vstack", "np.array", "np.asarray", "np.block",
                     "srcgrad_runtime.appended"})


def _arrays_for_sequences(stmt, kinds: dict, names, location) -> list:
    call, before = stmt.value, []
    rule = call.srcgrad_rule
    if rule.name in _PIECES or isinstance(rule, ByKindRule):
        return []
    differentiated = _differentiated_positions(rule, len(call.args))
    for position, sequence in enumerate(call.args):
        if not isinstance(sequence, gast.Tuple) or getattr(sequence, "srcgrad_keys", None) is not None:
            continue
        if position not in differentiated and not _values(sequence, kinds):
            continue
        array = names.fresh("sequence")
        before.append(gast.copy_location(syntax.assign(array, _as_array(sequence, kinds, rule.name, location(stmt))), stmt))
        call.args[position] = syntax.name(array)
    return before


def _arrays_for_tuple_operands(stmt, kinds: dict, names) -> list:
    """`x * t` of an array and a tuple of numbers: numpy makes the tuple an array (numba does not)."""
    operation, before = stmt.value, []
    sides = ("left", "right")
    for side, other in zip(sides, reversed(sides)):
        operand = getattr(operation, side)
        kind = kinds.get(operand.id) if isinstance(operand, gast.Name) else None
        if (isinstance(kind, tuple) and kind and all(K.is_scalar(k) for k in kind)
                and K.is_array(_kind(kinds, getattr(operation, other)))):
            array = names.fresh("sequence")
            before.append(gast.copy_location(syntax.assign(array, registry.rule_call("np.array", operand)), stmt))
            setattr(operation, side, syntax.name(array))
    return before


def _kind(kinds: dict, node):
    """The kind of an operand ANF left whole or of a name, from the function's kinds."""
    return K.KindInference(None, kinds).of(node)


def _differentiated_positions(rule, count: int) -> range | tuple:
    if isinstance(rule, ElementwiseRule):
        return range(min(count, rule.operand_count()))
    if isinstance(rule, LinearRule):
        return tuple(p for p in rule.linear_args if p < count)
    if isinstance(rule, BilinearRule):
        return tuple(p for p in (0, 1) if p < count)
    return ()


def _values(sequence: gast.Tuple, kinds: dict) -> bool:
    """Floats or float arrays among the elements: values (`np.max([a, b])`, `np.interp(t, [0.0, 1.0],
    fp)`), not a shape, axes or repetitions (integers)."""
    elements = [_kind(kinds, e) for e in sequence.elts]
    return any(k == K.FLOAT or K.is_array(k) and not k.startswith("ia") for k in elements)


def _as_array(sequence: gast.Tuple, kinds: dict, function: str, where):
    elements = [_kind(kinds, e) for e in sequence.elts]
    if all(K.is_scalar(k) for k in elements):
        return registry.rule_call("np.array", sequence)
    ranks = {K.ndim(k) for k in elements}
    if all(K.is_array(k) for k in elements) and len(ranks) == 1 and None not in ranks:
        return registry.rule_call("np.stack", sequence)
    raise UnsupportedSyntaxError(
        f"a list or tuple of numbers and arrays as an argument of `{function}`", where,
        "Make the array first, with pieces of one kind: `np.array([a, b])` of numbers, "
        "`np.stack([u, v])` of arrays of one shape.")


def _builtin_of_numbers(stmt, kinds: dict, names, location) -> list:
    """`max((a, b, c))` and `max(a, b, c)` as `max(max(a, b), c)`: the builtin's rule takes two numbers."""
    call = stmt.value
    items = list(call.args[0].elts) if len(call.args) == 1 else list(call.args)
    if len(items) < 2 or not all(K.is_scalar(_kind(kinds, e)) for e in items):
        raise UnsupportedSyntaxError(
            f"`{call.srcgrad_rule.name}` of a list or tuple that is not two or more numbers", location(stmt),
            f"Write `{call.srcgrad_rule.name}(a, b)` of numbers, or `np.max`/`np.min` of an array.")
    before, running = [], items[0]
    for item in items[1:-1]:
        partial = names.fresh(call.srcgrad_rule.name)
        pair = syntax.call(call.srcgrad_rule.name, running, item)
        pair.srcgrad_rule = call.srcgrad_rule
        before.append(gast.copy_location(syntax.assign(partial, pair), stmt))
        running = syntax.name(partial)
    call.args = [running, items[-1]]
    return before


def _builtin_of_a_vector(stmt, kinds: dict, location) -> list:
    """`max(v)` of a vector: its largest element, np.max(v) (Python's iterates the numbers)."""
    call = stmt.value
    name = call.srcgrad_rule.name
    if K.ndim(_kind(kinds, call.args[0])) != 1:
        raise UnsupportedSyntaxError(f"`{name}` of one argument that is not a vector", location(stmt),
                                     f"Write `np.{name}(x)` of an array, or `{name}(a, b)` of numbers.")
    stmt.value = gast.copy_location(registry.rule_call(f"np.{name}", call.args[0]), call)
    return [stmt]
