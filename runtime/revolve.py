"""Binomial checkpointing (Griewank's revolve): which loop segment to snapshot, re-run or reverse next.

A checkpointed loop is cut into segments of `segment_length` iterations. Reversing one segment
re-runs it with its tape and then runs its adjoint; the tape holds one segment, never the whole
loop. The loop-carried state is kept at the start of a few segments only (`slots` snapshots,
slot 0 holding the loop's entry state), and the other segment starts are reached again by running
forward from the nearest snapshot. With s snapshots and segments each run forward at most r extra
times, C(s + r, s) segments can be reversed; the schedule below splits each range of segments so
that the total number of segments re-run is the smallest possible (Griewank and Walther, ACM TOMS
26(1), 2000).

The schedule is one int64 array (`checkpoint_schedule`), so generated code runs it under numba:
`while revolve_next(schedule)` gives one action at a time.
"""
import math

import numpy as np
from numba import types

from .compile_once import runtime_jitable, runtime_overload

# actions
DONE, ADVANCE, TAKE, RESTORE, REVERSE = 0, 1, 2, 3, 4

# the fields of a schedule array, then the segment each slot holds
ACTION, ARGUMENT, UNTIL, SEGMENTS, END, TOP, CURRENT, SLOTS, SEGMENT_LENGTH, STEPS = range(10)
HEADER = 10

CACHED_TAPE_BYTES = 2 ** 20   # a segment's tape of this size is read back from cache, not memory


@runtime_jitable
def reach(slots, repetitions, cap):
    """C(slots + repetitions, slots): how many segments `slots` snapshots can reverse when each
    segment runs forward at most `repetitions` extra times (at least `cap` when more)."""
    count = 1
    for k in range(1, slots + 1):
        count = count * (repetitions + k) // k
        if count >= cap:
            return cap
    return count


@runtime_jitable
def split(segments, slots):
    """How many segments to run forward before the next snapshot, for a range of `segments` whose
    first holds a snapshot, with `slots` snapshots for it (that one included; at least 2)."""
    repetitions = 1
    while reach(slots, repetitions, segments) < segments:
        repetitions += 1
    # the right part as large as its slots allow with as many repetitions, but the left part at
    # least what its slots reverse with two fewer: within those bounds the count is the optimum
    right = reach(slots - 1, repetitions, segments)
    least_left = reach(slots, repetitions - 2, segments) if repetitions >= 2 else 1
    return min(segments - 1, max(1, segments - right, least_left))


@runtime_jitable
def revolve_next(schedule):
    """Choose the next action; False when every segment is reversed. The action is in
    schedule[ACTION]: ADVANCE runs segments schedule[ARGUMENT] up to schedule[UNTIL] forward; TAKE
    stores the state in slot schedule[ARGUMENT]; RESTORE loads it from that slot; REVERSE re-runs
    segment schedule[ARGUMENT] with its tape and runs its adjoint."""
    end = schedule[END]
    if end <= 0:
        schedule[ACTION] = DONE
        return False
    top = schedule[TOP]
    first = schedule[HEADER + top]
    current = schedule[CURRENT]   # the segment the live state starts, or -1
    if current < first or current >= end:
        schedule[CURRENT] = first
        schedule[ACTION], schedule[ARGUMENT] = RESTORE, top
    elif current == end - 1:
        schedule[END] = end - 1
        if first == end - 1 and top > 0:
            schedule[TOP] = top - 1   # its segment is reversed: the slot is free again
        schedule[CURRENT] = -1        # the adjoint leaves the state where the segment started
        schedule[ACTION], schedule[ARGUMENT] = REVERSE, end - 1
    elif current > first:             # an ADVANCE stopped here to keep a snapshot
        schedule[TOP] = top + 1
        schedule[HEADER + top + 1] = current
        schedule[ACTION], schedule[ARGUMENT] = TAKE, top + 1
    else:
        free = schedule[SLOTS] - top
        target = end - 1 if free <= 1 else first + split(end - first, free)
        schedule[CURRENT] = target
        schedule[ACTION], schedule[ARGUMENT], schedule[UNTIL] = ADVANCE, first, target
    return True


