"""Arrays an iteration makes that the reverse sweep reads back from a tape instead of replaying.

An iteration that allocates a 1-D float array (a centred point, a matrix-vector product into a new
vector, a Runge-Kutta stage) and whose adjoint reads its elements can either replay what computes
it, or copy it once to a flat tape (`pushed_row`) in the forward run and read it back (`row_at`, a
view) after the replay, which dead-code elimination then empties of that work. Each array kept
this way saves, by the estimate of `estimated_work`, more replayed work than its copy costs
(`worth_keeping`); arrays whose replay is cheap are replayed as before. `RowKeeping`, mixed into
ReverseTransform, makes that choice per loop; reverse_loops.py writes the copies and the reads.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import bound_names, eliminate_dead_code, mutated_arrays, value_reads
from .common import allocates, kept_as_tape
from .peephole import drop_undone_writes, drop_unneeded_saves

NOMINAL_TRIPS = 8   # a loop's trip count in the estimate: nests cost more than straight code


class RowKeeping:
    """The rows half of ReverseTransform (mixed in): which arrays a loop's reverse reads back."""

    def _forward_runs_anyway(self, loop, carried: set, stored: list, restored: dict, faint: set) -> bool:
        """Whether the loop's forward run stays in the derivative without kept arrays: it records
        something, or code outside it reads what it computes. Otherwise its reverse alone replays
        each iteration once, and copies there would add work, not save it."""
        if carried or stored or restored:
            return True
        outputs = (bound_names(loop) | mutated_arrays(loop)) - faint
        inside = {id(n) for n in syntax.walk(loop)}
        return any(isinstance(n, gast.Name) and n.id in outputs and id(n) not in inside for n in syntax.walk(self.fn))

    def _with_rows(self, loop, adjoint: list, rows: dict, stored: list, unreplayed: set, position, tape_of):
        """(the arrays read back, the values stored, the reverse iteration's code once dead code is
        out): `rows`, less those whose copy would save less work than it costs;
        none, with `stored` and no code, when no copy pays. With rows, every number the adjoint
        reads is stored too: the replay would otherwise compute from the arrays what the copies save.
        `position`: the iteration's index in a tape; `tape_of(variable)`: (its tape, dtype)."""
        with_numbers = stored + self._numbers_read(loop.body, adjoint, stored, unreplayed)
        estimate = self._replayed(loop.body, {id(s): ("estimated_tape", K.FLOAT, position) for s, _ in with_numbers},
                                  unreplayed)
        rows = self._rows_worth_their_copies(loop, estimate, adjoint,
                                             self._rows_read(loop, estimate, adjoint, rows, position), position)
        if not rows:
            return {}, stored, None
        tapes = {id(s): (*tape_of(var), position) for s, var in with_numbers}
        bindings = row_bindings(rows, self._row_names(loop, rows), position)
        replay = self._replayed(loop.body, tapes, unreplayed) + row_statements(bindings)
        return rows, with_numbers, self._pruned(replay, adjoint)

    def _numbers_read(self, body: list, adjoint: list, stored: list, unreplayed: set) -> list:
        """(statement, variable) for the floats `body` binds once, at its top, that `adjoint` reads
        and that are not stored already."""
        read, done = value_reads(adjoint), {id(s) for s, _ in stored} | unreplayed
        assigned = [v for s in body for v in bound_names(s)]
        return [(s, s.targets[0].id) for s in body
                if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and id(s) not in done
                and s.targets[0].id in read and self.kinds.get(s.targets[0].id) == K.FLOAT
                and assigned.count(s.targets[0].id) == 1 and not isinstance(s.value, gast.Constant)]

    def _rows_read(self, loop, replay: list, adjoint: list, rows: dict, position) -> dict:
        """`rows` less the arrays whose values the reverse iteration does not read once they are read
        back (their shapes alone are: the replay's allocation gives those)."""
        while rows:
            tidied, bindings = self._tidied_with_rows(loop, replay, adjoint, rows, position)
            read = {a: aliases for a, aliases in rows.items() if _values_read_after(tidied, bindings[a][0], {a, *aliases})}
            if len(read) == len(rows):
                return rows
            rows = read
        return rows

    def _rows_worth_their_copies(self, loop, replay: list, adjoint: list, rows: dict, position) -> dict:
        """Drop, one by one, the kept array whose copy saves the least replayed work, while that is
        less than the copy costs."""
        def work(kept: dict) -> int:
            return estimated_work(self._tidied_with_rows(loop, replay, adjoint, kept, position)[0], self.kinds)
        rows = dict(rows)
        while rows:
            total = work(rows)
            savings = {a: work({b: v for b, v in rows.items() if b != a}) - total for a in rows}
            cheapest = min(sorted(savings), key=savings.get)
            if worth_keeping(savings[cheapest]):
                break
            del rows[cheapest]
        return rows

    def _tidied_with_rows(self, loop, replay: list, adjoint: list, rows: dict, position):
        """(a reverse iteration reading `rows` back, as `_tidy` would leave it; the row bindings in
        it), built from copies of `replay` and `adjoint`."""
        bindings = row_bindings(rows, self._row_names(loop, rows), position)
        code = syntax.clone(replay) + row_statements(bindings) + syntax.clone(adjoint)
        return self._as_tidied(loop, code), bindings

    def _as_tidied(self, loop, code: list) -> list:
        """A reverse iteration's code as `_tidy` would leave it, to estimate its work: what stays
        live after it is what the loop shares with the code around it, and the adjoints."""
        outside = syntax.names_in(code) & (self._defined_outside(loop) | set(self.adj.bars.values()))
        code = eliminate_dead_code(code, outside, essential=kept_as_tape, shares=self.shares)
        code = drop_unneeded_saves(drop_undone_writes(self.shares)(code))
        return eliminate_dead_code(code, outside, essential=kept_as_tape, shares=self.shares)

    def _row_groups(self, loop, adjoint) -> dict:
        """Fresh arrays of the iteration its adjoint reads (see row_groups)."""
        return row_groups(loop, self.kinds, self.shares, value_reads(adjoint), self._mentions)

    def _mentions(self, name: str) -> int:
        if "mentions" not in self._tapes:
            counts: dict = {}
            for node in syntax.walk(self.fn):
                if isinstance(node, gast.Name):
                    counts[node.id] = counts.get(node.id, 0) + 1
            self._tapes["mentions"] = counts
        return self._tapes["mentions"].get(name, 0)

    def _row_names(self, loop, rows: dict) -> dict:
        """array -> (its tape of rows, the tape of where each row ends)."""
        return {a: (self._restore_name(loop, a, "rows"), self._restore_name(loop, a, "row_ends")) for a in rows}


