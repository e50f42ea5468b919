"""The scripted demonstrator: performs a task's `steps` on the live app like a person would.

It sends real X input (XTEST, through recorder.platform.x11.Injector), so a recorder running
beside it sees exactly what it would see from a person's hardware. It looks every target up
on the running app (the rectangles the app publishes), never at fixed coordinates, so the
same script works under every perturbation; it closes the distracting popup when one shows
up; and with probability `fumble` per step it does a plausible wrong thing instead, which
the app reports as a failure (the negatives the critic learns from).
"""
from __future__ import annotations

import contextlib
import dataclasses
import random
import time

from recorder.errors import DeskactError

from .humanize import Humanizer
from .steps import Step

POINTER_KINDS = ("click", "double_click", "right_click", "drag", "scroll")
MIN_SETTLE = 0.05  # seconds after an action at least (fresh() waits for the app itself)
# ... when a recorder is listening (sandbox/demos.py): long enough for it (10 frames/s) to grab
# a still frame at least STILL_AFTER (0.1 s) after the action ended and before the pointer sets
# off, the screen the next action was decided on. At 0.05 s a speed-4 demo often had none, so
# its frame was the hovered one, differently each run, and two recordings of the same seeds
# trained different bundles (the end-to-end test's flakiness).
RECORDED_SETTLE = 0.3


class DemoError(DeskactError):
    """The demonstrator could not perform a step it was not told to fumble."""


def demonstrate(session, rng: random.Random, fumble: float = 0.0, injector=None, speed: float = 1.0,
                observe=None, steps=None, on_popup=None, target_timeout: float = 5.0,
                outcome_timeout: float = 3.0, settle: float = MIN_SETTLE) -> dict:
    """Perform session.task_cls.steps (or `steps`) on the app of `session` (a started TaskSession).

    fumble: probability per step of doing one of the step's `fumble` alternatives (or acting on
    the look-alike decoy when one is shown beside the step's target) instead of the step.
    speed: divides all human timings (1.0 = a person's pace).
    settle: seconds of rest after each action at least, whatever the speed.
    observe(i, step, snapshot): called once per step, just before its first input, with the
    step actually performed (a fumble alternative if fumbled). Closing a popup is not a step:
    on_popup(i, snapshot) is called while one is shown before step i, before it is closed.
    Returns {"outcome", "reason", "fumbled": [step indexes], "steps", "popups", "seconds"}.
    """
    if not 0.0 <= fumble <= 1.0:
        raise ValueError(f"fumble must be within 0..1, got {fumble!r}")
    from recorder.platform.x11 import Injector, driving

    steps = tuple(session.task_cls.steps if steps is None else steps)
    # Our own injector: drive the session's display and give the caller its display back after.
    with driving(session.display) if injector is None else contextlib.nullcontext():
        injector = injector or Injector(display=session.display)
        return _run(session, rng, fumble, injector, speed, observe, on_popup, steps, target_timeout, outcome_timeout,
                    settle)


def _run(session, rng, fumble, injector, speed, observe, on_popup, steps, target_timeout, outcome_timeout,
         settle) -> dict:
    demo = _Demo(session, injector, Humanizer(rng, speed=speed), target_timeout, settle)
    t0 = time.monotonic()
    fumbled: list[int] = []
    done = 0
    for i, step in enumerate(steps):
        if on_popup is not None:
            demo.on_popup = lambda snap, i=i: on_popup(i, snap)
        snap = demo.settle()
        if snap.get("outcome") or session.outcome():
            break  # the app already decided (a fumble it fails on at once)
        alts = list(step.fumble)
        if step.kind in POINTER_KINDS and step.target is not None and step.target == snap.get("decoy_for") \
                and "decoy" in snap.get("targets", {}):
            alts.append(dataclasses.replace(step, target="decoy", fumble=()))
        if rng.random() < fumble and alts:
            step = rng.choice(alts)
            fumbled.append(i)
        if observe is not None:
            observe(i, step, snap)
        try:
            demo.perform(step)
        except DemoError:
            if fumbled:  # off the demonstrated path: the app decides how that ends
                break
            raise
        done += 1
        demo.acted = time.time()
        demo.pause()
    out = session.wait_outcome(timeout=outcome_timeout)
    return {"outcome": out.get("outcome"), "reason": out.get("reason"), "fumbled": fumbled, "steps": done,
            "popups": demo.popups, "seconds": round(time.monotonic() - t0, 3)}


