"""Loop exits (reverse mode): break, continue and early return become flags.

After this pass the function has one `return`, its last statement; there is no `continue`; and a
loop's only `break` is its last statement, `if exit_loop: break` (marked `srcgrad_loop_exit`).
Statements after a jump run under `if not skip_rest:` (or `if not returned:` outside loops).
The reverse sweep can then replay one loop iteration without jumping out of the replay.
"""
from __future__ import annotations

import gast

from .. import syntax


def lower_exits(parsed, names) -> None:
    fn = parsed.tree
    body = fn.body
    if _returns_only_at_end(body):
        return
    lowering = _Lowering(names)
    result = names.fresh("result")
    lowering.result, lowering.returned = result, names.fresh("returned")
    new_body = [syntax.assign(lowering.returned, syntax.const(False))] + lowering.block(body, loop=None)
    fn.body = new_body + [syntax.return_(syntax.name(result))]


def _returns_only_at_end(body) -> bool:
    inner = [n for n in syntax.statements_in(body[:-1]) if isinstance(n, gast.Return)]
    last = body[-1] if body else None
    jumps = [n for n in syntax.statements_in(body) if isinstance(n, (gast.Break, gast.Continue))]
    return not inner and isinstance(last, gast.Return) and not jumps


def _contains(stmts, types, into_loops=True) -> bool:
    for stmt in stmts:
        if isinstance(stmt, types):
            return True
        if syntax.is_loop(stmt) and not into_loops:
            continue
        if any(_contains(block, types, into_loops) for block in syntax.child_blocks(stmt)):
            return True
    return False


class _Loop:
    def __init__(self, exit_flag, skip_flag):
        self.exit_flag, self.skip_flag = exit_flag, skip_flag


class _Lowering:
    def __init__(self, names):
        self.names = names
        self.result = self.returned = None

    def may_jump(self, stmt, loop) -> bool:
        if isinstance(stmt, (gast.Break, gast.Continue, gast.Return)):
            return True
        if syntax.is_loop(stmt):
            return _contains(stmt.body, gast.Return)
        local_jumps = (gast.Break, gast.Continue) if loop else ()
        return _contains([stmt], (gast.Return,)) or (bool(local_jumps) and _contains([stmt], local_jumps, into_loops=False))

    def guard(self, loop):
        return syntax.name(loop.skip_flag) if loop else syntax.name(self.returned)

    def block(self, stmts, loop) -> list:
        out = []
        for k, stmt in enumerate(stmts):
            if isinstance(stmt, gast.Break):
                return out + [syntax.assign(loop.exit_flag, syntax.const(True)), syntax.assign(loop.skip_flag, syntax.const(True))]
            if isinstance(stmt, gast.Continue):
                return out + [syntax.assign(loop.skip_flag, syntax.const(True))]
            if isinstance(stmt, gast.Return):
                out += self.return_(stmt, loop)
                return out
            jumps = self.may_jump(stmt, loop)
            out.extend(self.stmt(stmt, loop))
            if jumps and stmts[k + 1:]:
                rest = self.block(stmts[k + 1:], loop)
                if rest:
                    # the reverse sweep replays this decision, so it is kept in a name of its own
                    go_on = self.names.fresh("go_on")
                    out.append(syntax.assign(go_on, syntax.not_(self.guard(loop))))
                    out.append(syntax.if_(syntax.name(go_on), rest))
                return out
        return out

    def return_(self, stmt, loop) -> list:
        out = [syntax.assign(self.result, stmt.value), syntax.assign(self.returned, syntax.const(True))]
        if loop:
            out += [syntax.assign(loop.exit_flag, syntax.const(True)), syntax.assign(loop.skip_flag, syntax.const(True))]
        for s in out:
            s.srcgrad_origin = getattr(stmt, "srcgrad_origin", None)
            gast.copy_location(s, stmt)
        return out

    def stmt(self, stmt, loop) -> list:
        if isinstance(stmt, gast.If):
            stmt.body = self.block(stmt.body, loop)
            stmt.orelse = self.block(stmt.orelse, loop)
            return [stmt]
        if syntax.is_loop(stmt):
            return self.loop(stmt, loop)
        return [stmt]

    def loop(self, stmt, outer) -> list:
        has_exit = _contains(stmt.body, (gast.Break, gast.Return), into_loops=False) or _contains(stmt.body, gast.Return)
        has_jump = has_exit or _contains(stmt.body, gast.Continue, into_loops=False)
        if not has_jump:
            stmt.body = self.block(stmt.body, _Loop(None, None))
            return [stmt]
        this = _Loop(self.names.fresh("exit_loop"), self.names.fresh("skip_rest"))
        body = [syntax.assign(this.skip_flag, syntax.const(False))] + self.block(stmt.body, this)
        before = []
        if has_exit:
            exit_test = syntax.if_(syntax.name(this.exit_flag), [gast.Break()])
            exit_test.srcgrad_loop_exit = True
            body.append(exit_test)
            before.append(syntax.assign(this.exit_flag, syntax.const(False)))
        stmt.body = body
        after = []
        if _contains(stmt.body, gast.Return) or self._sets_returned(stmt.body):
            if outer:
                after.append(syntax.if_(syntax.name(self.returned),
                                        [syntax.assign(outer.exit_flag, syntax.const(True)),
                                         syntax.assign(outer.skip_flag, syntax.const(True))]))
        return before + [stmt] + after

    def _sets_returned(self, stmts) -> bool:
        return self.returned in syntax.stored_names(stmts)
