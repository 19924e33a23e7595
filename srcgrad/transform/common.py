"""What forward and reverse mode share: zeros of the right kind, rule lookup, and call classification."""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..rules import registry
from ..rules.registry import ElementwiseRule
from ..rules.template import simplify

def on_tape(stmt):
    """Mark a statement as tape traffic, which dead-code elimination keeps (see kept_as_tape)."""
    stmt.srcgrad_tape = True
    return stmt


def backward_range(index: str, start, stop) -> gast.For:
    """`for index in range(stop - 1, start - 1, -1)` with an empty body: a unit-step range walked backwards."""
    end = syntax.const(-1) if isinstance(start, gast.Constant) and start.value == 0 else \
        syntax.binop(syntax.clone(start), "-", syntax.const(1))
    last = syntax.binop(syntax.clone(stop), "-", syntax.const(1))
    return syntax.for_range(index, [simplify(last), simplify(end), syntax.const(-1)], [])


def kept_as_tape(stmt) -> bool:
    """Whether dead-code elimination must keep a statement as tape traffic: pushes, pops and
    writes, which move a tape's state. A read of an array tape's element (`v = v_tape[k]`) changes
    nothing, so it goes when its value is dead, and with it the replayed code that only it kept."""
    if not getattr(stmt, "srcgrad_tape", False):
        return False
    return not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and isinstance(stmt.value, gast.Subscript))


def primal_kind(name: str, kinds: dict):
    """The kind of `name`, or of the primal variable whose tangent (`dx`) or adjoint (`x_bar`) it
    is; unknown for other generated names. A vector-mode tangent has one axis more, never fewer."""
    return next((kinds[c] for c in primal_candidates(name) if c in kinds), K.UNKNOWN)


def primal_candidates(name: str) -> list:
    """`name`, then the primal names it may be the adjoint or tangent of."""
    return [name, name[:-4] if name.endswith("_bar") else name, name[1:] if name.startswith("d") else None]


def scratch_buffer(stmt):
    """Mark the statement that binds a scratch buffer once, before the loops that reuse it (a tape
    grown when too small, an adjoint zeroed per iteration): a parallel loop gives each part its own."""
    stmt.srcgrad_buffer = True
    return stmt


def is_expensive(rule) -> bool:
    """Far costlier than arithmetic: reverse mode stores it rather than recomputing it, vector mode
    shares one evaluation across directions."""
    return rule is not None and rule.expensive


def allocates(value, what: tuple = ("new", "constant")) -> bool:
    """Whether `value` is a call returning a fresh array (of constants only, for ("constant",))."""
    rule = getattr(value, "srcgrad_rule", None) if isinstance(value, gast.Call) else None
    return rule is not None and rule.result in what


_OP_SYMBOLS = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
               gast.Mod: "%", gast.FloorDiv: "//", gast.MatMult: "@"}


def op_rule(node):
    """The registry entry for an arithmetic operator node."""
    if isinstance(node, gast.BinOp):
        return registry.lookup("op:" + _OP_SYMBOLS[type(node.op)])
    if isinstance(node, gast.UnaryOp):
        return registry.lookup("op:unary" + {gast.USub: "-", gast.UAdd: "+"}[type(node.op)])
    return None


def operands(node) -> list:
    if isinstance(node, gast.BinOp):
        return [node.left, node.right]
    if isinstance(node, gast.UnaryOp):
        return [node.operand]
    if isinstance(node, gast.Call):
        return list(node.args)
    return []


def primal_calls(node, callee):
    """Point every call to a user function inside `node` at its generated primal copy (in place).

    Used for code that runs as the primal does: conditions, loop tests, inactive statements."""
    for sub in syntax.walk(node):
        if isinstance(sub, gast.Call) and getattr(sub, "srcgrad_user", None) is not None:
            sub.func = syntax.name(callee(sub, []))
    return node


def module_of(rule) -> str:
    """`math` or `np`: what the template name `M` stands for."""
    return "math" if rule.name.startswith("math.") else "np"


def elementwise_bindings(rule: ElementwiseRule, node, result: str | None) -> dict:
    params = rule.partials.params
    args = operands(node)
    bindings = {p: syntax.clone(a) for p, a in zip(params, args)}
    bindings["M"] = syntax.name(module_of(rule))
    if result is not None:
        bindings["ans"] = syntax.name(result)
    return bindings


def is_one(node) -> bool:
    return isinstance(node, gast.Constant) and node.value == 1 and not isinstance(node.value, bool)


def is_minus_one(node) -> bool:
    return isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and is_one(node.operand)


def times(partial, value):
    """`partial * value`, without the multiplication when the partial is 1 or -1."""
    if is_one(partial):
        return value
    if is_minus_one(partial):
        return syntax.neg(value)
    return syntax.binop(partial, "*", value)


class Zeros:
    """Zeros shaped like a variable, spelled as simply as its kind allows.

    Array zeros are C-contiguous float64 (`np.zeros(x.shape)`) whatever the layout or dtype of
    `x`, so flat-index updates of adjoints (argmax selections) write in place.
    """

    def __init__(self, kinds: dict):
        self.kinds = kinds

    def like(self, atom) -> gast.AST:
        return self.of_kind(atom, self.kind(atom))

    def of_kind(self, value, kind) -> gast.AST:
        """Zeros shaped like the expression `value`, whose kind is `kind`."""
        if K.is_scalar(kind):
            return syntax.const(0.0)
        if K.is_array(kind) and K.ndim(kind) is not None:   # "a?" may be a number read from an array
            shape = gast.Attribute(value=syntax.clone(value), attr="shape", ctx=gast.Load())
            return syntax.call("np.zeros", shape)
        if isinstance(kind, tuple):
            return syntax.tuple_([self.of_kind(syntax.subscript(syntax.clone(value), syntax.const(i)), k)
                                  for i, k in enumerate(kind)])
        return syntax.call("zeros_like", syntax.clone(value))

    def kind(self, atom):
        return K.of_atom(atom, self.kinds)


def by_origin(stmts):
    """Consecutive simple statements that came from one user line; compound statements alone."""
    group, origin = [], None
    for stmt in stmts:
        simple = isinstance(stmt, gast.Assign)
        this = getattr(stmt, "srcgrad_origin", None) if simple else None
        if group and (not simple or this != origin):
            yield origin, group
            group = []
        if not simple:
            yield None, [stmt]
            continue
        group.append(stmt)
        origin = this
    if group:
        yield origin, group


def check_arguments(rule, call, mode: str, location) -> None:
    """Refuse calls whose extra arguments (axis=, keepdims=, a second array ...) a rule does not
    account for: a derivative that ignored them would be silently wrong."""
    from ..errors import UnsupportedSyntaxError
    if rule is None or not isinstance(call, gast.Call):
        return
    extra = rule.refused_options(call, mode)
    if extra:
        raise UnsupportedSyntaxError(
            f"`{rule.name}` called with {extra}" + (" in reverse mode" if mode == "reverse" else ""),
            location(call), "Call it with its basic arguments (for reductions: over the whole array, "
            "or np.sum/np.mean with axis=), or write the loop out explicitly.")
