"""Checkpointed reverse loops: the loop keeps a few snapshots of its state, and revolve re-runs segments.

A checkpointed loop keeps no tape in the forward sweep. It runs as the primal does, cut into
segments, and keeps its carried state (the names it rebinds and reads, and the arrays it writes
into) at the start of the segments runtime/revolve.py picks. Its reverse sweep follows that
schedule: restore a snapshot, re-run segments without a tape, keep new snapshots, and reverse one
segment at a time by re-running it with the tape the loop would have had, for those iterations
only, then running their adjoints. The tape therefore holds one segment, and the snapshots a
number the budget allows.

A loop is checkpointed when the user marks it (`for t in srcgrad.checkpoint(range(n), ...)`), or,
under a memory budget (`grad(f, memory="256MB")`, or SRCGRAD_MEMORY), when it is a counted loop
(a `for` over a unit-step range that runs to its end) at the top level of the function. After
this mixin, such a loop's forward form is `_revolve_forward` and its reverse form `_revolve_reverse`.
"""
from __future__ import annotations

import warnings

import gast

from .. import syntax
from ..analyze import kinds as K
from ..analyze.dataflow import bound_names, upward_exposed
from ..errors import UnsupportedSyntaxError, outside_srcgrad
from .common import on_tape

_SCALAR_DTYPES = {K.FLOAT: None, K.INT: "np.int64", K.BOOL: "np.bool_"}


