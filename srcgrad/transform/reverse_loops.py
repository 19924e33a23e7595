"""Loops in reverse mode: what each iteration records, and the backward walk over iterations.

A loop's plan names its checkpoint (loop-carried values the iteration's adjoint reads), the arrays
whose element writes it logs, and the transcendental results it stores. Its forward form records
these per iteration; its reverse form restores them, replays the iteration, and runs its adjoint,
walking the iterations backwards unless their adjoints commute. A loop nest in a top-level loop's
body is taped by the forward sweep itself, with what it leaves and the stored values of its own
element loops, so that the outer loop's reverse iterations read it back instead of replaying it.
"""
from __future__ import annotations

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.aliasing import BEFORE, element_writes
from ..analyze.dataflow import (bound_names, eliminate_dead_code, mutated_arrays, only_summed, sum_into, upward_exposed,
                                value_reads)
from ..errors import UnsupportedSyntaxError
from ..rules.template import simplify
from .array_restore import (DISJOINT, DISJOINT_WRITES, LOG, SNAPSHOT, disjoint_position, entry_copy, overwritten_before_read,
                            restore_own_part, snapshot_allocation, snapshot_record, snapshot_restore, writes_in_bulk,
                            written_part, written_position)
from .common import allocates, backward_range, is_expensive, kept_as_tape, on_tape, scratch_buffer
from .kept_rows import row_bindings, row_push, row_statements
from .peephole import drop_undone_writes
from .write_index import index_pattern, rebuild_index


def _counted(loop) -> bool:
    """A `for` over a range of constant step that runs to its end: its trip count sizes tapes up front."""
    plan = _LoopPlan(loop, [], {}, has_exit=bool(loop.body) and is_loop_exit(loop.body[-1]))
    return plan.is_for and not plan.has_exit and plan.constant_step is not None


def is_loop_exit(stmt) -> bool:
    return getattr(stmt, "srcgrad_loop_exit", False)


class _LoopPlan:
    """What one loop records per iteration, and how its reverse sweep counts iterations."""

    def __init__(self, loop, checkpoint: list, restored: dict, has_exit: bool):
        self.loop, self.checkpoint, self.has_exit = loop, checkpoint, has_exit
        self.restored = restored   # array -> how it is restored (see array_restore.py)
        self.logged = sorted(a for a, how in restored.items() if how == LOG)
        self.snapshots = sorted(a for a, how in restored.items() if how == SNAPSHOT)
        self.disjoint = sorted(a for a, how in restored.items() if how in (DISJOINT, DISJOINT_WRITES))
        self.read_across = any(how == DISJOINT_WRITES for how in restored.values())   # see array_restore.py
        self.rows: dict = {}   # arrays each iteration makes, read back from a tape (kept_rows.py)
        self.forward_taped: dict = {}   # inner loops taped in the forward sweep: id -> names they leave

    @property
    def is_for(self) -> bool:
        return isinstance(self.loop, gast.For)

    @property
    def range_args(self) -> list:
        return list(self.loop.iter.args)

    @property
    def unit_step(self) -> bool:
        return self.constant_step == 1

    @property
    def constant_step(self):
        """The range's step when it is a nonzero integer constant (`range(0, n, 2)`), else None."""
        step = syntax.number(self.step)
        return step if type(step) is int and step != 0 else None

    @property
    def start(self):
        args = self.range_args
        return args[0] if len(args) > 1 else syntax.const(0)

    @property
    def stop(self):
        args = self.range_args
        return args[1] if len(args) > 1 else args[0]

    @property
    def step(self):
        args = self.range_args
        return args[2] if len(args) > 2 else syntax.const(1)


