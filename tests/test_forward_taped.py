"""Inner loops of a time loop taped in the forward sweep: the reverse sweep reads what a layer loop
left instead of running it again (GradBench lstm's shape), and falls back to replaying it when
what the loop left may change before the reverse reads it."""
import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import pass_functions as pf
import srcgrad
from gradcheck import check_vjp


def layered_sequence(W, h0, xs):
    """A time loop over a loop over layers, each an elementwise cell; a number summed over layers."""
    state = h0.copy()
    total = 0.0
    for t in range(xs.shape[0]):
        x = xs[t]
        new = state.copy()
        acc = 0.0
        for l in range(state.shape[0]):
            h = np.tanh(W[l] * x + state[l])
            new[l] = h
            x = h
            acc = acc + np.sum(h)
        state = new
        total += np.sum(x * x) + acc * acc
    return total


def layered_then_scaled(W, h0, xs):
    """The layers' array is written after the layer loop, and the write's adjoint reads the old
    value: a reference kept by the forward sweep would see the new one, so the reverse sweep
    replays the loop."""
    state = h0.copy()
    total = 0.0
    for t in range(xs.shape[0]):
        x = xs[t] * 1.0
        new = state.copy()
        for l in range(state.shape[0]):
            h = np.tanh(W[l] * x + state[l])
            new[l] = h
            x = h
        new[0] = new[0] * new[0]
        state = new
        total += np.sum(x * x) + np.sum(new)
    return total


def layered_into_work_array(W, h0, xs):
    """The layer loop overwrites a work array made before the time loop: the next time step
    overwrites what a kept reference would show, so the reverse sweep replays the loop."""
    n = h0.shape[1]
    h = h0[0] * 1.0
    work = np.zeros(n)
    total = 0.0
    for t in range(xs.shape[0]):
        for l in range(n):
            work[l] = np.tanh(np.sum(W[l % W.shape[0]] * h) + xs[t, l])
        h = work * 1.0
        total += np.sum(work * work)
    return total


def runs_of_growing_length(W, xs):
    """Each layer's elementwise run has its own length, the first none: the forward sweep keeps the
    exponentials of every run, each where the runs before it end."""
    total = 0.0
    for t in range(xs.shape[0]):
        x = xs[t]
        acc = 0.0
        for l in range(W.shape[0]):
            h = np.exp(-W[l, :l] * x[:l])
            acc = acc + np.sum(h * h) * x[l]
        total += acc * x[0]
    return total


def _code(source: str) -> str:
    """The source without its comment lines (`# d(h = np.tanh(...))` names the primal's call)."""
    return "\n".join(line for line in source.splitlines() if not line.strip().startswith("#"))


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 4)) * 0.5, rng.normal(size=(3, 4)), rng.normal(size=(5, 4))


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("fn", [layered_sequence, layered_then_scaled, layered_into_work_array])
def test_gradients_match_finite_differences(fn, backend):
    check_vjp(fn, _inputs(), (0, 1, 2), backend=backend)


def test_the_layer_loop_runs_once_in_the_forward_sweep_and_its_results_are_read_back():
    grad = srcgrad.grad(layered_sequence, wrt=(0, 1, 2))
    grad(*_inputs())
    source = grad.source
    forward, reverse = source.split("# reverse sweep")
    assert "for l in range(state_shape_0):" in forward and "x_tape.append(x)" in forward
    assert "for l in range(state_shape_0):" not in reverse   # the layers' forward is not replayed
    for name in ("x", "new", "acc"):
        assert f"{name}_after_tape.append({name})" in forward and f"{name} = {name}_after_tape.pop()" in reverse
    # the cells' tanh, stored per element by the forward sweep for every run, is not computed again
    assert "np.tanh(" in forward and "np.tanh(" not in _code(reverse) and "_bases.pop()" in reverse


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_runs_of_different_lengths_read_back_their_own_values(backend):
    rng = np.random.default_rng(2)
    W, xs = rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(3, 4))
    check_vjp(runs_of_growing_length, (W, xs), (0, 1), backend=backend)
    grad = srcgrad.grad(runs_of_growing_length, wrt=(0, 1), backend=backend)
    grad(W, xs)
    reverse = grad.source.split("# reverse sweep")[1]
    assert "np.exp(" not in _code(reverse) and "_bases.pop()" in reverse


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_elementwise_results_the_adjoint_reads_are_kept_not_replayed(backend):
    """GradBench ode's shape (pass_functions.rk4_last): each stage's input `y + c * k` is a new
    array the stage's adjoint reads. The three are kept by reference in the forward sweep; with
    them, no stage needs replaying, so every loop of a reverse step is an adjoint (each iteration
    its own elements, so in the primal's order), none a replay. The stages themselves (`k1` ...),
    which only the replay read, are not kept."""
    x = np.linspace(0.2, 0.9, 12)   # longer than a small array held as scalars
    check_vjp(pf.rk4_last, (x, 3), 0, backend=backend)
    grad = srcgrad.grad(pf.rk4_last, backend=backend)
    grad(x, 3)
    reverse = grad.source.split("# reverse sweep")[1]
    assert reverse.count("_after_tape.pop()") == 3 and "k1_after_tape" not in grad.source
    steps = reverse[reverse.index("in range(steps - 1, -1, -1):"):]
    loops = steps.split("\n        for ")[1:]
    assert len(loops) == 4 + 4 and all("_bar" in loop for loop in loops)


