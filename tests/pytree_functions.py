"""Losses with their parameters in dicts and tuples, as JAX and PyTorch users write them."""
import numpy as np


def layer(p, h):
    return np.tanh(h @ p["W"] + p["b"])


def mlp_loss(params, x, y):
    h = layer(params["hidden"], x)
    out = h @ params["out"]["W"] + params["out"]["b"]
    return np.mean((out - y) ** 2) + 0.01 * params["scale"] ** 2


def deep_mlp_loss(layers, x, y):
    """Layers of different widths looped over, as a tuple of (W, b) pairs."""
    h = x
    for W, b in layers:
        h = np.tanh(h @ W + b)
    return np.mean((h[:, 0] - y) ** 2)


def deep_mlp_loss_indexed(layers, x, y):
    """The same, the layers indexed by position (reverse mode refused `layers[i]` before)."""
    h = x
    for i in range(len(layers)):
        W, b = layers[i]
        h = np.tanh(h @ W + b)
    return np.mean((h[:, 0] - y) ** 2)


def deep_mlp_loss_dict(params, x, y):
    """The same, its weights and biases two tuples of a dict, zipped; a residual scaled by layer."""
    h = x
    for k, (W, b) in enumerate(zip(params["weights"], params["biases"])):
        h = np.tanh(h @ W + b) * (1.0 + 0.1 * k)
    return np.mean((h[:, 0] - y) ** 2)


def deep_mlp_loss_unrolled(layers, x, y):
    (W1, b1), (W2, b2), (W3, b3) = layers
    h = np.tanh(x @ W1 + b1)
    h = np.tanh(h @ W2 + b2)
    h = np.tanh(h @ W3 + b3)
    return np.mean((h[:, 0] - y) ** 2)


def stopped_early(layers, x):
    """Layers applied until the activations saturate: `break` leaves the loop over the tuple."""
    h = x
    for W in layers:
        h = np.tanh(W @ h)
        if np.max(np.abs(h)) > 0.999:
            break
    return np.sum(h ** 2)


def switched_off_or_stopped(layers, x):
    """A layer whose first weight is negative is skipped (`continue`), and saturation stops the loop."""
    h = x
    for W in layers:
        if W[0, 0] < 0.0:
            continue
        h = np.tanh(W @ h)
        if np.max(np.abs(h)) > 0.999:
            break
    return np.sum(h ** 2)


def over_tuples_written_out(x, W1, W2):
    """Loops over tuples written in the loop header: step sizes (one loop over a tuple inside
    another: fuzz 961:1147:0, the inner one was not unrolled), then two layers."""
    total = 0.0
    for h in (0.1, 0.05, 0.01):
        for shift in (h, 2.0 * h):
            total = total + np.sum(np.sin(x + shift) - np.sin(x)) / shift
    for W in (W1, W2):
        x = np.tanh(W @ x)
    return total + np.sum(x ** 2)


def two_layers_through_one_name(W1, b1, W2, b2, x):
    """One name rebound to pairs of arrays of other shapes: reverse mode gave the second pair the
    first pair's adjoints (an InternalError on python, garbage on numba)."""
    layer = (W1, b1)
    h = np.tanh(layer[0] @ x + layer[1])
    layer = (W2, b2)
    h = np.tanh(layer[0] @ h + layer[1])
    return np.sum(h ** 2)


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


def chained_maps(maps, x):
    """`maps` a Python list of matrices, applied in turn (reported refused with an internal error,
    2026-12-08)."""
    h = x
    for W in maps:
        h = np.tanh(W @ h)
    return np.sum(h)


def layers_by_name(params, x, y):
    """A dict of layers indexed by a loop over their names (reported refused, 2026-12-08)."""
    h = x
    for name in ("l1", "l2"):
        h = np.tanh(h @ params[name]["W"] + params[name]["b"])
    return 0.5 * np.sum((h.sum(axis=1) - y) ** 2)
