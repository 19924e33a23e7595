"""A two-layer neural network on scikit-learn's handwritten digits, its parameters in a dict.

The model and its loss are plain NumPy, written the way JAX and PyTorch users write them; srcgrad
gives the gradient as a dict shaped like the parameters. Training is full-batch gradient descent
with momentum. The script checks one gradient entry against central differences, times a
training step beside the same model under jax.jit (when JAX is installed), and plots the loss.
Set MLP_STEPS for a shorter run, MLP_PLOT for where the plot goes (default: the current folder).
"""
import os
import time

import numpy as np

import srcgrad


def init_params(rng, n_in, n_hidden, n_out):
    return {
        "hidden": {"W": rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in), "b": np.zeros(n_hidden)},
        "out": {"W": rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden), "b": np.zeros(n_out)},
    }


def logits(params, images):
    hidden = np.tanh(images @ params["hidden"]["W"] + params["hidden"]["b"])
    return hidden @ params["out"]["W"] + params["out"]["b"]


def cross_entropy(params, images, one_hot):
    """Mean softmax cross-entropy; scores are shifted by their largest value so no exp overflows."""
    scores = logits(params, images)
    shifted = scores - np.max(scores)
    log_normalizer = np.log(np.sum(np.exp(shifted), axis=1))
    return np.mean(log_normalizer - np.sum(one_hot * shifted, axis=1))


def accuracy(params, images, labels):
    return float(np.mean(np.argmax(logits(params, images), axis=1) == labels))


def load_digits():
    from sklearn.datasets import load_digits as digits
    data = digits()
    images = (data.data - data.data.mean(axis=0)) / (data.data.std(axis=0) + 1e-8)
    return images, np.eye(10)[data.target], data.target


def train(value_and_grad, params, images, one_hot, steps, rate=0.5, momentum=0.9):
    velocity = {layer: {k: np.zeros_like(v) for k, v in weights.items()} for layer, weights in params.items()}
    losses = []
    for _ in range(steps):
        loss, grads = value_and_grad(params, images, one_hot)
        for layer, weights in params.items():
            for name in weights:
                velocity[layer][name] = momentum * velocity[layer][name] - rate * np.asarray(grads[layer][name])
                weights[name] = weights[name] + velocity[layer][name]
        losses.append(float(loss))
    return losses


def seconds_per_step(value_and_grad, params, images, one_hot, repeats=30):
    value_and_grad(params, images, one_hot)   # compiled before timing
    start = time.perf_counter()
    for _ in range(repeats):
        value_and_grad(params, images, one_hot)
    return (time.perf_counter() - start) / repeats


def jax_value_and_grad():
    """The same model in JAX, or None when JAX is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def loss(params, images, one_hot):
        hidden = jnp.tanh(images @ params["hidden"]["W"] + params["hidden"]["b"])
        scores = hidden @ params["out"]["W"] + params["out"]["b"]
        shifted = scores - jnp.max(scores)
        return jnp.mean(jnp.log(jnp.sum(jnp.exp(shifted), axis=1)) - jnp.sum(one_hot * shifted, axis=1))

    step = jax.jit(jax.value_and_grad(loss))
    return lambda params, images, one_hot: jax.block_until_ready(step(params, images, one_hot))


def check_one_entry(params, images, one_hot, grads, step=1e-6):
    weights = params["out"]["W"]
    saved = weights[3, 7]
    weights[3, 7] = saved + step
    up = cross_entropy(params, images, one_hot)
    weights[3, 7] = saved - step
    down = cross_entropy(params, images, one_hot)
    weights[3, 7] = saved
    numeric = (up - down) / (2 * step)
    assert abs(grads["out"]["W"][3, 7] - numeric) <= 1e-6 * max(1.0, abs(numeric)), (grads["out"]["W"][3, 7], numeric)


def plot(losses, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    figure, axes = plt.subplots(figsize=(5, 3.2))
    axes.plot(losses)
    axes.set_xlabel("training step (full batch)")
    axes.set_ylabel("cross-entropy")
    axes.set_yscale("log")
    axes.set_title("two-layer MLP on digits, gradients by srcgrad")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"loss curve: {path}")


def main() -> None:
    steps = int(os.environ.get("MLP_STEPS", "300"))
    images, one_hot, labels = load_digits()
    params = init_params(np.random.default_rng(0), images.shape[1], 32, 10)

    value_and_grad = srcgrad.value_and_grad(cross_entropy)
    loss, grads = value_and_grad(params, images, one_hot)
    check_one_entry(params, images, one_hot, grads)

    ours = seconds_per_step(value_and_grad, params, images, one_hot)
    jax_step = jax_value_and_grad()
    if jax_step is not None:
        theirs = seconds_per_step(jax_step, params, images, one_hot)
        jax_loss, jax_grads = jax_step(params, images, one_hot)
        np.testing.assert_allclose(np.asarray(jax_grads["hidden"]["W"]), grads["hidden"]["W"], rtol=1e-9, atol=1e-12)
        print(f"one training step (loss and gradient, {images.shape[0]} images): srcgrad {ours * 1e3:.2f} ms, "
              f"jax.jit {theirs * 1e3:.2f} ms (ratio {ours / theirs:.2f})")
    else:
        print(f"one training step: srcgrad {ours * 1e3:.2f} ms (JAX not installed: no comparison)")

    losses = train(value_and_grad, params, images, one_hot, steps)
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f} in {steps} steps; training accuracy "
          f"{accuracy(params, images, labels):.3f}")
    assert losses[-1] < 0.5 * losses[0]
    plot(losses, os.environ.get("MLP_PLOT", "mlp_digits_loss.png"))
    print("OK: the dict gradient matches finite differences and training lowers the loss.")


if __name__ == "__main__":
    main()