@pytest.mark.parametrize("fn, header", [(layered_then_scaled, "for l in range(state_shape_0):"),
                                        (layered_into_work_array, "for l in range(n):")])
def test_a_loop_whose_results_change_later_is_replayed(fn, header):
    grad = srcgrad.grad(fn, wrt=(0, 1, 2))
    grad(*_inputs())
    reverse = grad.source.split("# reverse sweep")[1]
    assert "_after_tape" not in grad.source and header in reverse


def test_a_time_loop_under_a_memory_budget_replays_its_layers():
    """A checkpointed time loop keeps a few snapshots only: taping every layer would defeat it."""
    W, h0, xs = _inputs(1)
    grad = srcgrad.grad(layered_sequence, wrt=(0, 1, 2), memory="1MB")
    expected = srcgrad.grad(layered_sequence, wrt=(0, 1, 2))(W, h0, xs)
    for got, want in zip(grad(W, h0, xs), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert "_after_tape" not in grad.source


def rnn_two_layers(Wx, Wh, b, xs):
    """A two-layer Elman network over a sequence, the layers a loop: tanh cells, softplus loss."""
    layers, n = Wh.shape[0], Wh.shape[1]
    h = np.zeros((layers, n))
    loss = 0.0
    for t in range(xs.shape[0]):
        inp = xs[t]
        h_next = np.zeros((layers, n))
        for l in range(layers):
            pre = Wx[l] * inp + Wh[l] * h[l] + b[l]
            out = np.tanh(pre)
            h_next[l] = out
            inp = out
        h = h_next
        loss += np.sum(np.log(1.0 + np.exp(inp)))
    return loss


def stepped_decay(k, y0, steps):
    """A stiff decay integrated in steps of two substeps, every other rate of the substep loop
    (a stride of 2), exponential factors per element."""
    y = y0.copy()
    energy = 0.0
    for s in range(steps):
        for sub in range(0, 4, 2):
            rate = np.exp(-k * (sub + 1.0) * 0.1)
            y = y * rate + 0.05 * np.sin(y)
        energy += np.sum(y * y)
    return energy


def gated_means(W, X):
    """Per time step, a gated running mean over feature groups counted down (a negative step)."""
    total = 0.0
    for t in range(X.shape[0]):
        x = X[t]
        m = np.zeros(x.shape[0])
        for g in range(W.shape[0] - 1, -1, -1):
            gate = 1.0 / (1.0 + np.exp(-(W[g] * x)))
            m = gate * m + (1.0 - gate) * x
        total += np.sum(m * m) + np.sum(np.log(1.0 + m * m))
    return total


_CORPUS = {
    "rnn_two_layers": (rnn_two_layers, lambda rng: (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)) * 0.5,
                                                    rng.normal(size=(2, 3)) * 0.1, rng.normal(size=(4, 3))), (0, 1, 2, 3)),
    "stepped_decay": (stepped_decay, lambda rng: (rng.uniform(0.5, 1.5, size=4), rng.normal(size=4), 3), (0, 1)),
    "gated_means": (gated_means, lambda rng: (rng.normal(size=(3, 4)), rng.normal(size=(5, 4))), (0, 1)),
}


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize("name", sorted(_CORPUS))
def test_time_loops_over_layers_written_by_hand(name, backend):
    """Models as a scientist writes them, whose layer (or substep) loop is taped in the forward
    sweep with the exponentials of its cells: gradients against finite differences."""
    fn, make, wrt = _CORPUS[name]
    args = make(np.random.default_rng(7))
    check_vjp(fn, args, wrt, backend=backend)
    grad = srcgrad.grad(fn, wrt=wrt, backend=backend)
    grad(*args)
    assert "_after_tape" in grad.source and "_bases.pop()" in grad.source
