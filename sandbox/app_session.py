"""A user's own app on a private virtual display, for practice: started with a command, judged
at the end by an image that must be on screen or by a command that must exit 0. It has the
parts of TaskSession's interface that practice uses (display, outcome, wait_outcome)."""
from __future__ import annotations

import os
import shlex
import subprocess
import time

from recorder.errors import DeskactError

from .display import VirtualDisplay
from .procs import spawn, stop_group


class AppSession:
    def __init__(self, command: str, success_image: str | None = None, success_cmd: str | None = None,
                 screen: tuple[int, int] = (1280, 800), start_wait: float = 2.0, match: float = 0.9):
        if not command or not command.strip():
            raise DeskactError("--app needs a command that starts the app")
        if bool(success_image) == bool(success_cmd):
            raise DeskactError("with --app, give exactly one of --success-image PNG or --success-cmd COMMAND")
        self.template = None
        if success_image:
            import cv2

            self.template = cv2.imread(str(success_image), cv2.IMREAD_GRAYSCALE)
            if self.template is None:
                raise DeskactError(f"--success-image {success_image}: not a readable image")
        self.command, self.success_cmd = command, success_cmd
        self.screen, self.start_wait, self.match = screen, start_wait, match
        self.vdisplay: VirtualDisplay | None = None
        self.proc: subprocess.Popen | None = None
        self.display: str | None = None

    def start(self) -> "AppSession":
        try:
            self.vdisplay = VirtualDisplay(*self.screen).start()
            self.display = self.vdisplay.display
            env = dict(os.environ, DISPLAY=self.display, XDG_SESSION_TYPE="x11")
            env.pop("WAYLAND_DISPLAY", None)
            try:
                self.proc = spawn(shlex.split(self.command), env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            except OSError as e:
                raise DeskactError(f"--app {self.command!r}: cannot start it ({e.strerror or e})") from None
            time.sleep(self.start_wait)  # no readiness signal from an arbitrary app
            if self.proc.poll() is not None:
                raise DeskactError(f"--app {self.command!r} exited at start (code {self.proc.returncode})")
        except BaseException:
            self.stop()
            raise
        return self

    def outcome(self) -> dict | None:
        return None  # an arbitrary app says nothing until it is judged at the end

    def wait_outcome(self, timeout: float = 1.0) -> dict:
        time.sleep(min(timeout, 0.5))
        if self.template is not None:
            import cv2
            import mss
            import numpy as np

            with mss.MSS(display=self.display) as m:
                gray = cv2.cvtColor(np.asarray(m.grab(m.monitors[1]))[:, :, :3], cv2.COLOR_BGR2GRAY)
            score = float(cv2.minMaxLoc(cv2.matchTemplate(gray, self.template, cv2.TM_CCOEFF_NORMED))[1])
            ok = score >= self.match
            return {"outcome": "success" if ok else "failure",
                    "reason": None if ok else f"the success image is not on screen (best match {score:.2f})"}
        env = dict(os.environ, DISPLAY=self.display)
        rc = subprocess.run(self.success_cmd, shell=True, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, timeout=60).returncode
        return {"outcome": "success" if rc == 0 else "failure",
                "reason": None if rc == 0 else f"the success command exited {rc}"}

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc)
        if self.vdisplay is not None:
            self.vdisplay.stop()
            self.vdisplay = None

    def __enter__(self) -> "AppSession":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
