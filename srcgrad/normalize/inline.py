"""Inline: calls to user functions made for their effect on array arguments become the callee's body.

After this pass no statement calls a user function whose work includes writing into arrays the
caller passed it. A call statement (`step(x, k1)`, result discarded) and an assignment from a call
to a function that writes into one of its parameters (or a view of one) are replaced by the
callee's normalized body: its locals renamed apart from the caller's, its parameters bound to the
caller's atoms (so `z[i] = ...` inside the callee writes into the caller's `k1`), and its final
`return v` turned into an assignment to the call's target. Both modes already differentiate writes
into a function's own arrays, so subroutines written the Fortran way need nothing else. Callees with
one return, at their end, are inlined as well when they are small (at most SMALL_CALLEE statements)
or when the caller calls them from one place (`return solve(x, s)[-1]`, a model's `predict` in a
time loop); other user calls stay calls, each with its own generated derivative.
"""
from __future__ import annotations

import inspect

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.aliasing import views
from ..custom import is_custom
from ..errors import UnsupportedSyntaxError
from ..frontend.parse import is_derivative

SMALL_CALLEE = 40   # statements after normalization


def inline_calls(unit, normalized_callee, module_names: set) -> None:
    """Replace, in `unit`'s tree, the user calls this pass is about (see the module docstring).

    `normalized_callee(pyfunc)` returns a callee's Unit after the same passes, inlining included,
    so a subroutine calling another subroutine arrives already flattened.
    """
    _Inliner(unit, normalized_callee, module_names).block(unit.parsed.tree.body)


def writes_into_parameters(tree: gast.FunctionDef) -> bool:
    """Whether the function writes elements or slices of a parameter, or of a view of one."""
    reached = set(syntax.param_names(tree))
    changed = True
    while changed:   # close the parameters under views (`row = z[i]`, `zt = z.T`, `w = z`)
        new = {v.name for v in views(tree.body, {}) if v.base in reached}
        changed = not new <= reached
        reached |= new
    return any(isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and syntax.base_name(n) in reached
               for n in syntax.walk(tree)) or bool(updated_in_place(tree))


