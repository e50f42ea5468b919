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


def _job(folder: str, n: int) -> None:
    """A job that notes it started, holds something to clean up, and waits."""
    import os
    from pathlib import Path

    Path(folder, f"started-{n}").write_text(str(os.getpid()))
    try:
        time.sleep(60)
    finally:
        Path(folder, f"cleaned-{n}").write_text("")


def _wait_for(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    return cond()


def test_a_stopped_worker_cleans_up_and_takes_no_next_job(no_leaks, tmp_path):
    # the displays' SIGTERM handler raises SystemExit; a pool's worker loop catches it and would
    # run the next queued job (a display and an app of its own) after stop_pool
    from agent.practice import in_worker, worker_init

    pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), initializer=worker_init)
    futures = [pool.submit(in_worker, _job, str(tmp_path), n) for n in range(3)]
    assert _wait_for(lambda: (tmp_path / "started-0").exists())
    pid = int((tmp_path / "started-0").read_text())
    stop_pool(pool)
    assert _wait_for(lambda: not alive(pid), 10), "the worker outlived stop_pool"
    assert (tmp_path / "cleaned-0").exists(), "the job did not unwind"
    time.sleep(1)
    assert not (tmp_path / "started-1").exists(), "the worker took the next job"
    assert _wait_for(lambda: all(f.done() for f in futures), 5)


PARENT = """
import multiprocessing as mp, sys, time
from concurrent.futures import ProcessPoolExecutor
sys.path[:0] = [{root!r}, {tests!r}]
from agent.practice import in_worker, worker_init
from test_stop_pool import _job
if __name__ == "__main__":
    pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), initializer=worker_init)
    pool.submit(in_worker, _job, {folder!r}, 0)
    time.sleep(60)
"""


def test_a_worker_whose_parent_is_killed_cleans_up_and_exits(no_leaks, tmp_path):
    # `kill` on a bench (default SIGTERM: no clean-up in the parent) left its recording worker
    # recording demos on its own; the kernel now tells workers when their parent dies
    import signal
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    script = tmp_path / "parent.py"
    script.write_text(PARENT.format(root=str(here.parent), tests=str(here), folder=str(tmp_path)))
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        assert _wait_for(lambda: (tmp_path / "started-0").exists(), 30)
        pid = int((tmp_path / "started-0").read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _wait_for(lambda: not alive(pid), 10), "the worker outlived its parent"
        assert (tmp_path / "cleaned-0").exists(), "the job did not unwind"
    finally:
        parent.kill()
        parent.wait()
