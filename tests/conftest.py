"""Shared fixtures. pytest-xvfb starts one private 1280x800 Xvfb for the session (DISPLAY is
set before collection), so in-process code that binds to DISPLAY at import (pyautogui, pynput)
talks to it, never to the screen of the person running the suite. Tests that need another
screen size start their own display with `virtual_display`."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

HAVE_XVFB = sys.platform.startswith("linux") and shutil.which("Xvfb") is not None

# A suite started as a background job of a non-interactive shell (`scripts/test &`) inherits
# SIGINT ignored, and so would every process it starts: the tests that press Ctrl+C on a child
# would see it ignored. A handled signal is reset to the default on exec, so children get Ctrl+C.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config, items):
    if HAVE_XVFB:
        return
    skip = pytest.mark.skip(reason="needs Xvfb on Linux (sends real X input to a private display)")
    for item in items:
        if "x11" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def virtual_display():
    """Factory: virtual_display(w, h) -> a started sandbox.display.VirtualDisplay, stopped after."""
    from sandbox.display import VirtualDisplay

    started = []

    def make(width=1280, height=800):
        d = VirtualDisplay(width, height).start()
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop()


def child_pids() -> set[int]:
    """Every descendant process of this test process (to check nothing leaks)."""
    ps = subprocess.Popen(["ps", "-e", "-o", "pid=,ppid="], stdout=subprocess.PIPE, text=True)
    out = ps.communicate()[0]
    children: dict[int, list[int]] = {}
    for line in out.split("\n"):
        if line.strip():
            pid, ppid = map(int, line.split())
            children.setdefault(ppid, []).append(pid)
    found, stack = set(), [os.getpid()]
    while stack:
        for c in children.get(stack.pop(), []):
            if c not in found:
                found.add(c)
                stack.append(c)
    found.discard(ps.pid)  # not ps itself: it always differed, so no_leaks waited 3 s every time
    return found


@pytest.fixture
def no_leaks():
    """Fails the test if it leaves any child process (Xvfb, task app) behind."""
    before = child_pids()
    yield
    import time

    deadline = time.monotonic() + 3
    while (left := child_pids() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    # multiprocessing's resource tracker (started by a spawn pool) lives as long as this process
    left = {p for p in left if alive(p) and "resource_tracker" not in _cmdline(p)}
    assert not left, f"processes left behind: {_describe(left)}"


def alive(pid: int) -> bool:
    """Running (a zombie not yet reaped runs nothing). Linux: /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or reaped between open and read
        return False


def popup_seed(task: str = "signin") -> int:
    """A seed whose popup opens at once (phase 0) on this task."""
    from sandbox import perturb, tasks

    return next(s for s in range(100) if perturb.draw("popup", s, tasks.get(task).n_phases).popup_phase == 0)


def _describe(pids) -> str:
    return "; ".join(f"{p}: {_cmdline(p)[:80]}" for p in pids)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read().replace("\0", " ")
    except FileNotFoundError:
        return ""
