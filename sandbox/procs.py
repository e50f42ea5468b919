"""Child processes of the sandbox (Xvfb, task apps, user apps): each in its own process group
(a Ctrl+C in the terminal reaches us, and we stop them in order), told by the kernel to die
with us if we are killed outright, and stopped as a whole group."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux; elsewhere nothing).
    Here between fork and exec of a child; in pool workers with SIGTERM (agent.practice.worker_init)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))
        except Exception:
            pass


def spawn(cmd, **kw) -> subprocess.Popen:
    """Popen in a new session that the kernel kills when this process dies (even by SIGKILL)."""
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=die_with_parent, **kw)


def stop_group(proc: subprocess.Popen | None, timeout: float = 3.0) -> None:
    """SIGTERM the process group, SIGKILL it if it does not go within `timeout`, and reap it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
