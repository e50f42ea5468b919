"""stop_pool (agent/practice.py) ends a pool's workers at once: practice, evaluation and the
bench's trainings run in such pools, and an interrupted run must not wait for them (a training
takes minutes) nor leave them running."""
from __future__ import annotations

import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor

from agent.practice import stop_pool


def test_stop_pool_terminates_busy_workers(no_leaks):
    pool = ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn"))
    futures = [pool.submit(time.sleep, 60) for _ in range(3)]  # two run, one waits in the queue
    deadline = time.monotonic() + 30
    while sum(f.running() for f in futures) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = list(pool._processes.values())
    assert len(workers) == 2 and all(p.is_alive() for p in workers)
    t0 = time.monotonic()
    stop_pool(pool)
    for p in workers:
        p.join(5)
    assert not any(p.is_alive() for p in workers), "a worker outlived stop_pool"
    assert time.monotonic() - t0 < 5
    assert futures[2].cancelled()
