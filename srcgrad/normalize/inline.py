"""Inline: calls to user functions made for their effect on array arguments become the callee's body.

After this pass no statement calls a user function whose work includes writing into arrays the
caller passed it. A call statement (`step(x, k1)`, result discarded) and an assignment from a call
to a function that writes into one of its parameters (or a view of one) are replaced by the
callee's normalized body: its locals renamed apart from the caller's, its parameters bound to the
caller's atoms (so `z[i] = ...` inside the callee writes into the caller's `k1`), and its returns,
all tail returns (the last statement, or the last of each branch of an if/else that is itself last,
so every path ends in one; an `if` whose every path returns counts as an if/else around what follows
it), turned into assignments: to the call's target, or, for several, to one
fresh name the target is assigned from after the body. Both modes already differentiate writes into
a function's own arrays, so subroutines written the Fortran way need nothing else. Callees with tail
returns only are inlined as well when they are small (at most SMALL_CALLEE statements) or when the
caller calls them from one place (`return solve(x, s)[-1]`, a model's `predict` in a time loop);
other user calls stay calls, each with its own generated derivative.
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
from .ranks import atom_of, rename_rank_checks

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
        """Calls for their effect on arrays must be inlined. Callees whose returns are all tail returns
        are inlined too when small or called from one place: in reverse mode a call that stays a call
        runs the callee's forward sweep twice, once for its value and again inside its adjoint
        (GMM: 8-13x -> 5-8x the primal; GradBench ode, whose gradient wraps the solver, 5.3x ->
        3.1x; lstm, whose time loop calls `predict`, 8.6x -> 5.4x). Inlining the one call grows no
        code: the callee's own derivative is then not needed."""
        if is_derivative(call.srcgrad_user) or hasattr(call.srcgrad_user, "srcgrad_by_rank"):
            return False   # its code differs per argument kinds, known later (a derivative srcgrad made, np.pad)
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
                       and not (isinstance(target, gast.Name) and any(isinstance(r.value, gast.Tuple) for r in returns)))
        return (statements <= SMALL_CALLEE or called_once) and _tail_returns(_early_returns_nested(syntax.clone(tree.body))) is not None

    def _callee(self, call):
        return self.normalized_callee(call.srcgrad_user)

    def inline(self, stmt, call, target) -> list:
        callee = self._callee(call)
        tree = callee.parsed.tree
        body = _early_returns_nested(syntax.clone(tree.body))
        tails = self._checked_tails(body, call, callee)
        renames = self.unit.resolved.adopt(callee.resolved, self.unit.names)
        bindings, renames = self._bind_parameters(call, tree, renames)
        callee_names = syntax.names_in(body)
        outside = set(renames) | self.module_names | _module_level_names(callee.resolved)
        for name in sorted(callee_names - outside):
            renames[name] = self.unit.names.fresh(name)
        syntax.rename(body, renames)
        rename_rank_checks(body, renames)
        result = self._returned(body, tails, call, target, callee)
        written_back = self._write_back(call, tree, renames)
        note = syntax.comment(f"inlined: {gast.unparse(call).strip()}")
        if getattr(call, "srcgrad_ranked", None) is not None:   # the ranks it serves, checked once kinds are known
            note.srcgrad_rank_check = (call.srcgrad_ranked, [atom_of(a) for a in call.args], call)
            call.srcgrad_parsed = getattr(call, "srcgrad_parsed", None) or self.parsed   # its file, wherever it is inlined next
        inlined = [note] + bindings + body + written_back + result
        for new in inlined:
            new.srcgrad_origin = getattr(new, "srcgrad_origin", None) or getattr(stmt, "srcgrad_origin", "")
        _mark_source(body, callee.parsed)
        return inlined

    def _checked_tails(self, body: list, call, callee) -> list:
        """The callee's returns, all tail returns (see `_tail_returns`); none if it has no return."""
        tails = _tail_returns(body)
        if tails is None and any(isinstance(n, gast.Return) for s in body for n in syntax.walk(s)):
            raise UnsupportedSyntaxError(
                f"a call to `{callee.parsed.name}`, which writes into an array argument and returns early",
                self.parsed.location(call),
                f"srcgrad inlines such calls; return from `{callee.parsed.name}` only at its end, or at the end "
                "of each branch of an if/else at its end (an if/else around the rest, a flag for loops).")
        return tails or []

    def _returned(self, body: list, tails: list, call, target, callee) -> list:
        """Take the callee's tail returns off `body`; the statements that then bind the call's target."""
        if target is None or not self._takes_value(tails, call, target, callee):
            if tails:
                _replace_tails(body, lambda value: [])   # the values are atoms: dropping them drops no work
            return [] if target is None else [syntax.assign(target, syntax.const(None))]
        if len(tails) == 1 and tails[0] is body[-1]:   # one return, at the end: no name in between
            body.pop()
            return self._assign_result(target, tails[0].value)
        returned = self.unit.names.fresh("returned")   # each path's value, for the target after the body
        _replace_tails(body, lambda value: [syntax.assign(returned, value)])
        return [syntax.assign(target, syntax.name(returned))]

    def _takes_value(self, tails: list, call, target, callee) -> bool:
        """Whether every path returns a value for the target; one never read may take None instead."""
        if tails and not any(_returns_none(r) for r in tails):
            return True
        if isinstance(target, gast.Name) and target.id not in syntax.loaded_names(self.parsed.tree):
            return False   # `u = step(x)`, u never read
        some = "" if all(_returns_none(r) for r in tails) else " on some path"
        raise UnsupportedSyntaxError(f"the value of a call to `{callee.parsed.name}`, which returns nothing{some}",
                                     self.parsed.location(call), "Call it as a statement.")

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
                if isinstance(atom, gast.Tuple) and getattr(call, "srcgrad_composite", None):
                    bindings[-1].srcgrad_sequence_for = call.srcgrad_composite   # `sum([a, b])`: made an array
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


