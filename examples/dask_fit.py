"""Fit a Gaussian mixture to data split over a Dask cluster: srcgrad gradients on every worker.

The negative log-likelihood is a sum over data points, written with loops (a log-sum-exp per
point over the components). The data are split into chunks that stay on the workers (scattered
once); each gradient evaluation maps `srcgrad.value_and_grad` of the loss over the chunks and adds
the results. The derivative function travels to the workers as a small pickle (its recipe): each
worker generates and compiles the derivative once, in its own cache directory, and reuses it for
every chunk and iteration. This script's functions live in `__main__`, so they travel with their
source.

The script checks the distributed gradient against the same derivative on the whole data set in
this process, prints the time per gradient for 1, 2 and 4 worker processes, and fits the mixture's
means with `scipy.optimize.minimize(method="L-BFGS-B", jac=True)`.

Run `python examples/dask_fit.py [n_points]` (default 400,000; or set DASK_FIT_POINTS), and set
DASK_FIT_WORKERS=2 (say) for other cluster sizes than 1, 2 and 4. Needs `pip install -e ".[dask]"` (or `pip install "dask[distributed]"`).
"""
import math
import os
import sys
import time

import numpy as np
from scipy.optimize import minimize

import srcgrad

COMPONENTS, DIMENSIONS = 4, 2


def negative_log_likelihood(means, log_weights, X):
    """-sum_i log sum_k w_k N(x_i; mean_k, I), with normalized weights exp(log_weights)."""
    K = means.shape[0]
    d = X.shape[1]
    norm = 0.0
    for k in range(K):
        norm += math.exp(log_weights[k])
    total = 0.0
    for i in range(X.shape[0]):
        best = -1e300
        terms = np.empty(K)
        for k in range(K):
            sq = 0.0
            for j in range(d):
                diff = X[i, j] - means[k, j]
                sq += diff * diff
            terms[k] = log_weights[k] - 0.5 * sq
            if terms[k] > best:
                best = terms[k]
        s = 0.0
        for k in range(K):
            s += math.exp(terms[k] - best)
        total += best + math.log(s) - math.log(norm) - 0.5 * d * math.log(2.0 * math.pi)
    return -total


def chunk_value_and_grad(value_and_grad, means, log_weights, chunk):
    """What one worker computes for one chunk (value_and_grad arrives pickled, as its recipe)."""
    return value_and_grad(means, log_weights, chunk)


def distributed_value_and_grad(client, value_and_grad, chunks, means, log_weights):
    """The loss and its gradient over all chunks: one task per chunk, results added here."""
    futures = client.map(chunk_value_and_grad, [value_and_grad] * len(chunks), [means] * len(chunks),
                         [log_weights] * len(chunks), chunks, pure=False)
    results = client.gather(futures)
    value = sum(r[0] for r in results)
    grads = tuple(sum(r[1][k] for r in results) for k in range(2))
    return value, grads


def make_data(n, rng):
    centers = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])
    labels = rng.integers(0, COMPONENTS, n)
    return centers[labels] + rng.normal(size=(n, DIMENSIONS)), centers


def main():
    from dask.distributed import Client, LocalCluster

    n = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("DASK_FIT_POINTS", 400_000))
    rng = np.random.default_rng(0)
    X, centers = make_data(n, rng)
    means, log_weights = rng.normal(size=(COMPONENTS, DIMENSIONS)), np.zeros(COMPONENTS)
    value_and_grad = srcgrad.value_and_grad(negative_log_likelihood, wrt=(0, 1))
    start = time.perf_counter()
    local_value, local_grads = value_and_grad(means, log_weights, X)
    print(f"{n:,} points; one process: first gradient {time.perf_counter() - start:.2f} s (compiles)")
    start = time.perf_counter()
    value_and_grad(means, log_weights, X)
    print(f"one process, no Dask: {1e3 * (time.perf_counter() - start):.1f} ms per gradient")

    workers_list = [int(w) for w in os.environ.get("DASK_FIT_WORKERS", "1,2,4").split(",")]
    for workers in workers_list:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            chunks = client.scatter(np.array_split(X, 4 * workers))
            value, grads = distributed_value_and_grad(client, value_and_grad, chunks, means, log_weights)  # compiles on each worker
            assert np.isclose(value, local_value, rtol=1e-10), (value, local_value)
            for got, want in zip(grads, local_grads):
                assert np.allclose(got, want, rtol=1e-9, atol=1e-9)
            start = time.perf_counter()
            for _ in range(3):
                distributed_value_and_grad(client, value_and_grad, chunks, means, log_weights)
            print(f"{workers} worker process(es): {1e3 * (time.perf_counter() - start) / 3:.1f} ms per gradient "
                  "(matches the one-process gradient)")
            if workers == workers_list[-1]:
                fit(client, value_and_grad, chunks, means, log_weights, centers)


def fit(client, value_and_grad, chunks, means, log_weights, centers):
    """Fit the means (weights fixed) with L-BFGS-B driven by the distributed gradient."""
    def objective(flat):
        value, grads = distributed_value_and_grad(client, value_and_grad, chunks, flat.reshape(means.shape), log_weights)
        return value, grads[0].ravel()
    result = minimize(objective, means.ravel(), jac=True, method="L-BFGS-B")
    fitted = result.x.reshape(means.shape)
    error = max(np.min(np.linalg.norm(fitted - c, axis=1)) for c in centers)
    print(f"L-BFGS-B: {result.nit} iterations, every true center within {error:.3f} of a fitted mean")
    assert error < 0.1, fitted
    print("OK: the distributed gradient matches the one-process gradient and the fit finds the centers.")


if __name__ == "__main__":
    main()