class Checkpointing:
    """The checkpointed-loop half of ReverseTransform (mixed in beside LoopReversal)."""

    memory: int   # the function's budget in bytes, 0 for none

    def checkpointing(self, loop) -> tuple | None:
        """(budget in bytes, snapshots, segment length) for a checkpointed loop, 0 meaning "choose";
        None for a loop with a tape of its whole length."""
        key = ("checkpointing", id(loop))
        if key not in self._tapes:
            self._tapes[key] = self._checkpoint_settings(loop)
        return self._tapes[key]

    def _checkpoint_settings(self, loop):
        marked = getattr(loop, "srcgrad_checkpoint", None)
        if marked is not None:
            self._require_counted(loop)
            budget, snapshots, segment = marked
            return (budget or (self.memory if not (snapshots or segment) else 0), snapshots, segment)
        if not self.memory or not self._is_top(loop) or getattr(loop, "srcgrad_parallel", False):
            return None
        if not self._records(loop):
            return None   # nothing per iteration to bound
        why_not = self._why_uncounted(loop) if not self._counted_loop(loop) else self._unkept_state(loop)
        if why_not:
            warnings.warn(f"a loop is not checkpointed under memory=: it {why_not}, so its tape grows with every "
                          "iteration. Write it as `for i in range(n)` without break or return, carrying numbers "
                          f"and arrays, to bound its memory.\n{self.adj.location(loop) or ''}",
                          stacklevel=outside_srcgrad())
            return None
        top_level = [s for s in self._top_level_loops() if self._budgeted(s)]
        return (max(1, self.memory // len(top_level)), 0, 0)   # their snapshots are all kept at once

    def _budgeted(self, loop) -> bool:
        """Whether the function's budget checkpoints this top-level loop."""
        return (getattr(loop, "srcgrad_checkpoint", None) is None and not getattr(loop, "srcgrad_parallel", False)
                and self._records(loop) and self._counted_loop(loop) and not self._unkept_state(loop))

    def _records(self, loop) -> bool:
        """Whether the loop's forward sweep records anything per iteration (a loop whose adjoints
        need nothing carried, such as a sum, has no tape to bound)."""
        plan = self.plan(loop)
        return bool(plan.checkpoint or plan.inductions or plan.logged or plan.snapshots or plan.stored)

    def _require_counted(self, loop) -> None:
        if not self._counted_loop(loop):
            raise UnsupportedSyntaxError(
                f"srcgrad.checkpoint on a loop that {self._why_uncounted(loop)}", self.adj.location(loop),
                "Checkpoint a `for i in srcgrad.checkpoint(range(n))` loop that runs to its end with step 1: "
                "revolve needs the number of iterations before the loop starts.")
        if self._unkept_state(loop):
            raise UnsupportedSyntaxError(f"srcgrad.checkpoint on a loop that {self._unkept_state(loop)}",
                                         self.adj.location(loop), "Carry numbers and arrays from one iteration "
                                         "to the next, or run the loop without checkpointing.")

    def _counted_loop(self, loop) -> bool:
        plan = self.plan(loop)
        return plan.is_for and not plan.has_exit and plan.unit_step

    def _why_uncounted(self, loop) -> str:
        plan = self.plan(loop)
        if not plan.is_for:
            return "is a while loop"
        return "can leave early (break or return)" if plan.has_exit else "steps by more than 1"

    # ----- the loop's state ------------------------------------------------------------------
    def _loop_state(self, loop) -> list:
        """(name, kind) of what a segment needs to start: names the loop rebinds after reading them,
        and arrays it writes into whose earlier contents matter."""
        key = ("state", id(loop))
        if key not in self._tapes:
            self._tapes[key] = self._find_loop_state(loop)
        return self._tapes[key]

    def _find_loop_state(self, loop) -> list:
        index = {loop.target.id}
        carried = (upward_exposed(loop.body) & bound_names(loop) & self._defined_outside(loop)) - index
        arrays = set(self.plan(loop).restored)
        return [(name, self.kinds.get(name, K.UNKNOWN)) for name in sorted(carried | arrays)]

    def _unkept_state(self, loop) -> str:
        """Why a snapshot cannot hold the loop's state ("" when it can): a tuple or list carried
        from one iteration to the next."""
        for name, kind in self._loop_state(loop):
            if kind not in _SCALAR_DTYPES and not K.is_array(kind) and kind != K.UNKNOWN:
                return f"carries `{name}`, which is neither a number nor an array"
        return ""

    def _revolve_name(self, loop, what: str) -> str:
        key = ("revolve", id(loop), what)
        if key not in self._tapes:
            self._tapes[key] = self.names.fresh(what)
        return self._tapes[key]

    def _snapshots_of(self, loop, name: str) -> str:
        return self._revolve_name(loop, f"{name}_snapshots")

    def _copied(self, loop, name: str, kind) -> bool:
        """Whether a snapshot of `name` must be a copy: an array the loop may write into (a value
        of a kind not known before the call, as `source` shows it, is copied when written into)."""
        return K.is_array(kind) or (kind == K.UNKNOWN and name in self.plan(loop).restored)

    def _keep(self, loop, slot) -> list:
        """Store the state in `slot`: numbers in arrays, arrays (as copies) in a list."""
        stores = []
        for name, kind in self._loop_state(loop):
            value = syntax.call("np.copy", syntax.name(name)) if self._copied(loop, name, kind) else syntax.name(name)
            stores.append(on_tape(syntax.assign(syntax.subscript(syntax.name(self._snapshots_of(loop, name)),
                                                                 syntax.clone(slot), store=True), value)))
        return stores

    def _restore(self, loop, slot) -> list:
        """Load the state from `slot`. Arrays go back into the arrays the loop started with where
        the primal wrote into those: other names may hold them (a value bound before the loop, whose
        adjoint reads it after the reverse sweep). An array the loop only writes into is always that
        array; one it binds again is that array in slot 0 (the entry state) and a copy elsewhere,
        as the segments write into it."""
        loads, entries, rebound = [], [], bound_names(loop)
        for name, kind in self._loop_state(loop):
            kept = syntax.subscript(syntax.name(self._snapshots_of(loop, name)), syntax.clone(slot))
            if not self._copied(loop, name, kind):
                loads.append(on_tape(syntax.assign(name, kept)))
            elif name not in rebound:
                loads.append(on_tape(syntax.assign(_everything(name), kept)))
            elif name in self.plan(loop).restored:   # written into in place: its first object too
                entries.append(name)
            else:
                loads.append(on_tape(syntax.assign(name, syntax.call("np.copy", kept))))
        if entries:
            at_entry = gast.Compare(left=syntax.clone(slot), ops=[gast.Eq()], comparators=[syntax.const(0)])
            into_entry = [syntax.comment("slot 0 holds the entry state: written back into the arrays the loop started with")]
            for name in entries:
                into_entry += [on_tape(syntax.assign(name, syntax.name(self._entry_of(loop, name)))),
                               on_tape(syntax.assign(_everything(name), syntax.subscript(
                                   syntax.name(self._snapshots_of(loop, name)), syntax.const(0))))]
            copies = [on_tape(syntax.assign(name, syntax.call("np.copy", syntax.subscript(
                syntax.name(self._snapshots_of(loop, name)), syntax.clone(slot))))) for name in entries]
            loads.append(on_tape(syntax.if_(at_entry, into_entry, copies)))
        return loads

    def _entry_of(self, loop, name: str) -> str:
        return self._revolve_name(loop, f"{name}_entry")

    def _entry_arrays(self, loop) -> list:
        """`name_entry = name` for each array the loop writes into and binds again: the array it
        started with, which the reverse sweep must leave as the primal found it."""
        rebound = bound_names(loop)
        restored = self.plan(loop).restored
        return [on_tape(syntax.assign(self._entry_of(loop, name), syntax.name(name)))
                for name, kind in self._loop_state(loop) if self._copied(loop, name, kind) and name in rebound
                and name in restored]

    def _snapshot_storage(self, loop, slots) -> list:
        made = []
        for name, kind in self._loop_state(loop):
            if kind not in _SCALAR_DTYPES:   # one per slot: the slots' contents are replaced, not written into
                first = syntax.call("np.copy", syntax.name(name)) if self._copied(loop, name, kind) else syntax.name(name)
                value = gast.ListComp(elt=first, generators=[gast.comprehension(
                    target=syntax.name("_", store=True), iter=syntax.call("range", syntax.clone(slots)), ifs=[], is_async=0)])
            else:
                value = syntax.call("np.empty", syntax.clone(slots))
                if _SCALAR_DTYPES[kind]:
                    value.keywords = [gast.keyword(arg="dtype", value=syntax.dotted(_SCALAR_DTYPES[kind]))]
            made.append(on_tape(syntax.assign(self._snapshots_of(loop, name), value)))
        return made

    # ----- sizes -------------------------------------------------------------------------------
    def _state_bytes(self, loop) -> gast.AST:
        state = self._loop_state(loop)
        arrays = [name for name, kind in state if K.is_array(kind)]
        unknown = [syntax.call("nbytes_of", syntax.name(name)) for name, kind in state if kind == K.UNKNOWN]
        return _bytes(arrays, 8 * sum(kind in _SCALAR_DTYPES for _, kind in state), unknown)

    def _iteration_bytes(self, loop) -> gast.AST:
        """What one iteration adds to the tape: 8 bytes per number recorded (16 per logged element
        write, index and value), and a copy of each array snapshotted per iteration."""
        plan = self.plan(loop)
        numbers = len(self._checkpoint_tapes(plan)) + len(plan.stored) + 2 * len(plan.logged)
        return _bytes(plan.snapshots, 8 * max(numbers, 1))

    # ----- the forward sweep -------------------------------------------------------------------
    def _revolve_forward(self, loop) -> list:
        plan = self.plan(loop)
        budget, snapshots, segment_length = self.checkpointing(loop)
        schedule = self._revolve_name(loop, "schedule")
        segment, slot = self._revolve_name(loop, "segment"), self._revolve_name(loop, "slot")
        state = ", ".join(name for name, _ in self._loop_state(loop)) or "nothing"
        setup = [
            syntax.comment(f"the loop over {loop.target.id} keeps no tape: the state ({state}) is kept at the start "
                           "of the segments revolve picks, and the reverse sweep re-runs each segment with its tape"),
            on_tape(syntax.assign(schedule, syntax.call(
                "checkpoint_schedule", self._trip_count(plan), self._state_bytes(loop), self._iteration_bytes(loop),
                syntax.const(budget), syntax.const(snapshots), syntax.const(segment_length)))),
        ]
        setup += self._snapshot_storage(loop, syntax.subscript(syntax.name(schedule), syntax.name("SLOTS")))
        setup += self._entry_arrays(loop)
        setup.append(on_tape(syntax.assign(slot, syntax.const(0))))
        keep = syntax.if_(syntax.call("kept_at", syntax.name(schedule), syntax.name(slot), syntax.name(segment)),
                          self._keep(loop, syntax.name(slot))
                          + [on_tape(syntax.assign(slot, syntax.binop(syntax.name(slot), "+", syntax.const(1))))])
        run = self._plain_segments(loop, syntax.name(segment), syntax.binop(syntax.name(segment), "+", syntax.const(1)))
        segments = syntax.for_range(segment, [syntax.subscript(syntax.name(schedule), syntax.name("SEGMENTS"))],
                                    [on_tape(keep), run])
        return setup + [on_tape(segments)]

    def _plain_segments(self, loop, first, until) -> gast.For:
        """The loop's iterations from segment `first` up to segment `until`, as the primal runs them."""
        schedule = syntax.name(self._revolve_name(loop, "schedule"))
        bounds = [self._iteration(loop, syntax.call("segment_start", schedule, first)),
                  self._iteration(loop, syntax.call("segment_start", syntax.clone(schedule), until))]
        outer, self._logging = self._logging, set()
        run = syntax.for_range(loop.target.id, bounds, self.forward_block(loop.body, region=False))
        self._logging = outer
        return on_tape(run)

    def _iteration(self, loop, counted) -> gast.AST:
        """The loop index of the iteration `counted` from the first (0)."""
        start = self.plan(loop).start
        if isinstance(start, gast.Constant) and start.value == 0:
            return counted
        return syntax.binop(syntax.clone(start), "+", counted)

    # ----- the reverse sweep -------------------------------------------------------------------
    def _revolve_reverse(self, loop, taped_forward, adjoint) -> list:
        """The schedule's turns: each restores a snapshot, runs forward (keeping snapshots) to the
        segment to reverse, and reverses it; `taped_forward(first, stop)` and `adjoint(first, stop)`
        give the loop's taped iterations and their reverse over one segment. A turn starts by
        restoring the whole state, so nothing a reversed segment leaves in it reaches the next turn."""
        schedule = self._revolve_name(loop, "schedule")
        field = lambda name: syntax.subscript(syntax.name(schedule), syntax.name(name))  # noqa: E731
        first, stop = self._revolve_name(loop, "first"), self._revolve_name(loop, "stop")
        is_advance = gast.Compare(left=field("ACTION"), ops=[gast.Eq()], comparators=[syntax.name("ADVANCE")])
        forward = on_tape(syntax.if_(
            is_advance,
            [syntax.comment("re-run segments without a tape"), self._plain_segments(loop, field("ARGUMENT"), field("UNTIL"))],
            [syntax.comment("keep the state at the start of this segment")] + self._keep(loop, field("ARGUMENT"))))
        segment_bounds = [
            on_tape(syntax.assign(first, self._iteration(loop, syntax.call("segment_start", syntax.name(schedule), field("ARGUMENT"))))),
            on_tape(syntax.assign(stop, self._iteration(loop, syntax.call(
                "segment_start", syntax.name(schedule), syntax.binop(field("ARGUMENT"), "+", syntax.const(1)))))),
        ]
        turn = ([syntax.comment("restore the state at the start of a kept segment")] + self._restore(loop, field("ARGUMENT"))
                + [on_tape(syntax.while_(syntax.call("revolve_advances", syntax.name(schedule)), [forward]))]
                + [syntax.comment("reverse the next segment: re-run it with its tape, then its adjoint")]
                + segment_bounds + taped_forward(first, stop) + adjoint(first, stop))
        header = syntax.comment(f"the reverse sweep of the loop over {loop.target.id}, one segment per turn of revolve")
        return [header, on_tape(syntax.while_(syntax.call("revolve_turn", syntax.name(schedule)), turn))]


def _everything(name: str) -> gast.Subscript:
    """`name[...]`, to store into."""
    return syntax.subscript(syntax.name(name), gast.Constant(value=Ellipsis, kind=None), store=True)


def _bytes(arrays: list, numbers: int, more: list = ()) -> gast.AST:
    """`a.nbytes + b.nbytes + ... + numbers`, the constant alone when there are no arrays."""
    terms = [gast.Attribute(value=syntax.name(a), attr="nbytes", ctx=gast.Load()) for a in arrays] + list(more)
    terms += [syntax.const(numbers)] if numbers or not terms else []
    total = terms[0]
    for term in terms[1:]:
        total = syntax.binop(total, "+", term)
    return total
