"""Sensitivities of an ensemble of ODE runs, computed on a Dask cluster with srcgrad.

Each ensemble member is a Lotka-Volterra predator-prey model with its own four rates, integrated
by an RK4 loop written in plain Python. For every member we want the sensitivity of the final
populations to the rates: a 2 x 4 Jacobian (`srcgrad.jacfwd`, forward mode: four inputs), and
the gradient of a misfit against observations (`srcgrad.vjp`, reverse mode) for comparison.

The members are split into chunks; `client.map` sends one task per chunk to worker processes.
The derivative functions travel as small pickles (their recipe); each worker generates and
compiles them once in its own cache directory and reuses them for every member of every chunk.
The results come back as arrays and are stacked into one (members, 2, 4) array, which the script
checks against the same computation in this process.

Run `python examples/dask_ensemble.py [members]` (default 4,000; or set DASK_ENSEMBLE_MEMBERS),
and DASK_ENSEMBLE_WORKERS=2 (say) for other cluster sizes than 1 and 2. Needs
`pip install -e ".[dask]"` (or `pip install "dask[distributed]"`).
"""
import os
import sys
import time

import numpy as np

import srcgrad

STEPS, DT = 400, 0.025


def lotka_volterra(rates, start):
    """Prey and predators after STEPS steps of RK4 from `start`, for rates (a, b, c, d)."""
    a, b, c, d = rates[0], rates[1], rates[2], rates[3]
    x, y = start[0], start[1]
    for _ in range(STEPS):
        k1x, k1y = a * x - b * x * y, d * x * y - c * y
        x2, y2 = x + 0.5 * DT * k1x, y + 0.5 * DT * k1y
        k2x, k2y = a * x2 - b * x2 * y2, d * x2 * y2 - c * y2
        x3, y3 = x + 0.5 * DT * k2x, y + 0.5 * DT * k2y
        k3x, k3y = a * x3 - b * x3 * y3, d * x3 * y3 - c * y3
        x4, y4 = x + DT * k3x, y + DT * k3y
        k4x, k4y = a * x4 - b * x4 * y4, d * x4 * y4 - c * y4
        x = x + DT / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        y = y + DT / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
    return np.array([x, y])


def misfit(rates, start, observed):
    final = lotka_volterra(rates, start)
    return np.sum((final - observed) ** 2)


sensitivity = srcgrad.jacfwd(lotka_volterra)          # (2, 4) per member
misfit_gradient = srcgrad.grad(misfit)                 # (4,) per member


def chunk_sensitivities(jac, grad, rates, starts, observed):
    """One task: the Jacobians and misfit gradients of a chunk of members, as two arrays."""
    jacobians = np.stack([jac(r, s) for r, s in zip(rates, starts)])
    gradients = np.stack([grad(r, s, o) for r, s, o in zip(rates, starts, observed)])
    return jacobians, gradients


def ensemble(members: int, rng):
    rates = np.array([1.0, 0.4, 1.2, 0.3]) * rng.uniform(0.8, 1.2, size=(members, 4))
    starts = rng.uniform(2.0, 4.0, size=(members, 2))
    observed = rng.uniform(1.0, 5.0, size=(members, 2))
    return rates, starts, observed


def on_cluster(client, rates, starts, observed, chunks: int):
    parts = [np.array_split(a, chunks) for a in (rates, starts, observed)]
    futures = client.map(chunk_sensitivities, [sensitivity] * chunks, [misfit_gradient] * chunks, *parts, pure=False)
    results = client.gather(futures)
    return np.concatenate([j for j, _ in results]), np.concatenate([g for _, g in results])


def main():
    from dask.distributed import Client, LocalCluster

    members = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("DASK_ENSEMBLE_MEMBERS", 4000))
    sizes = [int(os.environ["DASK_ENSEMBLE_WORKERS"])] if "DASK_ENSEMBLE_WORKERS" in os.environ else [1, 2]
    rates, starts, observed = ensemble(members, np.random.default_rng(0))

    chunk_sensitivities(sensitivity, misfit_gradient, rates[:1], starts[:1], observed[:1])   # compile here
    began = time.perf_counter()
    want_J, want_g = chunk_sensitivities(sensitivity, misfit_gradient, rates, starts, observed)
    alone = time.perf_counter() - began
    print(f"{members} members, one process: {alone * 1e3:.0f} ms ({alone / members * 1e6:.0f} us per member)")

    # the sensitivities themselves, checked once: central differences of the model for member 0
    step, J0 = 1e-6, np.empty((2, 4))
    for k in range(4):
        e = np.zeros(4)
        e[k] = step
        J0[:, k] = (lotka_volterra(rates[0] + e, starts[0]) - lotka_volterra(rates[0] - e, starts[0])) / (2 * step)
    assert np.allclose(want_J[0], J0, rtol=1e-6, atol=1e-8), (want_J[0], J0)

    for workers in sizes:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            chunks = 4 * workers
            on_cluster(client, rates[:chunks], starts[:chunks], observed[:chunks], chunks)   # each worker compiles once
            began = time.perf_counter()
            got_J, got_g = on_cluster(client, rates, starts, observed, chunks)
            took = time.perf_counter() - began
            print(f"{workers} worker(s), {chunks} tasks: {took * 1e3:.0f} ms ({alone / took:.2f}x one process)")
            assert got_J.shape == (members, 2, 4) and got_g.shape == (members, 4)
            assert np.allclose(got_J, want_J, rtol=1e-12, atol=0.0) and np.allclose(got_g, want_g, rtol=1e-12, atol=0.0)
    print("OK: the ensemble's Jacobians and gradients from the cluster match this process's, "
          "and finite differences.")


if __name__ == "__main__":
    main()
