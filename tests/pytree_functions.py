"""Losses with their parameters in dicts and tuples, as JAX and PyTorch users write them."""
import numpy as np


def layer(p, h):
    return np.tanh(h @ p["W"] + p["b"])


def mlp_loss(params, x, y):
    h = layer(params["hidden"], x)
    out = h @ params["out"]["W"] + params["out"]["b"]
    return np.mean((out - y) ** 2) + 0.01 * params["scale"] ** 2


def mlp_loss_tuples(params, x, y):
    (W1, b1), (W2, b2), scale = params
    h = np.tanh(x @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - y) ** 2) + 0.01 * scale ** 2


def unknown_key(params, x):
    return np.sum(params["weights"] * x)


def loss_with_aux(w, x, y):
    prediction = x @ w
    residual = prediction - y
    return np.mean(residual ** 2), (prediction, np.max(np.abs(residual)))


def loss_only(w, x, y):
    return loss_with_aux(w, x, y)[0]


def metrics_as_aux(w, x):
    """A loss with its metrics in a dict, as JAX users return them with has_aux=True."""
    pred = np.tanh(x @ w)
    return np.sum(pred ** 2), {"mean": np.mean(pred), "first": pred[0]}


def named_outputs(w):
    """A dict result built and read by its keys inside the function too."""
    parts = {"energy": np.sum(w ** 2), "force": -2.0 * w}
    return {"energy": parts["energy"] * 0.5, "force": parts["force"], "peak": np.max(w)}
