"""Measurement helpers: median wall time, gradient fingerprints, and peak-RSS deltas via /proc."""

import os
import resource
import time

import numpy as np


def time_call(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def repeat_timed(call, min_reps, max_reps, budget_s):
    """Wall times of at least min_reps and at most max_reps calls, stopping once budget_s has passed."""
    times = []
    started = time.perf_counter()
    while len(times) < max_reps:
        if len(times) >= min_reps and time.perf_counter() - started > budget_s:
            break
        times.append(time_call(call))
    return times


def gradient_parts(gradient):
    """A gradient as a flat list of float64 numpy arrays (handles arrays, scalars, nested tuples)."""
    if isinstance(gradient, (tuple, list)):
        return [part for item in gradient for part in gradient_parts(item)]
    return [np.asarray(gradient, dtype=np.float64).ravel()]


def fingerprint(gradient):
    """One number that summarises a gradient: its dot product with a fixed random vector."""
    rng = np.random.default_rng(12345)
    return float(sum(np.dot(part, rng.standard_normal(part.size)) for part in gradient_parts(gradient)))


def relative_difference(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


# ---- peak resident memory -------------------------------------------------

def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss():
    """Make VmHWM equal to the current RSS (Linux >= 4.0: write 5 to clear_refs). Returns current RSS in KiB."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _status_kib("VmRSS")


def peak_rss_delta_mb(call):
    """Peak RSS reached while `call` runs, minus RSS just before it, in MB (10**6 bytes)."""
    before_kib = reset_peak_rss()
    call()
    return (_status_kib("VmHWM") - before_kib) * 1024 / 1e6


# ---- load from other processes ---------------------------------------------

def _system_busy_seconds():
    """CPU seconds all processes on the machine have used since boot (user+nice+system+irq+softirq)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds():
    """CPU seconds of this process plus its finished children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class OtherLoadMeter:
    """Average number of cores that *other* processes kept busy between start() and cores_used_by_others()."""

    def __init__(self):
        self.system_start = _system_busy_seconds()
        self.own_start = _own_cpu_seconds()
        self.wall_start = time.perf_counter()

    def cores_used_by_others(self):
        system = _system_busy_seconds() - self.system_start
        own = _own_cpu_seconds() - self.own_start
        return max(system - own, 0.0) / (time.perf_counter() - self.wall_start)