class LoopReversal:
    """The loop half of ReverseTransform (mixed in): plans, checkpointed loops, reverse iterations."""

    def plan(self, loop) -> _LoopPlan:
        if id(loop) in self._plans:
            return self._plans[id(loop)]
        body = loop.body
        has_exit = bool(body) and is_loop_exit(body[-1])
        restored = {a: self._restore_strategy(loop, a) for a in self._restored_arrays(loop)}
        adjoint = self.reverse_block(body)
        faint = self._faint_sums(loop)
        forward_taped = self._forward_taped_loops(loop, adjoint, restored, faint)
        if forward_taped:
            self._forward_taped.update(forward_taped)
            adjoint = self.reverse_block(body)   # their reverse now pops tapes the forward sweep filled
        stored = self._expensive_values(body, upward_exposed(adjoint), nested=not self._is_top(loop))
        unreplayed = {id(s) for s in syntax.walk(loop) if isinstance(s, gast.stmt) and sum_into(s) in faint}
        replay = self._replayed(body, {id(s): None for s, _ in stored}, unreplayed)
        rows = self._row_groups(loop, adjoint) if self._may_keep_rows(loop) else {}
        untouched = syntax.clone(adjoint) if rows else None   # dead-code elimination prunes in place
        carried = self._carried(loop, self._pruned(replay, adjoint), restored, faint)
        if rows and self._forward_runs_anyway(loop, carried, stored, restored, faint):
            bare = _LoopPlan(loop, [], {}, False)
            rows, stored, with_rows = self._with_rows(loop, untouched, rows, stored, unreplayed, self._position(bare),
                                                      lambda var: self._stored_tape(bare, var))
            if rows:
                carried = self._carried(loop, with_rows, restored, faint)
        else:
            rows = {}
        inductions = self._inductions(loop, carried)
        plan = _LoopPlan(loop, sorted(carried - set(inductions)), restored, has_exit)
        plan.stored, plan.unreplayed, plan.inductions, plan.rows = stored, unreplayed, inductions, rows
        plan.forward_taped = forward_taped
        self._plans[id(loop)] = plan
        return plan

    def _replayed(self, body: list, replaying: dict, unreplayed: set) -> list:
        """The body as a reverse iteration replays it: `replaying` maps statements to the tape their
        value is read from (None: recomputed), `unreplayed` names the sums it leaves out."""
        outer, self._replaying = self._replaying, {**self._replaying, **replaying}
        outer_unreplayed, self._unreplayed = self._unreplayed, self._unreplayed | unreplayed
        replay = self.forward_block(body, region=True)
        self._replaying, self._unreplayed = outer, outer_unreplayed
        return replay

    def _pruned(self, replay: list, adjoint: list) -> list:
        """A reverse iteration without the replayed statements its adjoint does not need."""
        keep = {id(n) for s in adjoint for n in syntax.walk(s)}
        return eliminate_dead_code(replay + adjoint, set(), shares=self.shares,
                                   essential=lambda s: id(s) in keep or kept_as_tape(s))

    def _carried(self, loop, code: list, restored: dict, faint: set) -> set:
        """Values from before an iteration that its reverse (`code`) reads: they are recorded per
        iteration. A restored array keeps its object, whose contents its strategy restores; one
        the loop also rebinds needs its object recorded per iteration too."""
        index = {loop.target.id} if isinstance(loop, gast.For) else set()
        return (upward_exposed(code) & bound_names(loop) & self._defined_outside(loop)) - index - \
            (set(restored) - bound_names(loop)) - faint

    def _may_keep_rows(self, loop) -> bool:
        """Whether arrays the loop's iterations make may be read back from a tape (kept_rows.py): in
        a counted loop nested in another, where one tape serves every run of the loop and stays in
        cache. A loop that runs once would copy into new memory the size of all its iterations
        (GradBench ode: 2.5 times slower than replaying its stages). Not where the tape is
        checkpointed or split over threads, whose iterations run apart from the forward run."""
        if self._is_top(loop) or not _counted(loop) or self.memory or getattr(loop, "srcgrad_checkpoint", None) is not None:
            return False
        return not any(getattr(outer, "srcgrad_parallel", False) for outer in self._enclosing_loops(loop) + [loop])

    def _inductions(self, loop, carried: set) -> dict:
        """Integers of `carried` that each iteration of a unit-step `for` steps by a constant
        (`idx = idx + 1`, unconditionally, in the body itself): name -> step. The reverse sweep
        computes them from the loop index and their value at the loop's entry rather than taping
        them every iteration (GradBench gmm: the packed index of a triangular matrix). Left taped
        under a memory budget, whose checkpointing snapshots the loop's state as it is."""
        if not (isinstance(loop, gast.For) and _LoopPlan(loop, [], {}, False).unit_step) or self.memory \
                or getattr(loop, "srcgrad_checkpoint", None) is not None or getattr(loop, "srcgrad_parallel", False):
            return {}
        found = {}
        for name in sorted(v for v in carried if self.kinds.get(v) == K.INT):
            bindings = [n for n in syntax.walk(gast.Module(body=loop.body, type_ignores=[]))
                        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store) and n.id == name]
            step = next((st for st in (_constant_step(stmt, name) for stmt in loop.body) if st is not None), None)
            if step is not None and len(bindings) == 1:
                found[name] = step
        return found

    def _faint_sums(self, loop) -> set[str]:
        """Floats the loop only adds to (`energy += ...`, at any depth): no adjoint reads them, so
        the reverse sweep neither records, restores nor replays them, and they keep the value the
        forward sweep left (what the function returns, when it returns them)."""
        index = {loop.target.id} if isinstance(loop, gast.For) else set()
        candidates = (bound_names(loop) & self._defined_outside(loop)) - index
        return {v for v in candidates if self.kinds.get(v) == K.FLOAT and only_summed(loop, v)}

    def _restored_arrays(self, loop) -> set[str]:
        """Arrays from before an iteration that it writes into and that are read somewhere."""
        key = ("restored", id(loop))
        if key not in self._tapes:
            scratch = {a for outer in self._enclosing_loops(loop) for a in self._scratch_arrays(outer)
                       if self._first_to_touch(loop, outer, a)}
            self._tapes[key] = {a for a in (mutated_arrays(loop) & self.read_arrays) - self._fresh_each_iteration(loop)
                                if not self._filled_fresh(a, loop) and not self._work_array(a, loop)} - scratch
        return self._tapes[key]

    def _work_array(self, array: str, loop) -> bool:
        """True for a scratch array allocated before the loop (nothing reads it in between) that every
        iteration overwrites whole before reading it: no iteration needs what an earlier one left."""
        if array in bound_names(loop):
            return False
        block, index = self._position_of(loop)
        allocation = next((s for s in reversed(block[:index]) if array in syntax.names_in(s)), None)
        if not (isinstance(allocation, gast.Assign) and isinstance(allocation.targets[0], gast.Name)
                and getattr(getattr(allocation.value, "srcgrad_rule", None), "shape_from", "") == "sizes"
                and K.ndim(self.kinds.get(array)) == 1):
            return False
        size = allocation.value.args[0] if allocation.value.args else None
        if isinstance(size, gast.Name) and self._definitions(size.id) <= 1:
            length = size.id
        elif isinstance(size, gast.Constant) and isinstance(size.value, int):
            length = size.value
        else:
            return False
        return overwritten_before_read(loop.body, array, length)

    def _definitions(self, name: str) -> int:
        stores = sum(1 for n in syntax.walk(self.fn) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store) and n.id == name)
        return stores + (name in self.params)

    def _scratch_arrays(self, loop) -> list[str]:
        """Work arrays of `loop` (see _work_array): nothing needs what one iteration left in them."""
        return [a for a in sorted(mutated_arrays(loop) & self.read_arrays) if self._work_array(a, loop)]

    @staticmethod
    def _first_to_touch(loop, outer, array: str) -> bool:
        """True when, in an iteration of `outer` (of which `array` is a work array), the statement
        holding `loop` is the first to mention `array` and reads none of its values: what `loop`
        overwrites is what the previous iteration left, which nothing reads."""
        for stmt in outer.body:
            if any(n is loop for n in syntax.walk(stmt)):
                return array not in values_read([stmt])
            if array in syntax.names_in(stmt):
                return False
        return False

    def _restore_strategy(self, loop, array: str) -> str:
        key = ("strategy", id(loop), array)
        if key not in self._tapes:
            self._tapes[key] = self._choose_strategy(loop, array)
        return self._tapes[key]

    def _choose_strategy(self, loop, array: str) -> str:
        if array in bound_names(loop):
            return LOG
        for outer in self._enclosing_loops(loop):   # an outer loop's undo pops what this loop pushes
            if array in self._restored_arrays(outer) and self._restore_strategy(outer, array) == LOG:
                return LOG
        if disjoint_position(loop, array) is not None:
            return DISJOINT
        # a log undoes writes of one index shape; a boundary row beside a stencil's slice
        # (`u[1:-1] = ...; u[0] = u[1]`) is snapshot too: in a loop of unknown trip count (a while
        # loop, a break) on a list of copies, else on a tape the trip count sizes
        mixed = len(self._write_patterns(array, loop)) > 1
        # writes only at the loop's own index, reads anywhere (an in-place sweep, `u[i] = u[i] - c *
        # (u[i] - u[i - 1])`, a row from the row before): one memcpy of what the writes can reach
        # (the row they fix, `np.copy(u[i])`, else the array) instead of a snapshot per iteration or
        # a push and pop of each element and its index. A loop writing a few elements of a much
        # larger array copies more than it would log; loops over an array's own range are the rule.
        if (mixed or _counted(loop)) and written_position(loop, array) is not None:
            return DISJOINT_WRITES
        if mixed or (writes_in_bulk(loop, array) and _counted(loop)):
            return SNAPSHOT
        return LOG

    def _enclosing_loops(self, loop) -> list:
        def search(stmts, outer):
            for stmt in stmts:
                if stmt is loop:
                    return outer
                inner = outer + [stmt] if syntax.is_loop(stmt) else outer
                for block in syntax.child_blocks(stmt):
                    found = search(block, inner)
                    if found is not None:
                        return found
            return None
        return search(self.fn.body, []) or []

    def _fresh_each_iteration(self, loop) -> set[str]:
        """Arrays the loop writes only after binding them anew in the same iteration: their writes go
        to new objects, so nothing from before the iteration needs restoring. An array written both
        into its object from before the iteration and into one bound inside is refused: one undo
        log by name could not tell the two apart."""
        before, inside = set(), set()
        for write, definitions in element_writes(loop.body, {}):
            array = syntax.base_name(write.targets[0])
            (before if BEFORE in definitions else inside).add(array)
            if BEFORE in definitions and len(definitions) > 1:
                raise UnsupportedSyntaxError(
                    f"a write into `{array}`, which the loop also binds to a new array, in reverse mode",
                    self.adj.location(write), f"Use a different name for the array the loop creates, so "
                    f"`{array}` always means one array when it is written.")
        return inside - before

    def _filled_fresh(self, array: str, loop) -> bool:
        """True when the loop only writes into an array allocated just before it: no adjoint that
        runs after this loop's reverse can see that array, so there is nothing to restore."""
        if array in values_read(loop.body):
            return False
        block, index = self._position_of(loop)
        for stmt in reversed(block[:index]):
            if array not in syntax.names_in(stmt):
                continue
            return (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                    and stmt.targets[0].id == array and allocates(stmt.value))   # 21:4006:0: not one that reads it
        return False

    def _position_of(self, loop):
        """(the statement list holding `loop`, its index there)."""
        def search(stmts):
            for k, stmt in enumerate(stmts):
                if stmt is loop:
                    return stmts, k
                for block in syntax.child_blocks(stmt):
                    found = search(block)
                    if found:
                        return found
            return None
        return search(self.fn.body) or ([], 0)

    def _expensive_values(self, body, adjoint_reads, nested: bool) -> list:
        """(statement, variable) for transcendental results the body's adjoint reads: the forward
        sweep stores these per iteration instead of the replay recomputing them. In nested loops,
        whose tape is reused and stays in cache, quotients are stored too."""
        assigned = [v for s in body for v in bound_names(s)]
        stored = []
        for stmt in body:
            if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
                continue
            var, value = stmt.targets[0].id, stmt.value
            rule = getattr(value, "srcgrad_rule", None) if isinstance(value, gast.Call) else None
            expensive = (rule is not None and is_expensive(rule)) or (
                nested and isinstance(value, gast.BinOp) and isinstance(value.op, gast.Div))
            if (expensive and var in adjoint_reads
                    and self.kinds.get(var) == K.FLOAT and assigned.count(var) == 1):
                stored.append((stmt, var))
        return stored

    def _defined_outside(self, loop) -> set[str]:
        """Variables with a value before the loop starts: only those can be carried into it."""
        outside = set(self.params)

        def visit(stmts):
            for stmt in stmts:
                if stmt is loop:
                    continue
                if isinstance(stmt, gast.Assign):
                    outside.update(bound_names(stmt))
                elif isinstance(stmt, gast.For):
                    outside.add(stmt.target.id)
                for block in syntax.child_blocks(stmt):
                    visit(block)
        visit(self.fn.body)
        return outside

    def _preallocated(self, plan) -> bool:
        """Whether the loop's tapes are arrays indexed by iteration: not for a loop taped in the forward
        sweep inside another, whose tapes hold every run of it (lists, popped in reverse order)."""
        return _counted(plan.loop) and id(plan.loop) not in self._forward_taped

    # ----- inner loops taped in the forward sweep ------------------------------------------------
    def _forward_taped_loops(self, loop, adjoint: list, restored: dict, faint: set) -> dict:
        """Loops in the body of a top-level loop whose forward run, with its tapes, the forward sweep
        makes instead of each reverse iteration's replay, and what each leaves that the reverse reads
        (taped after it): inner id -> names. Without this, every inner iteration runs three times,
        in the forward sweep, the outer replay and its own replay (GradBench lstm: the layers of a
        time step). A loop qualifies when its tapes are lists (no element logs, snapshots, kept rows
        or stored values sized per run), what it leaves can be kept by reference, and it holds a loop
        itself, so that its replay is a loop nest, or it leaves arrays the adjoint reads (below)."""
        if not self._is_top(loop) or self.memory or getattr(loop, "srcgrad_checkpoint", None) is not None \
                or getattr(loop, "srcgrad_parallel", False):
            return {}   # (a checkpointed loop: `checkpointing` asks this loop's plan whether it is counted)
        logged = {a for a, how in restored.items() if how == LOG}
        adjoint_reads = set()
        if any(isinstance(inner, gast.For) and not _holds_a_loop(inner) for inner in loop.body):
            # values of this iteration's: not a write's undo, not a name's value from before the iteration
            adjoint_reads = value_reads(drop_undone_writes(self.shares)(syntax.clone(adjoint))) - upward_exposed(loop.body)
        found = {}
        for k, inner in enumerate(loop.body):
            if not isinstance(inner, gast.For) or getattr(inner, "srcgrad_parallel", False) \
                    or getattr(inner, "srcgrad_checkpoint", None) is not None or mutated_arrays(inner) & logged:
                continue
            nest = _holds_a_loop(inner)
            if not (nest or mutated_arrays(inner) & adjoint_reads):
                continue
            taped = self.plan(inner)
            if taped.has_exit or taped.restored or taped.rows or taped.inductions or taped.stored:
                continue
            outputs = self._kept_outputs(loop, k, adjoint, faint)
            if outputs is not None and (nest or self._arrays_the_adjoint_reads(outputs, adjoint_reads)):
                found[id(inner)] = outputs
                self._keep_runs_of_children(inner)
        return found

    def _arrays_the_adjoint_reads(self, outputs: list, adjoint_reads: set) -> bool:
        """Whether an elementwise loop leaves arrays, each of whose values the iteration's adjoint
        reads (RK4's stage inputs `y + h * k`): keeping them by reference spares their replay and
        that of what only they need, where a loop leaving arrays only the replay reads would trade a
        cheap elementwise replay for a push and a pop."""
        arrays = [name for name in outputs if K.is_array(self.kinds.get(name, K.UNKNOWN))]
        return bool(arrays) and set(arrays) <= adjoint_reads

    def _keep_runs_of_children(self, inner) -> None:
        """The loops in a forward-taped loop's body whose stored values (exponentials, quotients)
        the forward sweep keeps for every run, on one flat tape each, instead of the reverse
        iteration's replay computing them again: that replay then reads them back."""
        for child in inner.body:
            if not (isinstance(child, gast.For) and _counted(child)) or getattr(child, "srcgrad_parallel", False) \
                    or getattr(child, "srcgrad_checkpoint", None) is not None:
                continue
            plan = self.plan(child)
            if plan.stored and not plan.rows:
                index = child.target.id
                self._kept_runs[id(child)] = (self.names.fresh(f"{index}_base"), self.names.fresh(f"{index}_filled"),
                                              self.names.fresh(f"{index}_bases"))

    def _kept_outputs(self, loop, k: int, adjoint: list, faint: set):
        """The names `loop.body[k]` (a loop) binds or writes into that the rest of a reverse iteration
        reads, or None when one of them cannot be kept by reference until then."""
        inner = loop.body[k]
        read = upward_exposed(syntax.clone(loop.body[k + 1:]) + syntax.clone(adjoint)) | self._saved_from(loop.body, k + 1)
        left = (bound_names(inner) | mutated_arrays(inner)) - {inner.target.id} - faint
        bound_before = bound_names(loop.body[:k]) | self._defined_outside(loop)
        outputs = sorted(left & read)
        for name in outputs:
            kind = self.kinds.get(name, K.UNKNOWN)
            if name not in bound_before or isinstance(kind, tuple) or kind == K.UNKNOWN:
                return None
            if K.is_array(kind) and not self._kept_by_reference(loop, k, name):
                return None
        return outputs

    def _saved_from(self, body: list, start: int) -> set[str]:
        """The names whose value on reaching `body[start]` the replay of the rest of `body` saves
        before rebinding them (`h_saved = h` before `h = x[:4]`, for the shape of h's adjoint):
        reads that neither the primal code nor the adjoint shows."""
        saves, bound, found = self.saves(body), set(), set()
        for stmt in body[start:]:
            found |= set(saves.get(id(stmt), ())) - bound
            bound |= bound_names(stmt)
        return found

    def _kept_by_reference(self, loop, k: int, array: str) -> bool:
        """Whether the array `array` names after `loop.body[k]` keeps its values until the reverse
        iteration reads them: nothing writes into it (or into an array it may share memory with)
        later in the iteration, and what the loop writes into at all is made anew each iteration."""
        group = {array} | set(self.shares.get(array, ()))
        written = group & mutated_arrays(loop)
        return not (group & mutated_arrays(loop.body[k + 1:])) and written <= self._fresh_each_iteration(loop)

    def _output_tape(self, inner, name: str) -> str:
        key = ("output", id(inner), name)
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh(f"{name}_after_tape")
            self._hoist_once(self._tapes[key], gast.List(elts=[], ctx=gast.Load()))
        return self._tapes[key]

    def taped_in_forward_sweep(self, inner) -> list:
        """A forward-taped inner loop in the forward sweep: its taped form, then what it leaves."""
        pushes = []
        for name in self._forward_taped[id(inner)]:
            tape = self._output_tape(inner, name)
            pushes.append(self._tape_write(tape, None, None, syntax.name(name)))
            if not K.is_scalar(self.kinds.get(name, K.UNKNOWN)):
                self._share(name, tape)
        return self._taped_loop(inner) + pushes

    def outputs_restored(self, inner) -> list:
        """A forward-taped inner loop in a replay: what it left, read back instead of run again."""
        comment = syntax.comment("the loop's results, kept by the forward sweep, which also taped its iterations")
        return [comment] + [on_tape(syntax.assign(name, self._tape_read(self._output_tape(inner, name), None, None)))
                            for name in self._forward_taped[id(inner)]]

    def _checkpoint_tapes(self, plan) -> list:
        """(variable, tape name, dtype or None for a list) for each checkpointed value."""
        entries = [(v, K.INT if self.kinds.get(v) in (K.INT, K.BOOL) else self.kinds.get(v)) for v in plan.checkpoint]
        entries += [(f"len({values})", K.INT) for values, _ in (self._write_log(a) for a in plan.logged)]
        tapes = []
        for var, kind in entries:
            key = ("checkpoint", id(plan.loop), var)
            if key not in self._tapes:
                base = var if not var.startswith("len(") else var[4:-1] + "_height"
                self._tapes[key] = self.names.fresh(f"{base}_tape")
            preallocate = self._preallocated(plan) and kind in (K.FLOAT, K.INT)
            tapes.append((var, self._tapes[key], kind if preallocate else None))
        return tapes

    def _checkpointed_loop(self, loop) -> list:
        """The loop in a forward sweep that its reverse follows: with a tape of what each iteration's
        adjoint needs, or, checkpointed, with a few snapshots (checkpoint.py)."""
        if self.checkpointing(loop):
            return self._revolve_forward(loop)
        return self._taped_loop(loop)

    def _taped_loop(self, loop) -> list:
        plan = self.plan(loop)
        position = self._position(plan)
        before, record = [], []
        for var, tape, dtype in self._checkpoint_tapes(plan):
            value = syntax.parse_expr(var) if var.startswith("len(") else syntax.name(var)
            before += self._tape_alloc(tape, dtype, plan)
            record.append(self._tape_write(tape, dtype, position, value))
            if dtype is None and not var.startswith("len("):
                # the list keeps the array itself: a later write into it (undone by the reverse sweep
                # before the replay pops it) is a write into what the tape holds
                self._share(var, tape)
        storing, kept_runs = {}, id(loop) in self._kept_runs
        for stmt, var in plan.stored:
            tape, dtype = self._stored_tape(plan, var)
            before += [] if kept_runs else self._tape_alloc(tape, dtype, plan)
            storing[id(stmt)] = (tape, dtype, self._stored_position(plan))
        if kept_runs:   # the forward sweep stored them: this run reads them back from where it left them
            base, _, bases = self._kept_runs[id(loop)]
            before.append(on_tape(syntax.assign(base, self._tape_read(bases, None, None))))
        for array in plan.snapshots:
            tape = self._restore_name(plan.loop, array, "snapshots")
            if _counted(plan.loop):
                before.append(snapshot_allocation(array, tape, self._trip_count(plan)))
                record.append(snapshot_record(array, tape, position))
            else:   # no trip count to size the tape: a list of copies, pushed and popped like the other tapes
                before += self._tape_alloc(tape, None, plan)
                record.append(self._tape_write(tape, None, None, syntax.call(syntax.attribute(array, "copy"))))
        before += [entry_copy(array, self._restore_name(plan.loop, array, "at_entry"), _own_part(plan, array)[1])
                   for array in plan.disjoint]
        before += [on_tape(syntax.assign(self._entry_name(plan, name), syntax.name(name))) for name in plan.inductions]
        pushes = []
        for array, (rows, ends) in sorted(self._row_names(loop, plan.rows).items()):
            before += self._tape_alloc(ends, K.INT, plan)
            self._hoist_once(rows, syntax.call("np.empty", syntax.const(0)))
            pushes.append(on_tape(row_push(array, rows, ends, position)))
        if self._counts_trips(plan):
            trips = self._trips_name(plan)
            before.append(on_tape(syntax.assign(trips, syntax.const(0))))
            record.insert(0, on_tape(syntax.assign(trips, syntax.binop(syntax.name(trips), "+", syntax.const(1)))))
        copy = self.primal_header(loop)
        before = self._restore_comment(plan) + before
        outer = self._logging, self._storing, self._unlogged
        self._logging, self._storing = set(plan.logged), {**self._storing, **({} if kept_runs else storing)}
        outer_replaying = self._replaying
        if kept_runs:
            self._replaying = {**self._replaying, **storing}
        # writes into an object this iteration (or an enclosing loop's, in its forward sweep) made
        # itself: no earlier iteration's reverse sees that object, and a replay makes it again
        self._unlogged = outer[2] | {id(write) for write, definitions in element_writes(loop.body, {})
                                     if BEFORE not in definitions}
        copy.body = record + self.forward_block(loop.body, region=False) + pushes
        self._logging, self._storing, self._unlogged = outer
        self._replaying = outer_replaying
        return before + [copy]

    def _restore_disjoint(self, plan, array: str) -> gast.Assign:
        position, part = _own_part(plan, array)
        return restore_own_part(array, self._restore_name(plan.loop, array, "at_entry"), position, plan.loop.target.id, part)

    def _entry_name(self, plan, name: str) -> str:
        key = ("entry", id(plan.loop), name)
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh(f"{name}_at_entry")
        return self._tapes[key]

    def _induction_values(self, plan) -> list:
        """`idx = idx_at_entry + (i - start) * step` for each induction variable of the loop."""
        values = []
        for name, step in sorted(plan.inductions.items()):
            position = self._position(plan)
            stepped = position if step == 1 else syntax.binop(position, "*", syntax.const(step))
            values.append(on_tape(syntax.assign(name, simplify(syntax.binop(syntax.name(self._entry_name(plan, name)),
                                                                              "+", stepped)))))
        return values

    def _restore_comment(self, plan) -> list:
        """Which way each array this loop writes is brought back for the reverse sweep (array_restore.py).
        Each part names the tape that does it, so `restore_comments_that_stayed` can drop the parts
        whose code dead-code elimination removed (nothing read what they would have restored)."""
        scratch = self._scratch_arrays(plan.loop)
        parts = [(f"{a} by a snapshot per iteration", self._restore_name(plan.loop, a, "snapshots")) for a in plan.snapshots]
        parts += [(f"{a} by a copy at loop entry ({plan.restored[a]})", self._restore_name(plan.loop, a, "at_entry"))
                  for a in plan.disjoint]
        parts += [(f"{a} by a copy per iteration (less work than replaying what computes it)", rows)
                  for a, (rows, _) in sorted(self._row_names(plan.loop, plan.rows).items())]
        parts += [(f"{a} by an element log", self._write_log(a)[0]) for a in plan.logged]
        parts += [(f"{', '.join(scratch)} not at all (rewritten before read)", None)] if scratch else []
        if not parts:
            return []
        comment = syntax.comment(f"arrays restored for the reverse sweep: {'; '.join(text for text, _ in parts)}")
        comment.srcgrad_restore_parts = parts
        return [comment]

    def _restore_name(self, loop, array: str, what: str) -> str:
        """The name of what restores `array` for `loop`'s reverse (`x_snapshots`, `x_rows`, ...)."""
        key = (what, id(loop), array)
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh(f"{array}_{what}")
        return self._tapes[key]

    def _stored_tape(self, plan, var):
        key = ("stored", id(plan.loop), var)
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh(f"{var}_tape")
        return self._tapes[key], (K.FLOAT if self._preallocated(plan) else None)

    def _stored_position(self, plan):
        """Where an iteration's stored value sits on its tape: past the runs before this one when
        the forward sweep keeps every run of the loop (see `_keep_runs_of_children`)."""
        if id(plan.loop) not in self._kept_runs:
            return self._position(plan)
        return syntax.binop(syntax.name(self._kept_runs[id(plan.loop)][0]), "+", self._position(plan))

    def stored_in_forward_sweep(self, loop) -> list:
        """A loop whose every run the forward sweep keeps the stored values of: it claims the next
        stretch of each flat tape (grown when too short) and notes where that stretch starts."""
        plan = self.plan(loop)
        base, filled, bases = self._kept_runs[id(loop)]
        self._hoist_once(filled, syntax.const(0))
        self._hoist_once(bases, gast.List(elts=[], ctx=gast.Load()))
        setup = [syntax.assign(base, syntax.name(filled)),
                 syntax.assign(filled, syntax.binop(syntax.name(filled), "+", self._trip_count(plan)))]
        storing = {}
        for stmt, var in plan.stored:
            tape, dtype = self._stored_tape(plan, var)
            self._hoist_once(tape, syntax.call("np.empty", syntax.const(0)))
            too_short = gast.Compare(left=syntax.parse_expr(f"{tape}.shape[0]"), ops=[gast.Lt()],
                                     comparators=[syntax.name(filled)])
            longer = syntax.call("np.concatenate", syntax.tuple_([syntax.name(tape),
                                                                  syntax.call("np.empty", syntax.name(filled))]))
            setup.append(syntax.if_(too_short, [on_tape(syntax.assign(tape, longer))]))   # at least doubles
            storing[id(stmt)] = (tape, dtype, self._stored_position(plan))
        setup.append(self._tape_write(bases, None, None, syntax.name(base)))
        outer, self._storing = self._storing, {**self._storing, **storing}
        copy = self._plain_loop(loop)
        self._storing = outer
        return [on_tape(stmt) for stmt in setup] + [copy]

    def _tape_alloc(self, tape, dtype, plan) -> list:
        """Statements that make `tape` ready for this loop: a list (created once, at the top of the
        function), an array sized by the trip count, or a reused array grown when too small."""
        if dtype is None:
            self._hoist_once(tape, gast.List(elts=[], ctx=gast.Load()))
            return []
        if self._is_top(plan.loop) and not self.checkpointing(plan.loop):   # runs once: allocate exactly
            alloc = syntax.call("np.empty", self._trip_count(plan))
            if dtype == K.INT:
                alloc.keywords = [gast.keyword(arg="dtype", value=syntax.dotted("np.int64"))]
            return [on_tape(syntax.assign(tape, alloc))]
        # runs once per outer iteration: keep one array, grown when a longer loop needs it
        empty = syntax.call("np.empty", syntax.const(0))
        if dtype == K.INT:
            empty.keywords = [gast.keyword(arg="dtype", value=syntax.dotted("np.int64"))]
        self._hoist_once(tape, empty, scratch=True)
        size = self._trip_count(plan)
        too_small = gast.Compare(left=syntax.subscript(gast.Attribute(value=syntax.name(tape), attr="shape", ctx=gast.Load()),
                                                       syntax.const(0)),
                                 ops=[gast.Lt()], comparators=[syntax.clone(size)])
        grow = syntax.call("np.empty", size)
        if dtype == K.INT:
            grow.keywords = [gast.keyword(arg="dtype", value=syntax.dotted("np.int64"))]
        return [on_tape(syntax.if_(too_small, [on_tape(syntax.assign(tape, grow))]))]

    def _hoist_once(self, tape: str, value, scratch: bool = False) -> None:
        """Bind `tape` at the top of the function, once however many loops use it."""
        if ("hoisted", tape) not in self._tapes:
            self._tapes[("hoisted", tape)] = True
            binding = on_tape(syntax.assign(tape, value))
            self.hoisted.append(scratch_buffer(binding) if scratch else binding)

    def _tape_write(self, tape, dtype, position, value):
        if dtype is None:
            return on_tape(gast.Expr(value=syntax.call(gast.Attribute(value=syntax.name(tape), attr="append", ctx=gast.Load()),
                                                     syntax.as_load(value))))
        return on_tape(syntax.assign(syntax.subscript(syntax.name(tape), syntax.clone(position), store=True), syntax.as_load(value)))

    def _tape_read(self, tape, dtype, position):
        if dtype is None:
            return syntax.call(gast.Attribute(value=syntax.name(tape), attr="pop", ctx=gast.Load()))
        return syntax.subscript(syntax.name(tape), syntax.clone(position))

    def _trip_count(self, plan):
        """The number of iterations of a range loop of constant step: `stop` or `stop - start` for
        a unit step, `len(range(start, stop, step))` for another."""
        start = plan.start
        if not plan.unit_step:
            return syntax.call("len", syntax.call("range", *map(syntax.clone, plan.range_args)))
        if isinstance(start, gast.Constant) and start.value == 0:
            return syntax.clone(plan.stop)
        return syntax.call("max", syntax.binop(syntax.clone(plan.stop), "-", syntax.clone(start)), syntax.const(0))

    def _counts_trips(self, plan) -> bool:
        return not plan.is_for or plan.has_exit

    def _trips_name(self, plan) -> str:
        key = ("trips", id(plan.loop))
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh("trips")
        return self._tapes[key]

    def _position(self, plan):
        """Index of the current iteration in a preallocated tape: `i - start`, `start - i` for a
        step of -1, `(i - start) // step` for another."""
        if not plan.is_for:
            return syntax.const(0)
        index = syntax.name(plan.loop.target.id)
        start = plan.start
        if plan.constant_step == -1:
            return syntax.binop(syntax.clone(start), "-", index)
        offset = index if isinstance(start, gast.Constant) and start.value == 0 else syntax.binop(index, "-", syntax.clone(start))
        if plan.unit_step:
            return offset
        return syntax.binop(offset, "//", syntax.clone(plan.step))

    def loop_reverse(self, loop) -> list:
        if self.checkpointing(loop):
            return self._revolve_reverse(loop, lambda first, stop: self._over(loop, first, stop, self._taped_loop),
                                         lambda first, stop: self._over(loop, first, stop, self._reverse_loop))
        return self._reverse_loop(loop)

    @staticmethod
    def _over(loop, first: str, stop: str, make) -> list:
        """`make(loop)` for the iterations from `first` up to `stop` only (one segment)."""
        whole = loop.iter
        loop.iter = syntax.call("range", syntax.name(first), syntax.name(stop))
        try:
            return make(loop)
        finally:
            loop.iter = whole

    def _reverse_loop(self, loop) -> list:
        plan = self.plan(loop)
        tapes = self._checkpoint_tapes(plan)
        header, index_setup = self._reverse_header(plan)
        restore = []
        heights = {}
        for var, tape, dtype in reversed(tapes):
            if var.startswith("len("):
                key = ("height", id(plan.loop), var)
                if key not in self._tapes:
                    self._tapes[key] = self.names.fresh(var[4:-1] + "_height")
                height = self._tapes[key]
                heights[var[4:-1]] = height
                target = height
            else:
                target = var
            restore.append(on_tape(syntax.assign(target, self._tape_read(tape, dtype, self._position(plan)))))
        restore += self._induction_values(plan)
        for array in plan.snapshots:   # a preallocated tape's copy is ordinary code for DCE; a list's pop is not
            tape = self._restore_name(plan.loop, array, "snapshots")
            restore.append(snapshot_restore(array, self._tape_read(tape, K.FLOAT, self._position(plan))) if _counted(plan.loop)
                           else on_tape(snapshot_restore(array, self._tape_read(tape, None, None))))
        restore += [self._restore_disjoint(plan, array) for array in plan.disjoint]
        undo = [stmt for array in plan.logged for stmt in self._undo_writes(array, plan.loop, heights)]
        replaying = {id(stmt): (*self._stored_tape(plan, var), self._stored_position(plan)) for stmt, var in plan.stored}
        outer, self._replaying = self._replaying, {**self._replaying, **replaying}
        skipped = set() if id(loop) == self._sums_replayed_in else plan.unreplayed
        outer_unreplayed, self._unreplayed = self._unreplayed, self._unreplayed | skipped
        first_run, self._first_run = self._first_run, self._first_run or id(loop) == self._sums_replayed_in
        replay = self.forward_block(loop.body, region=True)
        if not self._first_run:
            _drop_checks_made_before(replay)
        self._replaying, self._unreplayed = outer, outer_unreplayed
        replay += row_statements(row_bindings(plan.rows, self._row_names(loop, plan.rows), self._position(plan)))
        body = index_setup + restore + undo + replay + self.reverse_block(loop.body)
        if self._iterations_commute(plan, body):
            header, body = syntax.clone(loop), restore + replay + self.reverse_block(loop.body)
        self._first_run = first_run
        header.body = body or [gast.Pass()]
        # the replay rewrites these before reading them: what the forward sweep left in them is dead
        header.srcgrad_overwritten = frozenset(self._scratch_arrays(loop))
        return [header]

    def _iterations_commute(self, plan, body) -> bool:
        """True when the iterations' adjoints may run in the primal's order: nothing is popped, and
        every adjoint from outside the body is either only read, or only accumulated into, or an
        array each iteration touches at its own index only (`a_bar[k]`: read, then reset). Then the
        reverse loop keeps the primal's header, which numba compiles (and vectorizes) best."""
        if not (plan.is_for and not plan.has_exit and not plan.logged and not plan.snapshots and not plan.read_across):
            return False
        calls = [n for s in body for n in syntax.walk(s) if isinstance(n, gast.Call)]
        if any(isinstance(c.func, gast.Attribute) and c.func.attr == "pop" for c in calls):
            return False
        inner_blocks = {id(b) for n in syntax.walk(plan.loop) for b in syntax.child_blocks(n)}
        local = {self.adj.adjoint(v) for v, home in self.home_of.items() if home in inner_blocks and v in self.active}
        outer = set(self.adj.bars.values()) - local
        nodes = [n for stmt in body for n in syntax.walk(stmt)]
        accumulations = [n for n in nodes if isinstance(n, gast.AugAssign)]
        written_through = {id(n.target.value) for n in accumulations if isinstance(n.target, gast.Subscript)}
        assigned = {syntax.base_name(t) for n in nodes if isinstance(n, gast.Assign) for t in n.targets
                    if isinstance(t, (gast.Name, gast.Subscript))}   # x_bar[k] = 0.0 resets: order matters
        augmented = {syntax.base_name(n.target) for n in accumulations}
        read = {n.id for n in nodes if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and id(n) not in written_through}
        shared = outer - _own_index_only(nodes, plan.loop.target.id)
        return not (shared & assigned) and not (shared & augmented & read)

    def _undo_writes(self, array, loop, heights) -> list:
        """Put back, newest first, the elements (or rows, or slices) this iteration overwrote,
        before replaying it."""
        values, indices = self._write_log(array)
        pattern = self._write_pattern(array, loop)
        key = ("undo", id(loop), array)
        if key not in self._tapes:
            self._tapes[key] = [self.names.fresh(f"{array}_index") for _ in range(_atom_count(pattern))]
        index_names = self._tapes[key]
        pops = [on_tape(syntax.assign(n, syntax.call(gast.Attribute(value=syntax.name(indices), attr="pop", ctx=gast.Load()))))
                for n in reversed(index_names)]
        restore = on_tape(syntax.assign(syntax.subscript(syntax.name(array), rebuild_index(pattern, index_names), store=True),
                                        syntax.call(gast.Attribute(value=syntax.name(values), attr="pop", ctx=gast.Load()))))
        test = gast.Compare(left=syntax.call("len", syntax.name(values)), ops=[gast.Gt()], comparators=[syntax.name(heights[values])])
        return [on_tape(syntax.while_(test, pops + [restore]))]

    def _write_patterns(self, array, loop) -> set:
        """The index shapes (write_index.py) of the writes into `array` in `loop`."""
        return {index_pattern(n) for n in syntax.walk(loop)
                if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and syntax.base_name(n) == array}

    def _write_pattern(self, array, loop) -> tuple:
        patterns = self._write_patterns(array, loop)
        if len(patterns) != 1:
            raise UnsupportedSyntaxError(f"writes into `{array}` through differently shaped indices in one loop, in reverse mode",
                                         None, "Write whole elements (x[i, j]), whole rows (x[i]) or slices of one shape "
                                         "(x[i, a:b]) consistently within a loop that also binds the array anew or runs "
                                         "inside a loop that writes it element by element.")
        return patterns.pop()


    def _reverse_header(self, plan):
        if plan.is_for and not plan.has_exit and plan.unit_step:
            return backward_range(plan.loop.target.id, plan.start, plan.stop), []
        key = ("iteration", id(plan.loop))
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh("iteration")
        iteration = self._tapes[key]
        trips = syntax.name(self._trips_name(plan)) if self._counts_trips(plan) else \
            syntax.call("len", syntax.call("range", *map(syntax.clone, plan.range_args)))
        header = syntax.for_range(iteration, [syntax.binop(trips, "-", syntax.const(1)), syntax.const(-1), syntax.const(-1)], [])
        setup = []
        if plan.is_for:
            offset = syntax.binop(syntax.name(iteration), "*", syntax.clone(plan.step))
            setup.append(syntax.assign(plan.loop.target.id, simplify(syntax.binop(syntax.clone(plan.start), "+", offset))))
        return header, setup


