"""VirtualDisplay on real Xvfb: free display numbers, and no Xvfb left behind whatever ends the
process that holds one (exception, SIGTERM, Ctrl+C, plain exit)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from Xlib.display import Display

from conftest import alive
from sandbox.display import VirtualDisplay

pytestmark = pytest.mark.x11
ROOT = Path(__file__).resolve().parent.parent


def answers(display: str) -> tuple[int, int] | None:
    """The screen size if an X server answers at `display`, else None."""
    try:
        d = Display(display)
    except Exception:  # noqa: BLE001 -- connection refused / no socket
        return None
    try:
        s = d.screen()
        return s.width_in_pixels, s.height_in_pixels
    finally:
        d.close()


def test_starts_on_a_free_number_with_the_size_and_extensions(no_leaks, virtual_display):
    d = virtual_display(320, 200)
    assert re.fullmatch(r":\d+", d.display)
    assert d.display != os.environ["DISPLAY"]  # not the session display pytest-xvfb started
    assert answers(d.display) == (320, 200)
    x = Display(d.display)
    try:
        assert x.has_extension("XTEST") and x.has_extension("RECORD")
    finally:
        x.close()


def test_two_at_once_get_different_numbers(no_leaks, virtual_display):
    a, b = virtual_display(320, 200), virtual_display(400, 300)
    assert a.display != b.display
    assert answers(a.display) == (320, 200)
    assert answers(b.display) == (400, 300)


def test_stopped_on_exception(no_leaks):
    with pytest.raises(RuntimeError, match="boom"):
        with VirtualDisplay(320, 200) as d:
            pid, name = d.pid, d.display
            assert alive(pid)
            raise RuntimeError("boom")
    assert not alive(pid)
    assert d.display is None and d.pid is None
    assert answers(name) is None


def test_set_environ_points_display_there_and_restores_it(no_leaks):
    before = os.environ["DISPLAY"]
    with VirtualDisplay(320, 200, set_environ=True) as d:
        assert os.environ["DISPLAY"] == d.display != before
    assert os.environ["DISPLAY"] == before


def test_too_small_is_refused():
    with pytest.raises(ValueError, match="too small"):
        VirtualDisplay(10, 10)


CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from sandbox.display import VirtualDisplay
if {use_with}:
    with VirtualDisplay(320, 200) as d:
        print(d.display, d.pid, flush=True)
        sys.stdin.readline()  # until a signal, or the parent closes stdin
else:
    d = VirtualDisplay(320, 200).start()
    print(d.display, d.pid, flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "exit"])
@pytest.mark.parametrize("use_with", [True, False], ids=["with", "start"])
def test_ending_the_holder_process_leaves_no_xvfb(how, use_with, no_leaks):
    """SIGTERM (display.py's handler), Ctrl+C (KeyboardInterrupt / atexit) or a plain exit
    without stop(): the holder's Xvfb is gone (a leaked one would live on under init)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT), use_with=use_with)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    xvfb_pid = None
    try:
        line = child.stdout.readline().split()
        assert len(line) == 2, child.stderr.read()
        name, xvfb_pid = line[0], int(line[1])
        assert alive(xvfb_pid) and answers(name) == (320, 200)
        if how == "exit":
            child.stdin.close()
        else:
            child.send_signal(getattr(signal, how))
        child.wait(timeout=10)
        if how == "SIGTERM":
            assert child.returncode == 128 + signal.SIGTERM
        elif how == "exit":
            assert child.returncode == 0, child.stderr.read()
        deadline = time.monotonic() + 5
        while alive(xvfb_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(xvfb_pid), f"Xvfb {xvfb_pid} outlived its holder ({how})"
        assert answers(name) is None
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if xvfb_pid and alive(xvfb_pid):
            os.killpg(xvfb_pid, signal.SIGKILL)


def test_sigkill_of_a_task_holder_leaves_no_xvfb_and_no_app(no_leaks, tmp_path):
    """kill -9 runs no handler at all: the kernel ends the holder's Xvfb and task app
    (PR_SET_PDEATHSIG, sandbox/procs.py), so practice interrupted the hard way leaves no process.
    (Files cannot be cleaned up after kill -9: the session's work folder is the test's own.)"""
    code = ("import sys; sys.path.insert(0, {root!r})\n"
            "from sandbox.harness import TaskSession\n"
            "s = TaskSession('signin', seed=1, workdir={wd!r}).start()\n"
            "print(s.vdisplay.pid, s.proc.pid, flush=True)\n"
            "sys.stdin.read()\n").format(root=str(ROOT), wd=str(tmp_path / "task"))
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    xvfb_pid, app_pid = map(int, child.stdout.readline().split())
    assert alive(xvfb_pid) and alive(app_pid)
    child.kill()
    child.wait(timeout=10)
    deadline = time.monotonic() + 5
    while (alive(xvfb_pid) or alive(app_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(xvfb_pid) and not alive(app_pid)
