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


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except Exception:
            pass


def spawn(cmd, **kw) -> subprocess.Popen:
    """Popen in a new session that the kernel kills when this process dies (even by SIGKILL)."""
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_die_with_parent, **kw)


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
