"""GradBench `lstm`: the loss of a multi-layer LSTM over a text and its gradient (port of tools/pytorch/lstm_objective.py)."""

import numba
import numpy as np
import srcgrad
from common import check_gradient, fd_report, timed

DERIVATIVE = "jacobian"


@numba.njit
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@numba.njit
def lstm(weight, bias, hidden, cell, _input):
    """One LSTM cell; `gates` is hcat(input, hidden, input, hidden) .* weight .+ bias."""
    gates = np.concatenate((_input, hidden, _input, hidden)) * weight + bias
    hsize = hidden.shape[0]
    forget = sigmoid(gates[0:hsize])
    ingate = sigmoid(gates[hsize:2 * hsize])
    outgate = sigmoid(gates[2 * hsize:3 * hsize])
    change = np.tanh(gates[3 * hsize:])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return hidden, cell


@numba.njit
def predict(w, w2, s, x):
    """Run the layers on input x from state s; return the prediction and the new state."""
    s2 = s.copy()
    x = x * w2[0]
    for i in range(0, s.shape[0], 2):
        hidden, cell = lstm(w[i], w[i + 1], s[i], s[i + 1], x)
        s2[i] = hidden
        s2[i + 1] = cell
        x = hidden
    return x * w2[1] + w2[2], s2


def lstm_objective(main_params, extra_params, state, sequence):
    total = 0.0
    count = 0
    _input = sequence[0]
    for t in range(sequence.shape[0] - 1):
        ypred, state = predict(main_params, extra_params, state, _input)
        # log(sum(exp(ypred), 2)): the reference's builtin sum starts at 2
        ynorm = ypred - np.log(np.sum(np.exp(ypred)) + 2.0)
        ygold = sequence[t + 1]
        total += np.sum(ygold * ynorm)
        count += ygold.shape[0]
        _input = ygold
    return -total / count


primal_lstm = numba.njit(lstm_objective)
gradient_lstm = srcgrad.grad(lstm_objective, wrt=(0, 1))


def prepare(input):
    return tuple(np.array(input[key], dtype=np.float64)
                 for key in ("main_params", "extra_params", "state", "sequence"))


@timed(pre=prepare, post=float)
def objective(args):
    return primal_lstm(*args)


def as_json(grads):
    """GradBench's layout: the main parameters' gradient flattened, then the extra ones'."""
    return np.concatenate([g.ravel() for g in grads]).tolist()


@timed(pre=prepare, post=as_json)
def jacobian(args):
    return gradient_lstm(*args)


def check(input):
    main, extra, state, sequence = prepare(input)
    g_main, g_extra = gradient_lstm(main, extra, state, sequence)
    return fd_report(
        fd_rel_err_main=check_gradient(lambda v: primal_lstm(v, extra, state, sequence), main, g_main),
        fd_rel_err_extra=check_gradient(lambda v: primal_lstm(main, v, state, sequence), extra, g_extra))
