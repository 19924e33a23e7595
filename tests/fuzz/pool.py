"""Worker processes that check programs, each with a timeout: a hang or a crash costs one program, not the run."""
from __future__ import annotations

import collections
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from multiprocessing.connection import wait

from .outcome import Finding, Outcome

RECYCLE_AFTER = 150    # tasks per worker process, then a fresh one (compiled code accumulates)


def serve(conn, cache_dir: str) -> None:
    """Worker main loop: receive (program, plan), send back its Outcome, until told to stop."""
    os.environ["SRCGRAD_CACHE_DIR"] = cache_dir
    sys.stdout = open(os.devnull, "w")
    from .checks import check_program   # imports srcgrad and numba, after the cache is configured

    directory = tempfile.mkdtemp(prefix="srcgrad-fuzz-")
    sys.path.insert(0, directory)
    try:
        while True:
            task = conn.recv()
            if task is None:
                break
            program, plan = task
            try:
                outcome = check_program(program, plan, directory)
            except Exception as exc:   # a bug in the fuzzer itself: report it, do not hide it
                outcome = Outcome(program, "failed", [Finding("fuzzer error", detail=repr(exc))])
            conn.send(outcome)
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class _Worker:
    def __init__(self, context, cache_dir: str):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, cache_dir), daemon=True)
        self.process.start()
        child.close()
        self.task = None          # (key, program, plan) in progress
        self.deadline = 0.0
        self.done = 0

    def send(self, task, timeout: float) -> None:
        self.task, self.deadline = task, time.monotonic() + timeout
        self.conn.send(task[1:])

    def stop(self, kill=False) -> None:
        try:
            if kill:
                self.process.kill()
            else:
                self.conn.send(None)
            self.process.join(5)
        except (OSError, ValueError):
            pass
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()


class Pool:
    """`jobs` worker processes; submit(key, program, plan), then next_result() -> (key, Outcome)."""

    def __init__(self, jobs: int, timeout: float, cache_dir: str):
        self.jobs, self.timeout, self.cache_dir = jobs, timeout, cache_dir
        self.context = multiprocessing.get_context("spawn")
        self.workers = [_Worker(self.context, cache_dir) for _ in range(jobs)]
        self.queue: collections.deque = collections.deque()
        self.ready: collections.deque = collections.deque()

    def submit(self, key, program, plan) -> None:
        self.queue.append((key, program, plan))

    def pending(self) -> int:
        return len(self.queue) + len(self.ready) + sum(w.task is not None for w in self.workers)

    def next_result(self):
        while not self.ready:
            self._dispatch()
            self._collect()
        return self.ready.popleft()

    def map(self, programs: list, plan) -> list:
        """Outcomes of `programs`, in order."""
        for k, program in enumerate(programs):
            self.submit(k, program, plan)
        results = dict(self.next_result() for _ in programs)
        return [results[k] for k in range(len(programs))]

    def close(self) -> None:
        for worker in self.workers:
            worker.stop(kill=worker.task is not None)
        self.workers = []

    def _dispatch(self) -> None:
        for k, worker in enumerate(self.workers):
            if worker.task is None and self.queue:
                if worker.done >= RECYCLE_AFTER:
                    worker.stop()
                    worker = self.workers[k] = _Worker(self.context, self.cache_dir)
                worker.send(self.queue.popleft(), self.timeout)

    def _collect(self) -> None:
        busy = [w for w in self.workers if w.task is not None]
        if not busy:
            return
        now = time.monotonic()
        ready = wait([w.conn for w in busy], timeout=max(0.0, min(w.deadline for w in busy) - now))
        for k, worker in enumerate(self.workers):
            if worker.task is None:
                continue
            if worker.conn in ready:
                self._receive(k, worker)
            elif time.monotonic() > worker.deadline:
                self._replace(k, worker, Finding("timeout", detail=f"no result within {self.timeout:.0f} s "
                                                 "(a hang in srcgrad or in the generated code)"))

    def _receive(self, k: int, worker: _Worker) -> None:
        try:
            outcome = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(1)
            return self._replace(k, worker, Finding("crash", detail=f"the worker process died (exit code "
                                                    f"{worker.process.exitcode}) while checking this program"))
        self.ready.append((worker.task[0], outcome))
        worker.task, worker.done = None, worker.done + 1

    def _replace(self, k: int, worker: _Worker, finding: Finding) -> None:
        key, program, _ = worker.task
        worker.stop(kill=True)
        self.workers[k] = _Worker(self.context, self.cache_dir)
        self.ready.append((key, Outcome(program, "failed", [finding])))