@runtime_jitable
def revolve_turn(schedule):
    """Start the next turn of the reverse sweep; False when every segment is reversed. A turn
    restores the snapshot in slot schedule[ARGUMENT], runs forward while `revolve_advances`, and
    reverses one segment: revolve's actions always come in that order."""
    return revolve_next(schedule)   # after a REVERSE (or the forward sweep) comes a RESTORE, or DONE


@runtime_jitable
def revolve_advances(schedule):
    """The next step of a turn: True for ADVANCE (segments schedule[ARGUMENT] up to schedule[UNTIL]
    run forward) or TAKE (the state kept in slot schedule[ARGUMENT]); False when the turn reaches
    the segment to reverse, schedule[ARGUMENT]."""
    revolve_next(schedule)
    return schedule[ACTION] != REVERSE


@runtime_jitable
def checkpoint_schedule(steps, state_bytes, iteration_bytes, budget, snapshots, segment_length):
    """The schedule for a loop of `steps` iterations whose carried state takes `state_bytes` and
    whose tape takes `iteration_bytes` per iteration. `snapshots` and `segment_length` fix those
    numbers when positive; otherwise a positive `budget` (bytes) is shared between the snapshots and
    the tape of one segment, and without one both are about the square root of `steps`. Its
    snapshot slots hold where the forward sweep keeps the state (`kept_at`)."""
    steps = max(steps, 0)   # range(n) with n < 0 runs no iteration
    state_bytes, iteration_bytes = max(state_bytes, 1), max(iteration_bytes, 1)
    length = segment_length
    if length <= 0 and budget > 0:
        # a tape that stays in cache, when the budget keeps a snapshot for every such segment;
        # else half the budget for the tape
        cached = max(1, min(steps, CACHED_TAPE_BYTES // iteration_bytes))
        if ((steps + cached - 1) // cached) * state_bytes + cached * iteration_bytes <= budget and snapshots <= 0:
            length = cached
        else:
            length = max(1, min(steps, budget // 2 // iteration_bytes))
        if snapshots > 0:
            length = max(1, min(steps, (budget - snapshots * state_bytes) // iteration_bytes))
    elif length <= 0:
        length = max(1, int(math.ceil(math.sqrt(steps))) if snapshots <= 0 else 1)
    segments = (steps + length - 1) // length
    slots = snapshots
    if slots <= 0:
        slots = max(1, (budget - length * iteration_bytes) // state_bytes) if budget > 0 else segments
    slots = max(1, min(slots, segments))
    schedule = np.zeros(HEADER + slots, dtype=np.int64)
    schedule[SEGMENTS], schedule[END], schedule[SLOTS] = segments, segments, slots
    schedule[SEGMENT_LENGTH], schedule[STEPS] = length, steps
    _plan_first_sweep(schedule)
    return schedule


@runtime_jitable
def _plan_first_sweep(schedule):
    """Fill the slots the forward sweep keeps: those revolve takes on its way to the last segment,
    and that segment's own start while a slot is free (so the reverse sweep need not re-run to it)."""
    end = schedule[END]
    schedule[CURRENT] = 0
    while end > 0 and schedule[CURRENT] != end - 1:
        revolve_next(schedule)
    top = schedule[TOP]
    if end > 1 and schedule[HEADER + top] != end - 1 and top + 1 < schedule[SLOTS]:
        schedule[TOP] = top + 1
        schedule[HEADER + top + 1] = end - 1
    schedule[CURRENT] = -1   # the forward sweep runs on to the loop's end
    schedule[ACTION] = DONE


@runtime_jitable
def kept_at(schedule, slot, segment):
    """Whether the forward sweep keeps the state at the start of `segment` in `slot` (the slots
    fill in order)."""
    return slot <= schedule[TOP] and schedule[HEADER + slot] == segment


@runtime_jitable
def segment_start(schedule, segment):
    """The iteration (counted from 0) that starts `segment`; the loop's length past the last."""
    return min(segment * schedule[SEGMENT_LENGTH], schedule[STEPS])


def nbytes_of(value):
    """The bytes a snapshot of `value` takes: an array's, or 8 for a number."""
    return value.nbytes if isinstance(value, np.ndarray) else 8


@runtime_overload(nbytes_of)
def _nbytes_of(value):
    if isinstance(value, types.Array):
        return lambda value: value.nbytes
    return lambda value: 8
