"""Functions for the pass tests (their source must live in a real file)."""
import math

import numpy as np

# array code written the Fortran way, shared with bench/fortran_style.py
from bench.fortran_programs import (gauss_seidel, heat_work_array, heat2d_work_grid as heat2d_work_array,  # noqa: F401
                                    jacobi_new_grid, red_black, row_sweep, upwind_in_place)


def nested_expression(x, y):
    return math.sin(x * y) + x ** 2


def early_exit(x, n):
    s = 0.0
    for i in range(n):
        if s > 3.0:
            break
        if i % 2 == 0:
            continue
        s = s + x * i
    return s


def vectorized(x, w):
    d = x[1:] - x[:-1]
    return np.sum(w[1:] * d * d) + np.dot(x, x)


def barycentric(V, u, j):
    """A point of a triangle as one expression over three rows: numbers and rows read between its terms."""
    return np.sum((u[0] * V[j[0]] + u[1] * V[j[1]] + (1.0 - u[0] - u[1]) * V[j[2]]) ** 2)


def two_lengths(x, y):
    """Two elementwise results never combined: numpy lets their lengths differ, so two loops."""
    a = 2.0 * x
    b = y * y
    return np.sum(a) + np.sum(b)


def keeps_array(x):
    y = 2.0 * x + 1.0
    return np.sum(y * y), y


def heat_in_place(u, k, steps):
    """Explicit heat-equation steps written into the same array: a slice write inside a loop."""
    v = np.zeros_like(u)
    v[:] = u
    for _ in range(steps):
        v[1:-1] = v[1:-1] + k * (v[2:] - 2.0 * v[1:-1] + v[:-2])
    return np.sum(v * v)


def tuple_variable(a, b):
    t = (a * b, a + b)
    return t[0] * t[1]


def weighted_row_norms(A, w):
    rows = np.sum(A * A, axis=1)
    cols = np.sum(A, 0)
    return np.sum(rows * w) + np.sum(cols * cols)


def column_peaks(A):
    return np.sum(np.max(A, axis=0) * np.array([1.0, 2.0, 3.0]))


def peak_over_both_axes(A):
    return np.sum(np.max(A, axis=(0, 1)))


def writes_into_argument(x):
    x[0] = x[0] * 2.0
    return np.sum(x * x)


def writes_through_alias(x):
    y = np.zeros_like(x)
    z = y
    for i in range(x.shape[0]):
        z[i] = x[i] * x[i]
    return np.sum(y)


def error_function_weighted(x):
    return math.erf(x) * x


def doubles_first_then_squares(x):
    x[0] = x[0] * 2.0
    return x * x


def rk4_stage(x, y):
    # a right-hand side written the Fortran way: a work array filled element by element
    n = x.shape[0]
    z = np.empty(n)
    z[0] = x[0]
    for i in range(1, n):
        z[i] = x[i] * y[i - 1]
    return z


