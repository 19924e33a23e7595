"""Derivatives on a Dask cluster of worker processes: a data-parallel gradient, each worker's own
cache directory, and a worker whose cache directory cannot be used."""
import logging
import os
import warnings

import numpy as np
import pytest

import gradcheck  # noqa: F401  (puts the checkout on sys.path)
import srcgrad

distributed = pytest.importorskip("dask.distributed")


def misfit(w, b, X, y):
    """A least-squares loss written with loops: a sum over the data points."""
    total = 0.0
    for i in range(X.shape[0]):
        r = b - y[i]
        for j in range(X.shape[1]):
            r += w[j] * X[i, j]
        total += r * r
    return total


def chunk_value_and_grad(value_and_grad, w, b, X, y):
    return value_and_grad(w, b, X, y)


def use_cache(directory):
    os.environ["SRCGRAD_CACHE_DIR"] = directory


def generated_modules(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith("srcgrad_gen_"))


def gradient_counting_warnings(value_and_grad, w, b, X, y):
    """Two gradients on this worker, and how many CacheWarnings they raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = value_and_grad(w, b, X, y)
        value_and_grad(w, b, X, y)
    return first, sum(issubclass(w.category, srcgrad.CacheWarning) for w in caught)


@pytest.fixture
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as local, distributed.Client(local) as client:
        yield client


def _data(seed=0, n=400):
    rng = np.random.default_rng(seed)
    return rng.normal(size=3), 0.4, rng.normal(size=(n, 3)), rng.normal(size=n)


def test_a_data_parallel_gradient_matches_one_process(cluster, tmp_path):
    workers = sorted(cluster.scheduler_info()["workers"])
    caches = {address: str(tmp_path / f"worker{k}") for k, address in enumerate(workers)}
    for address, directory in caches.items():
        cluster.run(use_cache, directory, workers=[address])
    w, b, X, y = _data()
    value_and_grad = srcgrad.value_and_grad(misfit, wrt=(0, 1))
    parts = [(X[k::4], y[k::4]) for k in range(4)]
    futures = [cluster.submit(chunk_value_and_grad, value_and_grad, w, b, Xk, yk, workers=[workers[k % 2]], pure=False)
               for k, (Xk, yk) in enumerate(parts)]
    results = cluster.gather(futures)
    value = sum(r[0] for r in results)
    gw, gb = sum(r[1][0] for r in results), sum(r[1][1] for r in results)
    expected_value, (expected_gw, expected_gb) = value_and_grad(w, b, X, y)
    np.testing.assert_allclose(value, expected_value, rtol=1e-12)
    np.testing.assert_allclose(gw, expected_gw, rtol=1e-12)
    np.testing.assert_allclose(gb, expected_gb, rtol=1e-12)
    for directory in caches.values():   # each worker generated the module in its own directory
        assert generated_modules(directory), f"nothing generated in {directory}"
    assert generated_modules(caches[workers[0]]) == generated_modules(caches[workers[1]])


def test_a_worker_whose_cache_cannot_be_used_computes_and_warns_once(cluster, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    worker = sorted(cluster.scheduler_info()["workers"])[0]
    cluster.run(use_cache, str(blocker / "cache"), workers=[worker])
    w, b, X, y = _data(seed=1, n=50)
    value_and_grad = srcgrad.value_and_grad(misfit, wrt=(0, 1))
    future = cluster.submit(gradient_counting_warnings, value_and_grad, w, b, X, y, workers=[worker], pure=False)
    (value, (gw, gb)), warned = future.result()
    expected_value, (expected_gw, expected_gb) = value_and_grad(w, b, X, y)
    np.testing.assert_allclose(value, expected_value, rtol=1e-12)
    np.testing.assert_allclose(gw, expected_gw, rtol=1e-12)
    np.testing.assert_allclose(gb, expected_gb, rtol=1e-12)
    assert warned == 1