def updated_in_place(tree: gast.FunctionDef) -> set:
    """Parameters bound again only by augmented assignments (`out *= dt`): numpy updates the
    caller's array in place, where srcgrad binds the parameter to a new array."""
    augmented = {id(n.targets[0]) for n in syntax.walk(tree) if isinstance(n, gast.Assign)
                 and getattr(n, "srcgrad_augmented", False) and isinstance(n.targets[0], gast.Name)}
    bindings: dict = {}
    for node in syntax.walk(tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            bindings.setdefault(node.id, []).append(id(node) in augmented)
    return {p for p in syntax.param_names(tree) if p in bindings and all(bindings[p])}


class _Inliner:
    def __init__(self, unit, normalized_callee, module_names: set):
        self.unit, self.normalized_callee, self.module_names = unit, normalized_callee, module_names
        self.parsed = unit.parsed
        self.calls_per_callee = _calls_per_callee(unit.parsed.tree)

    def block(self, stmts: list) -> None:
        """Inline in place, in `stmts` and the blocks nested in it."""
        out = []
        for stmt in stmts:
            for block in syntax.child_blocks(stmt):
                self.block(block)
            call, target = _user_call(stmt)
            if call is not None and self._inlined(call, target):
                out.extend(self.inline(stmt, call, target))
            else:
                if call is not None and not is_derivative(call.srcgrad_user):
                    self._positional(call)
                out.append(stmt)
        stmts[:] = out

    def _positional(self, call) -> None:
        """A call that stays a call passes every parameter by position (keywords and number
        defaults written out): the callee's derivative is built for its positional arguments."""
        params = inspect.signature(call.srcgrad_user).parameters
        if not call.keywords and len(call.args) == len(params):
            return
        arguments = self._arguments(call, None)
        call.args = [arguments[name] for name in params]
        call.keywords = []

    def _inlined(self, call, target) -> bool:
        """Calls for their effect on arrays must be inlined. Callees with one return at their end are
        inlined too when small or called from one place: in reverse mode a call that stays a call
        runs the callee's forward sweep twice, once for its value and again inside its adjoint
        (GMM: 8-13x -> 5-8x the primal; GradBench ode, whose gradient wraps the solver, 5.3x ->
        3.1x; lstm, whose time loop calls `predict`, 8.6x -> 5.4x). Inlining the one call grows no
        code: the callee's own derivative is then not needed."""
        if is_derivative(call.srcgrad_user):
            return False   # a derivative srcgrad made: its code differs per argument kinds, known later
        tree = self._callee(call).parsed.tree
        if is_custom(call.srcgrad_user):
            if target is None or writes_into_parameters(tree):
                raise UnsupportedSyntaxError(
                    f"a call to {call.srcgrad_user.name}, which has custom derivative rules and writes into its "
                    "arguments", self.parsed.location(call),
                    "A function with custom rules must return what it computes: srcgrad calls it and its rules "
                    "as they are, so it cannot follow writes into the caller's arrays.")
            return False
        if target is None or writes_into_parameters(tree):
            return True
        statements = sum(1 for s in syntax.walk(tree) if isinstance(s, gast.stmt)) - 1
        returns = [n for n in syntax.walk(tree) if isinstance(n, gast.Return)]
        # a tuple bound to one name stays a call: kinds of such a name from an inlined body are not
        # inferred (a derivative srcgrad made, differentiated again, returns (value, tangent))
        called_once = (self.calls_per_callee[call.srcgrad_user] == 1
                       and not (isinstance(target, gast.Name) and returns and isinstance(returns[-1].value, gast.Tuple)))
        return (statements <= SMALL_CALLEE or called_once) and len(returns) == 1 and tree.body[-1] is returns[0]

    def _callee(self, call):
        return self.normalized_callee(call.srcgrad_user)

    def inline(self, stmt, call, target) -> list:
        callee = self._callee(call)
        tree = callee.parsed.tree
        body = syntax.clone(tree.body)
        value = self._returned(body, call, target, callee)
        renames = self.unit.resolved.adopt(callee.resolved, self.unit.names)
        bindings, renames = self._bind_parameters(call, tree, renames)
        callee_names = syntax.names_in(body + ([value] if value is not None else []))
        outside = set(renames) | self.module_names | _module_level_names(callee.resolved)
        for name in sorted(callee_names - outside):
            renames[name] = self.unit.names.fresh(name)
        syntax.rename(body, renames)
        result = [] if value is None else self._assign_result(target, syntax.rename(value, renames))
        written_back = self._write_back(call, tree, renames)
        inlined = ([syntax.comment(f"inlined: {gast.unparse(call).strip()}")] + bindings + body + written_back
                   + result)
        for new in inlined:
            new.srcgrad_origin = getattr(new, "srcgrad_origin", None) or getattr(stmt, "srcgrad_origin", "")
        return inlined

    def _returned(self, body: list, call, target, callee):
        """Take the callee's one `return` (its last statement) off `body`; its value, if the caller uses it."""
        returns = [n for s in body for n in syntax.walk(s) if isinstance(n, gast.Return)]
        final = body[-1] if body and isinstance(body[-1], gast.Return) else None
        if len(returns) > (final is not None):
            raise UnsupportedSyntaxError(
                f"a call to `{callee.parsed.name}`, which writes into an array argument and returns early",
                self.parsed.location(call),
                f"srcgrad inlines such calls; give `{callee.parsed.name}` one return, at its end "
                "(an if/else around the rest, a flag for loops).")
        if final is not None:
            body.pop()
        if target is None:
            return None
        value = final.value if final is not None else None
        if value is None or isinstance(value, gast.Constant) and value.value is None:
            if isinstance(target, gast.Name) and target.id not in syntax.loaded_names(self.parsed.tree):
                return syntax.const(None)   # `u = step(x)`, u never read
            raise UnsupportedSyntaxError(f"the value of a call to `{callee.parsed.name}`, which returns nothing",
                                         self.parsed.location(call), "Call it as a statement.")
        return value

    def _assign_result(self, target, value) -> list:
        if isinstance(target, gast.Tuple) and isinstance(value, gast.Tuple):
            packed = self.unit.names.fresh("returned")   # unpacking assigns names from an atom
            return [syntax.assign(packed, value), syntax.assign(target, syntax.name(packed))]
        return [syntax.assign(target, value)]

    def _bind_parameters(self, call, tree, renames: dict) -> tuple[list, dict]:
        """Parameters the callee never rebinds become the caller's names; the others get a local copy."""
        arguments = self._arguments(call, tree)
        rebound = {n.id for n in syntax.walk(tree) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        bindings, renames = [], dict(renames)
        for param, atom in arguments.items():
            if isinstance(atom, gast.Name) and param not in rebound:
                renames[param] = atom.id
            else:
                local = self.unit.names.fresh(param)
                bindings.append(syntax.assign(local, syntax.clone(atom)))
                renames[param] = local
        return bindings, renames

    def _write_back(self, call, tree, renames: dict) -> list:
        """`w = out` after the body, for each parameter `out` the callee updates with `out *= ...`:
        the caller's array changes, as numpy's in-place update changes it. Kept only where the
        argument is an array (`in_place_write_back`); a float parameter's update stays local."""
        arguments = self._arguments(call, tree)
        statements = []
        for param in sorted(updated_in_place(tree)):
            atom = arguments[param]
            if isinstance(atom, gast.Name):
                back = syntax.assign(atom.id, syntax.name(renames[param]))
                back.srcgrad_augmented = True   # to the caller, an in-place update of its array
                back.srcgrad_write_back = True
                statements.append(back)
        return statements

    def _arguments(self, call, tree) -> dict:
        """Parameter name -> the caller's atom (positional, keyword or default)."""
        signature = inspect.signature(call.srcgrad_user)
        try:
            bound = signature.bind(*call.args, **{k.arg: k.value for k in call.keywords})
        except TypeError as exc:
            raise UnsupportedSyntaxError(f"a call to `{call.srcgrad_user.__qualname__}`: {exc}",
                                         self.parsed.location(call), "Pass one value per parameter.") from None
        arguments = {}
        for param in signature.parameters.values():
            if param.name in bound.arguments:
                arguments[param.name] = bound.arguments[param.name]
            elif isinstance(param.default, (int, float, bool)) or param.default is None:
                arguments[param.name] = syntax.const(param.default)
            else:
                raise UnsupportedSyntaxError(
                    f"the default value of `{param.name}` in `{call.srcgrad_user.__qualname__}`",
                    self.parsed.location(call), "Pass it explicitly; only number defaults are supported.")
        return arguments


def _calls_per_callee(tree: gast.FunctionDef) -> dict:
    """User function -> how many calls to it `tree` writes."""
    counts: dict = {}
    for node in syntax.walk(tree):
        user = getattr(node, "srcgrad_user", None) if isinstance(node, gast.Call) else None
        if user is not None:
            counts[user] = counts.get(user, 0) + 1
    return counts


def _module_level_names(resolved) -> set:
    return set(resolved.user_calls) | set(resolved.bound) | set(resolved.global_paths)


def _user_call(stmt):
    """(call, target) when `stmt` is `f(...)` or `target = f(...)` for a user function f."""
    if isinstance(stmt, gast.Expr) and getattr(stmt.value, "srcgrad_user", None) is not None:
        return stmt.value, None
    if isinstance(stmt, gast.Assign) and getattr(stmt.value, "srcgrad_user", None) is not None:
        return stmt.value, stmt.targets[0]
    return None, None


def drop_scalar_write_backs(tree: gast.FunctionDef, kinds: dict) -> bool:
    """Remove the write-backs (`w = out`, see `_write_back`) of parameters that hold numbers for
    this signature: `p += 1.0` in the callee leaves the caller's float alone. True if any went."""
    dropped = False

    def block(stmts: list) -> list:
        nonlocal dropped
        kept = []
        for stmt in stmts:
            for child in syntax.child_blocks(stmt):
                child[:] = block(child)
            if getattr(stmt, "srcgrad_write_back", False) and not K.is_array(kinds.get(stmt.targets[0].id)) \
                    and kinds.get(stmt.targets[0].id) != K.UNKNOWN:
                dropped = True
                continue
            kept.append(stmt)
        return kept

    tree.body[:] = block(tree.body)
    return dropped
