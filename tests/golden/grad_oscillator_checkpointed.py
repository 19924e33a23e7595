import math

import numpy as np

from srcgrad_runtime import numba_jit as jit
from srcgrad_runtime import ACTION, ADVANCE, ARGUMENT, SEGMENTS, SLOTS, UNTIL, checkpoint_schedule, kept_at, revolve_advances, revolve_turn, segment_start, sum_in_any_order


@jit
def vjp_oscillator_checkpointed(x0, v0, k, dt, n, out_bar):
    x_tape = np.empty(0)
    t_1 = x0
    t_2 = v0
    x = t_1
    v = t_2
    # the loop over t keeps no tape: the state (v, x) is kept at the start of the segments revolve picks, and the reverse sweep re-runs each segment with its tape
    schedule = checkpoint_schedule(n, 16, 8, 0, 8, 0)
    v_snapshots = np.empty(schedule[SLOTS])
    x_snapshots = np.empty(schedule[SLOTS])
    slot = 0
    for segment in range(schedule[SEGMENTS]):
        if kept_at(schedule, slot, segment):
            v_snapshots[slot] = v
            x_snapshots[slot] = x
            slot = slot + 1
        for t in range(segment_start(schedule, segment), segment_start(schedule, segment + 1)):
            neg = -k
            mul = neg * x
            mul_1 = 0.1 * v
            a = mul - mul_1
            mul_2 = dt * v
            x = x + mul_2
            mul_3 = dt * a
            v = v + mul_3
    # reverse sweep
    k_bar = 0.0
    add_bar = out_bar
    # d(return x * x + v)
    mul_4_bar = add_bar
    v_bar = add_bar
    x_bar = x * mul_4_bar
    x_bar += x * mul_4_bar
    # the reverse sweep of the loop over t, one segment per turn of revolve
    while revolve_turn(schedule):
        # restore the state at the start of a kept segment
        v = v_snapshots[schedule[ARGUMENT]]
        x = x_snapshots[schedule[ARGUMENT]]
        while revolve_advances(schedule):
            if schedule[ACTION] == ADVANCE:
                # re-run segments without a tape
                for t in range(segment_start(schedule, schedule[ARGUMENT]), segment_start(schedule, schedule[UNTIL])):
                    neg = -k
                    mul = neg * x
                    mul_1 = 0.1 * v
                    a = mul - mul_1
                    mul_2 = dt * v
                    x = x + mul_2
                    mul_3 = dt * a
                    v = v + mul_3
            else:
                # keep the state at the start of this segment
                v_snapshots[schedule[ARGUMENT]] = v
                x_snapshots[schedule[ARGUMENT]] = x
        # reverse the next segment: re-run it with its tape, then its adjoint
        first = segment_start(schedule, schedule[ARGUMENT])
        stop = segment_start(schedule, schedule[ARGUMENT] + 1)
        if x_tape.shape[0] < max(stop - first, 0):
            x_tape = np.empty(max(stop - first, 0))
        for t in range(first, stop):
            x_tape[t - first] = x
            neg = -k
            mul = neg * x
            mul_1 = 0.1 * v
            a = mul - mul_1
            mul_2 = dt * v
            x = x + mul_2
            mul_3 = dt * a
            v = v + mul_3
        for t in range(stop - 1, first - 1, -1):
            x = x_tape[t - first]
            neg = -k
            # d(v = v + dt * a)
            mul_3_bar = v_bar
            a_bar = dt * mul_3_bar
            # d(x = x + dt * v)
            mul_2_bar = x_bar
            v_bar += dt * mul_2_bar
            # d(a = -k * x - 0.1 * v)
            mul_bar = a_bar
            mul_1_bar = -a_bar
            v_bar += 0.1 * mul_1_bar
            neg_bar = x * mul_bar
            x_bar += neg * mul_bar
            k_bar = sum_in_any_order(k_bar, -neg_bar)
    # d(x, v = x0, v0)
    t_2_bar = v_bar
    t_1_bar = x_bar
    v0_bar = t_2_bar
    x0_bar = t_1_bar
    return x0_bar, v0_bar, k_bar
