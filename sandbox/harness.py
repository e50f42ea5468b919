"""Start a task app (on a given display or a private new one), read its targets and outcome,
and always clean up: the app process and the display are gone when the `with` block ends."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from recorder.errors import DeskactError

from . import perturb, tasks
from .display import VirtualDisplay
from .procs import spawn, stop_group


class HarnessError(DeskactError):
    pass


class TaskSession:
    """`with TaskSession("signin", seed=3, perturb="layout") as s: s.targets(); s.wait_outcome()`.

    display: an X display string to use; None starts a private Xvfb of `screen` size (or of the
    size the resolution perturbation asks for).
    """

    def __init__(self, task: str, seed: int = 0, perturb_spec: str = "none", display: str | None = None,
                 screen: tuple[int, int] | None = None, workdir: str | os.PathLike | None = None,
                 start_timeout: float = 15.0):
        self.task_cls = tasks.get(task)
        self.task = task
        self.seed = int(seed)
        self.variant = perturb.draw(perturb_spec, self.seed, n_phases=self.task_cls.n_phases)
        self.screen = self.variant.screen or screen or perturb.DEFAULT_SCREEN
        self.display = display
        self.start_timeout = start_timeout
        self._own_tmp = None
        if workdir is None:
            self._own_tmp = tempfile.TemporaryDirectory(prefix="deskact-task-")
            workdir = self._own_tmp.name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.outcome_path = self.workdir / "outcome.json"
        self.targets_path = self.workdir / "targets.json"
        self.vdisplay: VirtualDisplay | None = None
        self.proc: subprocess.Popen | None = None

    # ----- lifecycle ------------------------------------------------------------------------
    def start(self) -> "TaskSession":
        try:
            if self.display is None:
                self.vdisplay = VirtualDisplay(*self.screen).start()
                self.display = self.vdisplay.display
            for p in (self.outcome_path, self.targets_path):
                p.unlink(missing_ok=True)
            env = dict(os.environ, DISPLAY=self.display)
            env.pop("WAYLAND_DISPLAY", None)
            root = Path(__file__).resolve().parent.parent
            env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
            self._log = open(self.workdir / "app.log", "wb")
            self.proc = spawn(
                [sys.executable, "-m", "sandbox.app", self.task, "--seed", str(self.seed),
                 "--perturb", self.variant.spec, "--outcome", str(self.outcome_path),
                 "--targets", str(self.targets_path)],
                env=env, stdout=self._log, stderr=subprocess.STDOUT)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.workdir / "app.log").read_text(errors="replace").strip().splitlines()
                raise HarnessError(f"task app {self.task} exited at start: {log[-1] if log else self.proc.returncode}")
            snap = self.snapshot()
            if snap and snap.get("targets"):
                time.sleep(0.15)  # let the first frame be drawn
                return
            time.sleep(0.03)
        raise HarnessError(f"task app {self.task} did not show its window within {self.start_timeout:.0f} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc)
        if getattr(self, "_log", None):
            self._log.close()
        if self.vdisplay is not None:
            self.vdisplay.stop()
            self.vdisplay = None
        if self._own_tmp is not None:
            self._own_tmp.cleanup()
            self._own_tmp = None

    def __enter__(self) -> "TaskSession":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict:
        env = dict(os.environ, DISPLAY=self.display, XDG_SESSION_TYPE="x11")
        env.pop("WAYLAND_DISPLAY", None)
        return env

    # ----- reading the app ------------------------------------------------------------------
    def snapshot(self) -> dict | None:
        try:
            return json.loads(self.targets_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def targets(self) -> dict[str, list[int]]:
        snap = self.snapshot()
        return snap.get("targets", {}) if snap else {}

    def wait_target(self, name: str, timeout: float = 5.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while True:
            rect = self.targets().get(name)
            if rect:
                return rect
            if time.monotonic() > deadline:
                raise HarnessError(f"{self.task}: target {name!r} did not appear within {timeout:g} s")
            time.sleep(0.03)

    def outcome(self) -> dict | None:
        """The app's outcome once it has one: {"outcome": ..., "reason": ...}, else None."""
        try:
            return json.loads(self.outcome_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def wait_outcome(self, timeout: float = 3.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.outcome()
            if out:
                return out
            time.sleep(0.03)
        out = self.outcome()
        return out or {"outcome": "failure", "reason": "the task did not finish (no outcome from the app)"}