class _Demo:
    def __init__(self, session, injector, human: Humanizer, target_timeout: float, rest: float = MIN_SETTLE):
        self.s, self.inj, self.h = session, injector, human
        self.target_timeout = target_timeout
        self.rest = rest  # seconds after an action at least (settle() is the wait for the app)
        self.popups = 0
        self.on_popup = None
        self.acted = 0.0  # wall time of the last input sent
        snap = session.snapshot() or {}
        self.screen = tuple(snap.get("screen") or session.screen)

    # ----- reading the app --------------------------------------------------------------------
    def settle(self) -> dict:
        """The app's current state once no popup is due; closes the popup if one is shown.

        Waits first until the app has handled the last input (see `fresh`), so a slow app
        under load cannot show a stale state, e.g. "no popup due" just before one opens."""
        self.fresh()
        deadline = time.monotonic() + self.target_timeout
        while True:
            snap = self.s.snapshot() or {}
            if snap.get("outcome"):
                return snap
            targets = snap.get("targets", {})
            if "popup_close" in targets:
                if self.on_popup is not None:
                    self.on_popup(snap)
                self._pointer("click", targets["popup_close"])
                self.acted = time.time()
                self.popups += 1
                self._wait(lambda sn: not sn.get("popup"), "the popup to close")
                time.sleep(self.h.think(0.15, 0.4))
                continue
            if not snap.get("popup_due") and not snap.get("popup"):
                return snap
            if time.monotonic() > deadline:
                raise DemoError(f"{self.s.task}: the app kept a popup pending for {self.target_timeout:g} s")
            time.sleep(0.02)

    def fresh(self) -> None:
        """Wait for two app poll ticks after the last input: the first may have run before the
        app's event loop took our X events in, the second cannot have."""
        tick = self.acted
        for _ in range(2):
            deadline = time.monotonic() + self.target_timeout
            while time.monotonic() < deadline:
                now = (self.s.snapshot() or {}).get("tick")
                if now is None or now > tick:
                    tick = now if now is not None else tick
                    break
                time.sleep(0.01)

    def _wait(self, cond, what: str) -> dict:
        deadline = time.monotonic() + self.target_timeout
        while True:
            snap = self.s.snapshot() or {}
            if cond(snap) or snap.get("outcome"):
                return snap
            if time.monotonic() > deadline:
                raise DemoError(f"{self.s.task}: timed out waiting for {what}")
            time.sleep(0.02)

    def target(self, name: str) -> list[int]:
        snap = self._wait(lambda sn: name in sn.get("targets", {}), f"target {name!r}")
        rect = snap.get("targets", {}).get(name)
        if rect is None:
            raise DemoError(f"{self.s.task}: target {name!r} is not shown (the task ended)")
        return rect

    # ----- acting -----------------------------------------------------------------------------
    def pause(self) -> None:
        time.sleep(max(self.rest, self.h.think()))

    def perform(self, step: Step) -> None:
        k = step.kind
        if k in ("click", "double_click", "right_click"):
            self._pointer(k, self.target(step.target), steer=step.steer)
        elif k == "drag":
            self._drag(self.target(step.target), step.to)
        elif k == "scroll":
            self._scroll(step)
        elif k == "type":
            for ch, d in zip(step.text, self.h.key_delays(step.text)):
                time.sleep(d)
                self.inj.type_text(ch)
        elif k == "key":
            keys = step.combo.split("+")
            for name in keys:
                self.inj.key(name, True)
                time.sleep(self.h.hold() / 3)
            time.sleep(self.h.hold())
            for name in reversed(keys):
                self.inj.key(name, False)
                time.sleep(self.h.hold() / 4)
        elif k != "skip":
            raise DemoError(f"the demonstrator cannot perform a {k!r} step")

    def _move_to(self, x: float, y: float, steer: bool = False) -> None:
        for px, py, dt in self.h.path(self.inj.position(), (x, y), self.screen, steer=steer):
            if dt > 0:
                time.sleep(dt)
            self.inj.move(px, py)

    def _pointer(self, kind: str, rect, steer: bool = False) -> None:
        x, y = self.h.aim(rect)
        self._move_to(x, y, steer=steer)
        time.sleep(self.h.rng.uniform(0.03, 0.09) / self.h.speed)  # settle on the target
        button = "right" if kind == "right_click" else "left"
        for n in range(2 if kind == "double_click" else 1):
            if n:
                time.sleep(self.h.rng.uniform(0.07, 0.14) / max(1.0, self.h.speed / 2))
            self.inj.button(button, True)
            time.sleep(self.h.hold())
            self.inj.button(button, False)

    def _drag(self, rect, to: str) -> None:
        x, y = self.h.aim(rect, inner=0.4)
        self._move_to(x, y)
        time.sleep(self.h.rng.uniform(0.05, 0.12) / self.h.speed)
        self.inj.button("left", True)
        try:
            time.sleep(self.h.hold() * 2)
            dest = self.target(to)
            tx, ty = self.h.aim(dest, inner=0.4)
            self._move_to(tx, ty)
            time.sleep(self.h.rng.uniform(0.08, 0.16) / self.h.speed)  # hover before dropping
        finally:
            self.inj.button("left", False)

    def _scroll(self, step: Step, max_clicks: int = 40) -> None:
        """Wheel over the target, one notch at a time, until `until` is wholly visible."""
        snap = self.s.snapshot() or {}
        if step.until in snap.get("targets", {}):
            return
        rect = self.target(step.target)
        self._move_to(*self.h.aim(rect))
        direction = -1 if step.clicks < 0 else 1
        burst = max(1, abs(step.clicks))
        for n in range(max_clicks):
            seq = (self.s.snapshot() or {}).get("seq")
            self.inj.scroll(direction)
            time.sleep(self.h.rng.uniform(0.03, 0.07) / self.h.speed)
            self.acted = time.time()
            self.fresh()  # the app has handled the notch: a scroll changes its "scroll" field
            snap = self.s.snapshot() or {}
            if step.until in snap.get("targets", {}) or snap.get("outcome"):
                return
            if snap.get("seq") == seq:
                break  # the view did not move: the end of the list
            if (n + 1) % burst == 0:  # a person scrolls in bursts and looks in between
                time.sleep(self.h.think(0.15, 0.35))
        raise DemoError(f"{self.s.task}: {step.until!r} did not come into view while scrolling {step.target!r}")
