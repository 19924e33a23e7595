"""The revolve schedule (runtime/revolve.py): every segment reversed once, in order, from the right
state, within its snapshots, with the fewest re-run segments there can be."""
from functools import lru_cache

import pytest

from srcgrad_runtime import revolve as R


@lru_cache(maxsize=None)
def fewest_reruns(segments: int, slots: int) -> int:
    """The optimum by exhaustive search: run m segments forward, keep a snapshot there, reverse the
    right part with one slot fewer and the left part with all of them."""
    if segments <= 1:
        return 0
    if slots <= 1:
        return segments * (segments - 1) // 2
    return min(m + fewest_reruns(segments - m, slots - 1) + fewest_reruns(m, slots) for m in range(1, segments))


def closed_form(segments: int, slots: int) -> int:
    """Griewank's count: r * n - C(s + r, r - 1), r the fewest repetitions with C(s + r, s) >= n."""
    from math import comb
    r = 0
    while comb(slots + r, slots) < segments:
        r += 1
    return r * segments - comb(slots + r, r - 1) if r else 0


def run(schedule, from_start: bool):
    """Play the schedule on a model whose state is the segment it starts; returns (segments re-run,
    segments reversed in order, largest slot used)."""
    slots = {}
    if from_start:   # the state at segment 0 in slot 0, nothing kept by a forward sweep
        schedule[R.TOP], schedule[R.HEADER], schedule[R.CURRENT] = 0, 0, 0
        state = 0
    else:
        state = schedule[R.SEGMENTS]   # the forward sweep ran to the end, keeping its slots
        for slot in range(schedule[R.TOP] + 1):
            slots[slot] = schedule[R.HEADER + slot]
    slots.setdefault(0, 0)
    reruns, reversed_, most = 0, [], 0
    while R.revolve_next(schedule):
        action, argument = schedule[R.ACTION], schedule[R.ARGUMENT]
        if action == R.ADVANCE:
            assert state == argument
            reruns += schedule[R.UNTIL] - argument
            state = schedule[R.UNTIL]
        elif action == R.TAKE:
            slots[argument] = state
            most = max(most, argument)
        elif action == R.RESTORE:
            state = slots[argument]
        else:
            assert action == R.REVERSE and state == argument
            reversed_.append(argument)
            state = None   # the adjoint leaves the state at the segment's start; the schedule does not rely on it
    return reruns, reversed_, most


@pytest.mark.parametrize("slots", [1, 2, 3, 4, 6, 9])
@pytest.mark.parametrize("segments", [1, 2, 3, 5, 8, 13, 21, 40, 77, 150])
def test_optimal_reruns_in_order_within_the_slots(segments, slots):
    schedule = R.checkpoint_schedule(segments, 8, 8, 0, slots, 1)
    reruns, reversed_, most = run(schedule, from_start=True)
    assert reversed_ == list(range(segments - 1, -1, -1))
    assert most < min(slots, segments)
    assert reruns == fewest_reruns(segments, min(slots, segments)) == closed_form(segments, min(slots, segments))


@pytest.mark.parametrize("segments,slots", [(1, 1), (2, 2), (10, 3), (40, 5), (100, 100), (1000, 12)])
def test_after_the_forward_sweep(segments, slots):
    """The forward sweep keeps the first phase's snapshots: the reverse sweep re-runs fewer segments
    than from scratch, never more than one full sweep when every segment has a slot."""
    schedule = R.checkpoint_schedule(segments, 8, 8, 0, slots, 1)
    kept = [schedule[R.HEADER + k] for k in range(schedule[R.TOP] + 1)]
    assert kept == sorted(kept) and kept[0] == 0
    reruns, reversed_, most = run(schedule, from_start=False)
    assert reversed_ == list(range(segments - 1, -1, -1))
    assert most < slots
    assert reruns <= fewest_reruns(segments, slots) if segments <= 40 else True
    if slots >= segments:
        assert reruns == 0


def test_sizes_from_a_budget():
    # 10^8 Lorenz steps, 24-byte state and tape per iteration, 100 MB: a few segments, a snapshot each
    schedule = R.checkpoint_schedule(10 ** 8, 24, 24, 100 * 10 ** 6, 0, 0)
    length, segments, slots = schedule[R.SEGMENT_LENGTH], schedule[R.SEGMENTS], schedule[R.SLOTS]
    assert length * 24 + slots * 24 <= 100 * 10 ** 6
    assert segments * length >= 10 ** 8 and slots == segments
    assert length * 24 <= R.CACHED_TAPE_BYTES   # the budget allows a snapshot per cache-sized segment
    # a budget too small for that: half of it for the tape
    schedule = R.checkpoint_schedule(10 ** 8, 24, 24, 10 ** 5, 0, 0)
    assert schedule[R.SEGMENT_LENGTH] == 10 ** 5 // 2 // 24
    # without a budget: about sqrt(steps) of each
    schedule = R.checkpoint_schedule(10 ** 6, 24, 24, 0, 0, 0)
    assert schedule[R.SEGMENT_LENGTH] == 1000 and schedule[R.SLOTS] == 1000
    # a fixed number of snapshots, one iteration per segment: classic revolve
    schedule = R.checkpoint_schedule(10 ** 4, 24, 24, 0, 20, 0)
    assert schedule[R.SEGMENT_LENGTH] == 1 and schedule[R.SLOTS] == 20
    assert R.segment_start(schedule, 3) == 3 and R.segment_start(schedule, 10 ** 4 + 5) == 10 ** 4


def test_numba_runs_the_same_schedule():
    import numba

    @numba.njit
    def replay(steps, slots):
        schedule = R.checkpoint_schedule(steps, 8, 8, 0, slots, 1)
        reruns = 0
        while R.revolve_next(schedule):
            if schedule[R.ACTION] == R.ADVANCE:
                reruns += schedule[R.UNTIL] - schedule[R.ARGUMENT]
        return reruns

    for steps, slots in [(40, 3), (1000, 12), (5, 5)]:
        assert replay(steps, slots) == run(R.checkpoint_schedule(steps, 8, 8, 0, slots, 1), from_start=False)[0]


def test_empty_loop():
    for steps in (0, -3):
        schedule = R.checkpoint_schedule(steps, 8, 8, 0, 0, 0)
        assert schedule[R.SEGMENTS] == 0 and not R.revolve_next(schedule)
