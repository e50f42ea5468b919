"""A private Xvfb display: started on a free display number, always stopped (also on an
exception, Ctrl+C or SIGTERM), leaving no process behind."""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time

from recorder.errors import DisplayError

from .procs import spawn, stop_group

_live: set["VirtualDisplay"] = set()


class VirtualDisplay:
    """`with VirtualDisplay(1280, 800) as d: ...` -> d.display == ":N", d.env() for subprocesses.

    `set_environ=True` also points this process's DISPLAY at it for the duration (restored after).
    """

    def __init__(self, width: int = 1280, height: int = 800, depth: int = 24, set_environ: bool = False,
                 start_timeout: float = 10.0):
        if width < 64 or height < 64:
            raise ValueError(f"virtual display size {width}x{height} is too small")
        self.width, self.height, self.depth = int(width), int(height), int(depth)
        self.set_environ = set_environ
        self.start_timeout = start_timeout
        self.display: str | None = None
        self.proc: subprocess.Popen | None = None
        self._saved_display: str | None = None

    def start(self) -> "VirtualDisplay":
        xvfb = shutil.which("Xvfb")
        if not xvfb:
            raise DisplayError("Xvfb is not installed (apt-get install xvfb)")
        r, w = os.pipe()
        try:
            self.proc = spawn(
                [xvfb, "-displayfd", str(w), "-screen", "0", f"{self.width}x{self.height}x{self.depth}",
                 "-nolisten", "tcp", "-noreset", "+extension", "RECORD", "+extension", "XTEST"],
                pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            os.close(w)
            w = -1
            number = b""
            deadline = time.monotonic() + self.start_timeout
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([r], [], [], left)[0]:
                    raise DisplayError("Xvfb did not start in time")
                chunk = os.read(r, 16)
                if not chunk:
                    raise DisplayError(f"Xvfb exited at start (code {self.proc.wait()})")
                number += chunk
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(r)
            if w != -1:
                os.close(w)
        self.display = f":{int(number)}"
        _live.add(self)
        if self.set_environ:
            self._saved_display = os.environ.get("DISPLAY")
            os.environ["DISPLAY"] = self.display
        return self

    def env(self, base: dict | None = None) -> dict:
        env = dict(os.environ if base is None else base)
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        env["XDG_SESSION_TYPE"] = "x11"
        return env

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc, timeout=5)
        _live.discard(self)
        if self.set_environ and self.display is not None:
            if self._saved_display is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = self._saved_display
        self.display = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def __enter__(self) -> "VirtualDisplay":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_all() -> None:
    """Stop every display this process started (atexit and signal handlers use it)."""
    for d in list(_live):
        d.stop()


def _install_cleanup() -> None:
    import atexit

    atexit.register(stop_all)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        stop_all()
        if callable(previous):
            previous(signum, frame)
        raise SystemExit(128 + signum)

    if previous in (signal.SIG_DFL, None):
        try:
            signal.signal(signal.SIGTERM, on_term)
        except ValueError:  # not the main thread
            pass


_install_cleanup()
