"""A fuzzing campaign: N generated programs through a worker pool, and what they found."""
from __future__ import annotations

import collections
import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field

from .coverage import constructs
from .generator import generate
from .plan import APIS, Plan
from .pool import Pool


@dataclass
class Settings:
    n: int = 1000
    seed: str = "1"
    backends: tuple = ("python", "numba")
    apis: tuple = APIS
    every: dict = field(default_factory=dict)   # backend or API -> k: run it on every k-th program only
    jobs: int = 2
    timeout: float = 120.0      # seconds per program, all its checks included
    cache_dir: str = ""         # SRCGRAD_CACHE_DIR for the workers; default: a fresh temporary directory
    max_attempts: int = 20      # programs the plain evaluation rejects are regenerated, up to this often
    only: tuple = ()            # program seeds ("1:17:0") to check instead of n generated ones

    @property
    def count(self) -> int:
        return len(self.only) if self.only else self.n

    def plan_for(self, index: int) -> Plan:
        """The backends and APIs for program `index` (numba compiles cost seconds: CI runs a subset)."""
        chosen = lambda name: index % self.every.get(name, 1) == 0  # noqa: E731
        return Plan(backends=tuple(filter(chosen, self.backends)), apis=tuple(filter(chosen, self.apis)))


@dataclass
class Campaign:
    settings: Settings
    outcomes: list = field(default_factory=list)   # one per program, in index order
    discarded: int = 0                             # generated programs rejected before checking
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failures(self) -> list:
        return [o for o in self.outcomes if o.status == "failed"]

    def failure_classes(self) -> dict:
        """signature -> the failed outcomes whose most telling failure has that signature."""
        classes = collections.defaultdict(list)
        for outcome in self.failures:
            classes[outcome.primary.signature].append(outcome)
        return dict(sorted(classes.items(), key=lambda kv: -len(kv[1])))

    def refusal_counts(self) -> collections.Counter:
        """refusal message -> number of programs refused with it."""
        return collections.Counter(key for o in self.outcomes for key in {f.refusal_key for f in o.refusals})

    def coverage(self) -> dict:
        """construct -> Counter of the statuses of the programs that contain it."""
        table = collections.defaultdict(collections.Counter)
        for outcome in self.outcomes:
            for name in constructs(outcome.program):
                table[name][outcome.status] += 1
        return table


@contextlib.contextmanager
def open_pool(settings: Settings):
    """A worker pool for `settings`, with its srcgrad cache directory (a temporary one unless given)."""
    cache_dir = settings.cache_dir or tempfile.mkdtemp(prefix="srcgrad-fuzz-cache-")
    os.makedirs(cache_dir, exist_ok=True)
    pool = Pool(settings.jobs, settings.timeout, cache_dir)
    try:
        yield pool
    finally:
        pool.close()
        if not settings.cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)


def run_campaign(settings: Settings, pool: Pool, progress=None) -> Campaign:
    """Check settings.count programs; `progress(results)` is called with {index: Outcome} after each one."""
    start = time.monotonic()
    campaign = Campaign(settings)
    results = {}
    upcoming = iter(range(settings.count))
    while True:
        while pool.pending() < 2 * settings.jobs and (index := next(upcoming, None)) is not None:
            _submit(pool, settings, index, 0)   # generate lazily: the queue stays short
        if not pool.pending():
            break
        (index, attempt), outcome = pool.next_result()
        outcome.attempts = attempt + 1
        if outcome.status == "discarded" and attempt + 1 < settings.max_attempts and not settings.only:
            campaign.discarded += 1
            _submit(pool, settings, index, attempt + 1)
            continue
        results[index] = outcome
        if progress:
            progress(results)
    campaign.outcomes = [results[k] for k in sorted(results)]
    campaign.seconds = time.monotonic() - start
    return campaign


def program_seed(seed: str, index: int, attempt: int) -> str:
    return f"{seed}:{index}:{attempt}"


def _submit(pool: Pool, settings: Settings, index: int, attempt: int) -> None:
    program = generate(settings.only[index] if settings.only else program_seed(settings.seed, index, attempt))
    pool.submit((index, attempt), program, settings.plan_for(index))