def rk4_solve(x, steps):
    h = 1.0 / steps
    y = np.zeros(x.shape[0])
    for _ in range(steps):
        k1 = rk4_stage(x, y)
        k2 = rk4_stage(x, y + h / 2.0 * k1)
        k3 = rk4_stage(x, y + h / 2.0 * k2)
        k4 = rk4_stage(x, y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def rk4_last(x, steps):
    # the gradient of one component of a solver's result: the solver is called once
    return rk4_solve(x, steps)[-1]


def cell_update(w, h, u):
    # a model step too long to count as small, called from one place in a time loop
    a = np.tanh(w[0] * h + u)
    b = 1.0 / (1.0 + np.exp(-(w[1] * h - u)))
    c = a * b + (1.0 - b) * h
    d = np.sin(c) * w[2] + c * c * w[3]
    e = d - np.sum(d) / d.shape[0]
    f = e * np.cos(u) + w[4] * a
    g = f / (1.0 + f * f) + b * c
    out = np.empty(g.shape[0])
    for i in range(g.shape[0]):
        out[i] = g[i] * w[5, i] + a[i]
    return out


def sequence_loss(w, h0, inputs):
    h = h0
    total = 0.0
    for t in range(inputs.shape[0]):
        h = cell_update(w, h, inputs[t])
        total += np.sum(h * h)
    return total



def packed_lower_times(packed, x):
    # a lower triangle packed column by column, walked by a counter (GradBench gmm's Qtimesx)
    d = x.shape[0]
    out = x * 1.0
    idx = 0
    for i in range(d):
        for j in range(i + 1, d):
            out[j] += packed[idx] * x[i]
            idx += 1
    return np.sum(out ** 2)


def strided_counter_until(x, limit):
    # a counter stepped by 2 after its use, in a loop that may leave early
    s = 0.0
    k = 1
    for i in range(2, x.shape[0] - 4):
        s = s + np.sin(x[k] * x[i])
        k = k + 2
        if s > limit:
            break
    return s


def rows_of_a_shrinking_range(A, x):
    # an inner loop over range(3 - 2r): three rows, then one, then no iteration (a negative bound)
    total = 0.0
    for r in range(3):
        y = A @ x
        for i in range(3 - 2 * r):
            total += y[i] * x[i]
    return total


def lagged_product_steps(x, steps, k):
    # each step's stage reads a fresh array one row back (z[i] = x[i] * w[i - 1], RK4's shifted
    # right-hand side) for i below k: the adjoint adds once into rows 0..k-2 of w's buffer
    y = x * 0.5
    for _ in range(steps):
        w = y * 0.9 + 0.1
        z = x * 1.0
        for i in range(1, k):
            z[i] = x[i] * np.sin(w[i - 1])
        y = y + 0.1 * z
    return np.sum(y * y)


def lead_product_steps(x, steps):
    # the stage reads one row ahead: the rows added into are 1..n-1, row 0 is never written
    y = x * 0.5
    for _ in range(steps):
        w = y * 0.9 + 0.1
        n = x.shape[0]
        z = np.empty(n)
        z[n - 1] = x[n - 1]
        for i in range(n - 1):
            z[i] = x[i] * np.cos(w[i + 1])
        y = y + 0.1 * z
    return np.sum(y * y)


def lag_two_from_one_steps(x, steps):
    # the index runs from 2 and reads one and two rows back: v's rows 0..n-3 are added into
    # once each, w's rows 1..n-2 (row 0 is not written)
    y = x * 0.5
    for _ in range(steps):
        w = y * 0.9 + 0.1
        v = y * 0.8 - 0.1
        n = x.shape[0]
        z = x * 1.0
        for i in range(2, n):
            z[i] = x[i] * np.sin(w[i - 1]) + v[i - 2]
        y = y + 0.1 * z
    return np.sum(y * y)


def mixture_of_triangles(packed, centres, X):
    # per point and component, a fresh vector from a packed lower triangle times the centred point
    # (GradBench gmm's inner loop): its reverse reads the product back rather than recomputing it
    k, d = centres.shape
    total = 0.0
    terms = np.zeros(k)
    for p in range(X.shape[0]):
        for c in range(k):
            centred = X[p] - centres[c]
            out = centred * 1.5
            idx = 0
            for i in range(d):
                for j in range(i + 1, d):
                    out[j] += packed[c, idx] * centred[i]
                    idx += 1
            product = out
            terms[c] = -0.5 * np.sum(product ** 2)
        total += np.log(np.sum(np.exp(terms)))
    return total


def triangle_then_logged(packed, centres, X):
    # as mixture_of_triangles, with a number from the product the adjoint reads (the log's argument)
    k, d = centres.shape
    total = 0.0
    terms = np.zeros(k)
    for p in range(X.shape[0]):
        for c in range(k):
            centred = X[p] - centres[c]
            out = centred * 1.5
            idx = 0
            for i in range(d):
                for j in range(i + 1, d):
                    out[j] += packed[c, idx] * centred[i]
                    idx += 1
            terms[c] = np.log(1.0 + np.sum(out ** 2))
        total += np.sum(terms * terms)
    return total


def triangle_then_squared(packed, X):
    # the fresh vector is rewritten after the nest: its adjoint needs the values from before that
    d = X.shape[1]
    total = 0.0
    for p in range(X.shape[0]):
        v = X[p] * 2.0
        idx = 0
        for i in range(d):
            for j in range(i + 1, d):
                v[j] += packed[idx] * v[i]
                idx += 1
        for j in range(d):
            v[j] = v[j] * v[j]
        total += np.sum(np.sin(v))
    return total


def scaled_row_sums(A, x):
    # x[i]'s adjoint gathers one term per column: added into a local sum, not into x_bar[i] each time
    total = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            total += np.sin(A[i, j] * x[i])
    return total


def triangle_summed_only(packed, centres, X):
    # each component's term only adds to the total
    k, d = centres.shape
    total = 0.0
    for p in range(X.shape[0]):
        for c in range(k):
            centred = X[p] - centres[c]
            out = centred * 1.5
            idx = 0
            for i in range(d):
                for j in range(i + 1, d):
                    out[j] += packed[c, idx] * centred[i]
                    idx += 1
            total += np.log(1.0 + np.sum(out ** 2))
    return total


def stage_read_twice(x, steps):
    """A stage under a second name, both names read by the update: the second name's adjoint is
    still needed after the first's takes its contribution."""
    y = x.copy()
    for _ in range(steps):
        z = np.sin(y)
        k = z
        y = y + 0.1 * k * z + 0.05 * k
    return np.sum(y * y)


def rows_accumulated(W, X):
    """Each point's product with a packed lower triangle, a row of W: the row's adjoint only ever
    receives additions, so it can be that row of W's adjoint."""
    total = 0.0
    d = X.shape[1]
    for p in range(X.shape[0]):
        for c in range(W.shape[0]):
            w = W[c]
            out = X[p] * 1.0
            idx = 0
            for i in range(d):
                for j in range(i + 1, d):
                    out[j] += w[idx] * X[p, i]
                    idx += 1
            total += np.sum(out ** 2) * (c + 1.0)
    return total


def _gate(x):
    return 1.0 / (1.0 + np.exp(-x))


def gated_cell(gates, cell):
    """An LSTM cell's update from its gates: four quarters of one array through inlined calls, and
    the cell state bound anew from its old value."""
    h = cell.shape[0]
    forget = _gate(gates[0:h])
    ingate = _gate(gates[h:2 * h])
    outgate = _gate(gates[2 * h:3 * h])
    cell = cell * forget + ingate * np.tanh(gates[3 * h:])
    hidden = outgate * np.tanh(cell)
    return np.sum(hidden * hidden) + np.sum(cell), cell


def decayed(c, f):
    c = c * f + f
    return np.sum(c * c)


def residual_rows(x, V, u):
    """Each row of a work array is one elementwise expression (GradBench ht's residuals)."""
    err = np.empty((u.shape[0], x.shape[0]))
    for i in range(u.shape[0]):
        r = V[i % V.shape[0]]
        err[i] = x * r - u[i, 0] * r
    return err


def rows_from_rows(x, n):
    """Each row is computed from the row before: the loop reads the array it writes."""
    rows = np.zeros((n, x.shape[0]))
    rows[0] = x
    for i in range(1, n):
        previous = rows[i - 1]
        rows[i] = 0.5 * previous + x * previous
    return rows


def rows_through_a_view(x, n):
    """The rows are read through a view taken before the loop: a second name for the array."""
    rows = np.ones((n, x.shape[0]))
    first = rows[0]
    for i in range(n):
        rows[i] = first * x + first
    return rows


def planes(x, n):
    """An elementwise row of a 3-D array, two indices in."""
    out = np.empty((n, 2, x.shape[0]))
    for i in range(n):
        for j in range(2):
            out[i, j] = np.sin(x * (i + j)) + x
    return out


def rows_overlapping_flat(x):
    """Row 1 from elements 1-3 of the array's flat view, the last of which is row 1's first: numpy
    reads all three before writing, so a loop writing the row in place would read its new value."""
    rows = np.ones((3, 3))
    rows[0] = x
    flat = rows.reshape(9)
    rows[1] = flat[1:4] * x
    return rows


def where_of_compared_rows(x):
    """np.where on a comparison whose operands ANF leaves whole (906:689:0)."""
    w = np.empty((3, 2))
    w[0, 0] = x[0]
    chosen = np.where(w[:, 1] > np.ones(3) * w[2, 0], w[:, 0], w[:, 1])
    return np.sum(chosen * x[1])


def lstm_like_cell(w, h, c):
    gates = w * np.concatenate((h, h)) + 0.5
    n = h.shape[0]
    forget = 1.0 / (1.0 + np.exp(-gates[:n]))
    change = np.tanh(gates[n:])
    c = c * forget + change
    h = np.tanh(c)
    return h, c


def lstm_like_layers(w, state, x):
    new_state = state.copy()
    for i in range(0, state.shape[0], 2):
        h, c = lstm_like_cell(w[i], state[i], state[i + 1])
        new_state[i] = h
        new_state[i + 1] = c
        x = h * x
    return x, new_state


def lstm_like(w, state, seq):
    """GradBench lstm's shape: cells returning a tuple of arrays, in layers, over a sequence."""
    total = 0.0
    for t in range(seq.shape[0]):
        y, state = lstm_like_layers(w, state, seq[t])
        total += np.sum(y * seq[t])
    return total


def lstm_cell(weight, bias, hidden, cell, x):
    gates = np.concatenate((x, hidden)) * weight + bias
    n = hidden.shape[0]
    forget = 1.0 / (1.0 + np.exp(-gates[:n]))
    change = np.tanh(gates[n:])
    cell = cell * forget + change
    hidden = np.tanh(cell) * forget
    return hidden, cell


def lstm_layers(w, state, x):
    """GradBench lstm's `predict`: each layer's weights and biases are two rows of w, its hidden
    state goes on as the next layer's input (`x = hidden`, a second name)."""
    s2 = state.copy()
    for i in range(0, state.shape[0], 2):
        hidden, cell = lstm_cell(w[i], w[i + 1], state[i], state[i + 1], x)
        s2[i] = hidden
        s2[i + 1] = cell
        x = hidden
    return x, s2


def lstm_sequence(w, state, seq):
    total = 0.0
    for t in range(seq.shape[0]):
        y, state = lstm_layers(w, state, seq[t])
        total += np.sum(y * seq[t])
    return total


def heun_stage(x, y):
    # a right-hand side filling a work array made like its argument
    z = np.empty_like(x)
    z[0] = x[0]
    for i in range(1, z.shape[0]):
        z[i] = x[i] * y[i - 1]
    return z


def heun_last(x, steps):
    # Heun's method written the Fortran way: each step fills a new state array element by element
    y = np.zeros(len(x))
    h = 1.0 / steps
    for _ in range(steps):
        k1 = heun_stage(x, y)
        k2 = heun_stage(x, y + h * k1)
        w = np.zeros_like(y)
        for i in range(len(w)):
            w[i] = y[i] + 0.5 * h * (k1[i] + k2[i])
        y = w
    return y[-1]


def squared_in_place(y, h, steps):
    # each step squares the state in place (the adjoint reads each element's old value), then a
    # work array reads the new state at a neighbour, and its element written first is read back
    w = np.zeros(len(y))
    y = y.copy()
    total = 0.0
    for _ in range(steps):
        for i in range(len(y)):
            y[i] = h * y[i] * y[i] + y[i]
        for i in range(1, len(y)):
            w[i] = y[i - 1] * y[i]
            total += w[i] * w[i]
    return total + np.sum(y)


def gauss_seidel_nonlinear(f, h, sweeps):
    # the same with a term in the old value: the adjoint reads what the replay restores
    n = f.shape[0]
    u = np.zeros((n, n)) + 0.1
    for _ in range(sweeps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                u[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1]) + h * np.sin(u[i, j]) * f[i, j]
    return np.sum(u * u)


def gauss_seidel_tracked(f, h, sweeps):
    # linear again, but each sweep also sums the squares of what it wrote, row by row
    n = f.shape[0]
    u = np.zeros((n, n))
    rows = np.zeros(n)
    for _ in range(sweeps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                u[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] + h * f[i, j])
                rows[i] = rows[i] + u[i, j] * u[i, j]
    return np.sum(u) + np.sum(rows * rows)


def gauss_seidel_from_the_right(f, h, sweeps):
    # the sweep along a row runs right to left through an index computed from the loop's
    # variable, so its writes are logged element by element
    n = f.shape[0]
    u = np.zeros((n, n))
    for _ in range(sweeps):
        for i in range(1, n - 1):
            for k in range(1, n - 1):
                j = n - 1 - k
                u[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] + h * h * f[i, j])
    return np.sum(u * u)