def _own_part(plan, array: str) -> tuple:
    """(index position, written part) of what each iteration of a disjoint plan restores of
    `array`: the loop variable's position, and the leading indices all writes fix (written_part)."""
    position = (disjoint_position if plan.restored[array] == DISJOINT else written_position)(plan.loop, array)
    return position, written_part(plan.loop, array, position)


def _own_index_only(nodes: list, index: str) -> set:
    """The arrays that `nodes` (a loop body's) reach only as `array[index]`, `index` the loop's
    variable and never bound in the body: each iteration touches an element no other one does."""
    if any(isinstance(n, gast.Name) and n.id == index and not isinstance(n.ctx, gast.Load) for n in nodes):
        return set()
    indexed = {id(n.value) for n in nodes if isinstance(n, gast.Subscript) and isinstance(n.value, gast.Name)
               and isinstance(n.slice, gast.Name) and n.slice.id == index}
    mentions = [n for n in nodes if isinstance(n, gast.Name)]
    return {n.id for n in mentions} - {n.id for n in mentions if id(n) not in indexed}


def _holds_a_loop(loop) -> bool:
    return any(syntax.is_loop(n) for n in syntax.nodes_in(loop.body))


def _constant_step(stmt, name: str):
    """c for `name = name + c` or `name = c + name` with c an integer constant; else None."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and stmt.targets[0].id == name
            and isinstance(stmt.value, gast.BinOp) and isinstance(stmt.value.op, gast.Add)):
        return None
    left, right = stmt.value.left, stmt.value.right
    for own, other in ((left, right), (right, left)):
        if isinstance(own, gast.Name) and own.id == name and isinstance(other, gast.Constant) \
                and type(other.value) is int:
            return other.value
    return None


def _drop_checks_made_before(replay: list) -> None:
    """Mark the replay's length checks for dead-code elimination to drop: the forward sweep made
    them on the same lengths before its element loops read anything (a fused loop reads its
    operands up to one length: unchecked, a shorter operand is read past its end)."""
    for node in syntax.nodes_in(replay):
        if _is_shape_check(node):
            node.srcgrad_check_replayed = True


def _is_shape_check(node) -> bool:
    """`if mismatch: raise UnequalLengths(...)`, which scalarize puts before a fused element loop
    (not one that guards a write, which every run keeps)."""
    return (isinstance(node, gast.If) and not node.orelse and len(node.body) == 1
            and isinstance(node.body[0], gast.Raise) and not getattr(node.body[0], "srcgrad_guards_write", False)
            and isinstance(node.body[0].exc, gast.Call)
            and getattr(node.body[0].exc.func, "id", None) == "UnequalLengths")


def values_read(stmts) -> set[str]:
    """Arrays whose values `stmts` read (the array of an element write `x[i] = v` is not read)."""
    read = set()
    for stmt in stmts:
        for node in syntax.walk(stmt):
            if isinstance(node, gast.Assign):
                read |= syntax.loaded_names(node.value)
                if isinstance(node.targets[0], gast.Subscript):
                    read |= syntax.loaded_names(node.targets[0].slice)
            elif isinstance(node, (gast.If, gast.While)):
                read |= syntax.loaded_names(node.test)
            elif isinstance(node, gast.For):
                read |= syntax.loaded_names(node.iter)
    return read


def _atom_count(pattern: tuple) -> int:
    return sum(1 if part == "scalar" else sum(part[1:]) for part in pattern)


def restore_comments_that_stayed(code: list) -> list:
    """Write each loop's restore comment with the parts whose tapes `code` still reads or writes into
    (a tape only made, as an element log's empty list, restores nothing)."""
    if not any(hasattr(stmt, "srcgrad_restore_parts") for stmt in syntax.statements_in(code)):
        return code
    used = {n.id for stmt in code for n in syntax.walk(stmt) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}

    def visit(stmts):
        out = []
        for stmt in stmts:
            parts = getattr(stmt, "srcgrad_restore_parts", None)
            if parts is not None:
                kept = [text for text, tape in parts if tape is None or tape in used]
                if not kept:
                    continue
                stmt.value.value = f"arrays restored for the reverse sweep: {'; '.join(kept)}"
            for field in ("body", "orelse"):
                if isinstance(getattr(stmt, field, None), list):
                    setattr(stmt, field, visit(getattr(stmt, field)))
            out.append(stmt)
        return out
    return visit(code)
