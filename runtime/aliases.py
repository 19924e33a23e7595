"""Teach numba's dead-code elimination that calls and containers may alias arrays.

Numba removes a store `a[i] = v` when `a` is not read afterwards and its alias analysis knows no
other name for the array. That analysis follows `b = a`, `b = a[...]` and a few NumPy calls, but
not a call's result, a list's items, or a loop's phi: an array taken back from a tape
(`x = x_tape.pop()`) looks fresh, so the last store restoring it is dropped, although the
names bound before the loop still hold that array. Numba runs the elimination whenever it inlines
something (an `inline="always"` overload, a comprehension), in generated code and user code alike.

The rule added here is conservative: a call aliases its result with its mutable arguments and
with the object whose method it is (which also ties `lst.append(a)` to `lst`), and a phi aliases
its result with its incoming values. Only stores that numba would have wrongly removed are kept.
"""
from numba.core import ir, ir_utils


def _mutable(name: str, typemap) -> bool:
    return not ir_utils.is_immutable_type(name, typemap)


def _receiver(func_ir, func: ir.Var):
    """The object whose method `func` is (`lst` in `lst.pop`), or None."""
    try:
        definition = func_ir.get_definition(func)
    except Exception:   # numba's KeyError/GuardException: no single definition, so no method object
        return None
    if isinstance(definition, ir.Expr) and definition.op == "getattr":
        return definition.value
    return None


def _touched(instr: ir.Assign, func_ir) -> list:
    """The variables an assignment may make aliases of its target (or of each other)."""
    value = instr.value
    if not isinstance(value, ir.Expr):
        return []
    if value.op == "phi":
        return [v for v in value.incoming_values if isinstance(v, ir.Var)]
    if value.op != "call":
        return []
    touched = [v for v in list(value.args) + [v for _, v in value.kws] if isinstance(v, ir.Var)]
    receiver = _receiver(func_ir, value.func)
    return touched + [receiver] if receiver is not None else touched


def _alias_through_calls(instr, args, typemap, func_ir, alias_map, arg_aliases) -> None:
    names = [v.name for v in _touched(instr, func_ir) if _mutable(v.name, typemap)]
    if not names:
        return
    if _mutable(instr.target.name, typemap):
        names.append(instr.target.name)
    # an alias of an argument is never dead: tie the others to it (numba's own helper, as numba
    # passes a set here, or an empty dict while lowering a parfor)
    first = next((name for name in names if name in arg_aliases), names[0])
    for other in names:
        if other != first:
            ir_utils._add_alias(other, first, alias_map, arg_aliases)


def install() -> None:
    """Register the rule for assignments (numba keeps one extension per statement type)."""
    earlier = ir_utils.alias_analysis_extensions.get(ir.Assign)
    if earlier is _alias_through_calls or getattr(earlier, "srcgrad", False):
        return

    def extension(instr, args, typemap, func_ir, alias_map, arg_aliases):
        if earlier is not None:
            earlier(instr, args, typemap, func_ir, alias_map, arg_aliases)
        _alias_through_calls(instr, args, typemap, func_ir, alias_map, arg_aliases)

    extension.srcgrad = True
    ir_utils.alias_analysis_extensions[ir.Assign] = extension
