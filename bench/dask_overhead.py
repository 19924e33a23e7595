"""What shipping a srcgrad derivative to Dask workers costs per task, and on a worker's first call.

Each task calls a derivative function that arrives pickled as its recipe (the API, the function,
`wrt`, options: about 100 bytes) on a tiny input, so the task's own work is negligible. Per task:

- `plain`: the same task calling a plain numba function: Dask's own cost per task;
- `derivative`: the derivative function shipped with every task: Dask's cost plus unpickling the
  recipe and finding the already built derivative (target: under 5 ms more than `plain`);
- the first call on a fresh worker: the worker builds the derivative, or loads it from its cache
  directory (the transform cache and numba's machine code) when a process built it before.

Run `python bench/dask_overhead.py [tasks]` (default 400). Needs `pip install -e ".[dask]"`.
"""
import logging
import math
import os
import sys
import tempfile
import time

import numba
import numpy as np

import srcgrad


def pendulum_energy(theta, omega, steps):
    """A small loop: the mechanical energy after `steps` symplectic Euler steps."""
    h = 0.01
    for _ in range(steps):
        omega = omega - h * math.sin(theta)
        theta = theta + h * omega
    return 0.5 * omega * omega + (1.0 - math.cos(theta))


plain_energy = numba.njit(pendulum_energy)


def call(function, k):
    return function(0.1 + 1e-3 * k, 0.2, 10)


def per_task(client, function, tasks: int) -> float:
    """Seconds per task for `tasks` tasks, each calling `function` (shipped with the task)."""
    client.gather(client.map(call, [function] * 8, range(8), pure=False))   # every worker has called it once
    start = time.perf_counter()
    client.gather(client.map(call, [function] * tasks, range(tasks), pure=False))
    return (time.perf_counter() - start) / tasks


def first_call_on_a_new_worker(cache: str) -> float:
    """Seconds for the first task of a fresh one-worker cluster using `cache` as its cache directory."""
    from dask.distributed import Client, LocalCluster
    os.environ["SRCGRAD_CACHE_DIR"] = cache
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        gradient = srcgrad.grad(pendulum_energy, wrt=(0, 1))
        client.gather(client.map(call, [plain_energy], [0], pure=False))   # the worker has started and imported numba
        start = time.perf_counter()
        client.gather(client.map(call, [gradient], [0], pure=False))
        return time.perf_counter() - start


def main(tasks: int) -> None:
    from dask.distributed import Client, LocalCluster
    gradient = srcgrad.grad(pendulum_energy, wrt=(0, 1))
    print(f"recipe: {len(__import__('pickle').dumps(gradient))} bytes pickled")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        plain = per_task(client, plain_energy, tasks)
        shipped = per_task(client, gradient, tasks)
    print(f"per task, 2 worker processes, {tasks} tasks: plain numba function {plain * 1e3:.2f} ms, "
          f"srcgrad derivative {shipped * 1e3:.2f} ms: {1e3 * (shipped - plain):.2f} ms for shipping it")
    with tempfile.TemporaryDirectory() as cache:
        cold = first_call_on_a_new_worker(cache)
        warm = first_call_on_a_new_worker(cache)
    print(f"first call on a new worker: empty cache {cold:.2f} s, cache from an earlier worker {warm:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
