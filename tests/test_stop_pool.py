"""stop_pool (agent/practice.py) ends a pool's workers at once: practice, evaluation and the
bench's trainings run in such pools, and an interrupted run must not wait for them (a training
takes minutes) nor leave them running."""
from __future__ import annotations

import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor

from agent.practice import stop_pool
from conftest import alive


def test_stop_pool_terminates_busy_workers(no_leaks):
    pool = ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn"))
    futures = [pool.submit(time.sleep, 60) for _ in range(3)]  # two run, one waits
    deadline = time.monotonic() + 30
    while sum(f.running() for f in futures) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = list(pool._processes.values())
    assert len(workers) == 2 and all(p.is_alive() for p in workers)
    t0 = time.monotonic()
    stop_pool(pool)
    # by pid: the pool's own thread reaps its workers too, so Process.join/is_alive can race it
    pids = [p.pid for p in workers]
    while any(map(alive, pids)) and time.monotonic() - t0 < 5:
        time.sleep(0.05)
    assert not any(map(alive, pids)), "a worker outlived stop_pool"
    # the waiting one is cancelled, or broken if the pool had already handed it to its call
    # queue (which marks it running): either way no future waits for a worker that is gone
    deadline = time.monotonic() + 5
    while not all(f.done() for f in futures) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(f.cancelled() or f.exception() is not None for f in futures)