def _tail_returns(body: list) -> list | None:
    """The returns of `body` if every one is in tail position (the last statement, or the last of
    each branch of an if/else that is itself last) and every path ends in one; else None. An if
    without an else, a branch ending otherwise, or a return in a loop could fall through to code
    after the call: an assignment in its place cannot stop there."""
    last = body[-1] if body else None
    if isinstance(last, gast.Return):
        tails = [last]
    elif isinstance(last, gast.If):
        then, orelse = _tail_returns(last.body), _tail_returns(last.orelse)
        tails = then + orelse if then is not None and orelse is not None else None
    else:
        tails = None
    earlier = any(isinstance(n, gast.Return) for s in body[:-1] for n in syntax.walk(s))
    return None if earlier else tails


def _early_returns_nested(body: list) -> list:
    """`body` (changed in place) with each `if c: ... return a` that every path leaves by a return
    given the statements after it as its else: `if c: return a` / `rest` is `if c: return a` /
    `else: rest`, whose returns are then tail returns (a guard at a callee's top, `if n < eps:
    return np.eye(3)`, no longer keeps it a call)."""
    for k, stmt in enumerate(body):
        for block in syntax.child_blocks(stmt):
            _early_returns_nested(block)
        if (isinstance(stmt, gast.If) and not stmt.orelse and k < len(body) - 1
                and _tail_returns(stmt.body) is not None):
            stmt.orelse = _early_returns_nested(body[k + 1:])
            del body[k + 1:]
            break
    return body


def _replace_tails(body: list, statements) -> None:
    """Replace each tail return of `body` (see `_tail_returns`) with `statements(its value)`."""
    last = body[-1]
    if isinstance(last, gast.Return):
        body[-1:] = statements(last.value)
        return
    for branch in (last.body, last.orelse):
        _replace_tails(branch, statements)
        if not branch:
            branch.append(gast.Pass())   # a branch that only returned


def _returns_none(ret: gast.Return) -> bool:
    return ret.value is None or isinstance(ret.value, gast.Constant) and ret.value.value is None


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


def drop_scalar_write_backs(tree: gast.FunctionDef, kinds: dict, infer) -> bool:
    """Remove the write-backs (`w = out`, see `_write_back`) of parameters that hold numbers for
    this signature: `p += 1.0` in the callee leaves the caller's float alone. True if any went.

    A name is a number where `kinds` says so, or where the kinds `infer(tree)` gives for the tree
    without its write-backs do: the write-back binds the argument to the callee's updated value,
    and an update of unknown kind (np.where's result, say) would otherwise make a float argument's
    kind unknown too, keep its write-back, and change the caller's float (907:83:0)."""
    if not any(getattr(n, "srcgrad_write_back", False) for n in syntax.walk(tree)):
        return False
    bare = syntax.clone(tree)
    _without_write_backs(bare, lambda stmt: True)
    before = infer(bare)

    def is_number(stmt) -> bool:
        name = stmt.targets[0].id
        return any(not K.is_array(k.get(name)) and k.get(name, K.UNKNOWN) != K.UNKNOWN for k in (kinds, before))

    return _without_write_backs(tree, is_number)


def _without_write_backs(tree: gast.FunctionDef, dropped) -> bool:
    """Remove the write-backs for which `dropped(stmt)` holds; True if any went."""
    removed = []

    def expand(stmt) -> list:
        if getattr(stmt, "srcgrad_write_back", False) and dropped(stmt):
            removed.append(stmt)
            return []
        return [stmt]

    syntax.expand_statements(tree.body, expand)
    return bool(removed)


def _mark_source(body: list, parsed) -> None:
    """Tag the inlined statements' located nodes with the function they come from, so an error
    in them names that function's file and line, not the caller's file at the callee's line."""
    for node in syntax.nodes_in(body):
        if getattr(node, "lineno", None) is not None and getattr(node, "srcgrad_parsed", None) is None:
            node.srcgrad_parsed = parsed