def wave_step_sums(u0, c, steps):
    """An explicit 1-D wave-like update read at i - 1, i + 1 and i - 2, a parameter read every
    iteration: its adjoint adds into u_bar at four offsets and sums c_bar."""
    u = u0.copy()
    n = u.shape[0]
    new = np.zeros(n)
    for _ in range(steps):
        for i in range(2, n - 1):
            new[i] = u[i] + c * (u[i + 1] - u[i - 1]) + 0.1 * c * c * u[i - 2]
        for i in range(2, n - 1):
            u[i] = new[i]
    return np.sum(u * u)


def neighbours_read_back(x, a):
    """The array added into at i - 1 and i + 1 is read in the same loop: iterations must stay in
    order, so the loop is not split."""
    y = x.copy()
    total = 0.0
    for i in range(1, x.shape[0] - 1):
        y[i] = a * y[i - 1] + y[i + 1] * y[i]
        total += y[i] * y[i - 1]
    return total


def two_fields_coupled(u0, v0, k, steps):
    """Two fields, each step reading the other's neighbours: adds into u_bar and v_bar at three
    offsets each, from a descending loop."""
    u, v = u0.copy(), v0.copy()
    n = u.shape[0]
    un, vn = np.zeros_like(u), np.zeros_like(v)
    for _ in range(steps):
        for i in range(n - 2, 0, -1):
            un[i] = u[i] + k * (v[i + 1] - 2.0 * u[i] + v[i - 1])
            vn[i] = v[i] - k * (u[i + 1] - u[i - 1]) * 0.5
        for i in range(1, n - 1):
            u[i] = un[i]
            v[i] = vn[i]
    return np.sum(u * v) + np.sum(u)


def smoothed_with_memory(x, a):
    """A running value carried from one iteration to the next beside a stencil: the adds at i - 1
    need the carried adjoint, so the loop stays whole."""
    s = 0.0
    out = np.zeros(x.shape[0])
    for i in range(1, x.shape[0] - 1):
        s = a * s + x[i - 1] - x[i + 1]
        out[i] = s * x[i]
    return np.sum(out * out)


def stencil_steps_with_costly_weights(u0, a):
    """Adds at i - 1 and i + 1 scaled by a transcendental the forward sweep tapes: each loop the
    adds are split into reads it back rather than computing it again."""
    u = u0.copy()
    total = 0.0
    for _ in range(3):
        for i in range(1, u.shape[0] - 1):
            total += np.tanh(a * u[i]) * (u[i + 1] - u[i - 1])
        u = 0.9 * u
    return total


def rosenbrock_of_a_vector(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