def row_groups(loop, kinds: dict, shares: dict, values_read: set[str], mentions) -> dict[str, list[str]]:
    """The 1-D float arrays each iteration of `loop` binds anew, once, at the top of its body, whose
    values `values_read` (the iteration's adjoint) reads: name -> the second names bound to it
    (`Qx = out`). `mentions(name)` counts the name's occurrences in the whole function; an array
    mentioned outside the loop, or sharing memory with another array (a view), is left out."""
    inside = [n.id for n in syntax.walk(loop) if isinstance(n, gast.Name)]
    groups = {}
    for stmt in loop.body:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and _fresh(stmt.value, kinds)):
            continue
        array = stmt.targets[0].id
        if kinds.get(array) != K.array(1):
            continue
        aliases = [s.targets[0].id for s in loop.body if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                   and isinstance(s.value, gast.Name) and s.value.id == array]
        group = {array, *aliases}
        local = all(inside.count(name) == mentions(name) for name in group)
        bound_once = all(sum(name in bound_names(s) for s in syntax.walk(loop) if isinstance(s, gast.stmt)
                             and not syntax.is_loop(s) and not isinstance(s, gast.If)) == 1 for name in group)
        shared = set().union(*(shares.get(name, set()) for name in group)) - group
        if local and bound_once and not shared and group & values_read:
            groups[array] = aliases
    return groups


def _fresh(value, kinds: dict) -> bool:
    """A call that returns a new array, or arithmetic on arrays (which does too)."""
    if allocates(value):
        return True
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        operands = [value.left, value.right] if isinstance(value, gast.BinOp) else [value.operand]
        return any(isinstance(o, gast.Name) and K.is_array(kinds.get(o.id, K.UNKNOWN)) for o in operands)
    return False


def estimated_work(stmts: list, kinds: dict) -> int:
    """A static estimate of what `stmts` cost to run: one per statement, a loop's body
    NOMINAL_TRIPS times, a statement that makes an array (a whole-array operation) as a loop."""
    total = 0
    for stmt in stmts:
        if syntax.is_comment(stmt):
            continue
        if isinstance(stmt, (gast.For, gast.While)):
            total += 1 + NOMINAL_TRIPS * estimated_work(stmt.body, kinds)
        elif isinstance(stmt, gast.If):
            total += 1 + max(estimated_work(stmt.body, kinds), estimated_work(stmt.orelse, kinds))
        elif isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
                and K.is_array(kinds.get(stmt.targets[0].id, K.UNKNOWN)) and isinstance(stmt.value, (gast.Call, gast.BinOp)):
            total += NOMINAL_TRIPS
        else:
            total += 1
    return total


def worth_keeping(saved: int) -> bool:
    """Whether reading an array back, rather than replaying what computes it, saves more estimated
    work than its copy costs. Moving n elements costs about what computing them with a few
    operations each does, so the copy must save a loop nest: a matrix-vector product into the
    array, not an elementwise sum."""
    return saved > NOMINAL_TRIPS * NOMINAL_TRIPS


def row_bindings(groups: dict, names: dict, position) -> dict:
    """array -> [`out = row_at(out_rows, out_row_ends, i)`, `Qx = out` for each second name], where
    `names` gives each array's (tape, ends) names."""
    code = {}
    for array, aliases in sorted(groups.items()):
        rows, ends = names[array]
        code[array] = [syntax.assign(array, syntax.call("row_at", syntax.name(rows), syntax.name(ends), syntax.clone(position)))]
        code[array] += [syntax.assign(alias, syntax.name(array)) for alias in aliases]
    return code


def row_statements(bindings: dict) -> list:
    """The statements of `row_bindings`, in its order."""
    return [stmt for group in bindings.values() for stmt in group]


def row_push(array: str, rows: str, ends: str, position):
    """`out_rows = pushed_row(out_rows, out_row_ends, i, out)`: the iteration's array, copied."""
    return syntax.assign(rows, syntax.call("pushed_row", syntax.name(rows), syntax.name(ends), syntax.clone(position),
                                           syntax.name(array)))


def _values_read_after(code: list, binding, names: set) -> bool:
    """Whether statements after `binding` in `code` read the values of one of `names`."""
    position = next((k for k, stmt in enumerate(code) if stmt is binding), None)
    return position is not None and bool(value_reads(code[position + 1:]) & names)
