"""Always-on safety for live runs: a global stop hotkey, pausing when a person moves the
pointer, and step/time limits. pyautogui's corner fail-safe stays on as well.

pynput cannot tell injected input from a person's on X11 (pitfalls), so the agent never sends
the stop key itself, and it detects a person by the pointer not being where it left it."""
from __future__ import annotations

import sys
import threading
import time

from recorder.errors import DeskactError

DEFAULT_STOP_KEY = "f12"


class SafetyStop(DeskactError):
    """The run was stopped by a person (hotkey, fail-safe corner) or a limit."""


class StopHotkey:
    """Listens globally (whichever window has focus) for the stop key; sets `event`.

    On X11 it uses the recorder's RECORD listener (it stops promptly; pynput's own listener
    only ends at the next input event); elsewhere pynput's keyboard listener."""

    def __init__(self, key: str = DEFAULT_STOP_KEY, display: str | None = None):
        self.key = key.lower()
        self.display = display
        self.event = threading.Event()
        self.pressed_at: float | None = None
        self._listener = None

    def _hit(self, name) -> None:
        if str(name or "").lower() == self.key:
            self.pressed_at = time.monotonic()
            self.event.set()

    def start(self) -> "StopHotkey":
        if sys.platform == "darwin":
            from pynput import keyboard

            self._listener = keyboard.Listener(
                on_press=lambda k: self._hit(getattr(k, "name", None) or getattr(k, "char", None)))
            self._listener.start()
            self._listener.wait()
        else:
            from recorder.platform.x11_listener import XListener

            def on_event(ev):
                if ev.get("kind") == "key" and ev.get("pressed"):
                    self._hit(ev.get("key"))

            self._listener = XListener(self.display, on_event)
            self._listener.start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class PointerGuard:
    """Pauses the run while a person is using the mouse.

    `check(expected)` compares the pointer with where the agent left it; if it moved, waits
    until it has been still for `resume_after` seconds (or the stop event fires)."""

    def __init__(self, injector, stop: threading.Event, tolerance: int = 3, resume_after: float = 2.0,
                 notify=print):
        self.injector = injector
        self.stop = stop
        self.tolerance = tolerance
        self.resume_after = resume_after
        self.notify = notify
        self.pauses = 0

    def moved(self, expected: tuple[int, int] | None) -> bool:
        if expected is None:
            return False
        x, y = self.injector.position()
        return abs(x - expected[0]) > self.tolerance or abs(y - expected[1]) > self.tolerance

    def check(self, expected: tuple[int, int] | None) -> None:
        if not self.moved(expected):
            return
        self.pauses += 1
        self.notify(f"Paused: the pointer was moved by someone. Keep it still {self.resume_after:g} s "
                    "to resume, or press the stop key.")
        last, still_since = self.injector.position(), time.monotonic()
        while not self.stop.wait(0.05):
            pos = self.injector.position()
            if pos != last:
                last, still_since = pos, time.monotonic()
            elif time.monotonic() - still_since >= self.resume_after:
                self.notify("Resumed.")
                return
        raise SafetyStop("stopped by the stop key while paused")


class Limits:
    """Step and wall-time limits of one run."""

    def __init__(self, max_steps: int, timeout: float):
        if max_steps < 1:
            raise DeskactError(f"--max-steps must be at least 1, got {max_steps}")
        if timeout <= 0:
            raise DeskactError(f"--timeout must be positive, got {timeout}")
        self.max_steps, self.timeout = max_steps, timeout
        self.t0 = time.monotonic()

    def exceeded(self, steps: int) -> str | None:
        if steps >= self.max_steps:
            return f"step limit reached ({self.max_steps} steps)"
        if time.monotonic() - self.t0 >= self.timeout:
            return f"time limit reached ({self.timeout:g} s)"
        return None
