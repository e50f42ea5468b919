"""Replay a recorded episode: as a dry run (each recorded action on its frame, optionally next
to what a bundle's agent would have done there), or live, as a plain macro at the recorded
coordinates (the macro baseline of the benchmark)."""
from __future__ import annotations

from pathlib import Path

import cv2

from recorder.episode import Episode, decision_frame

from .report import Report


def _frame(ep: Episode, name: str | None):
    if name is None:
        return None
    img = cv2.imread(str(ep.frame_path(name)), cv2.IMREAD_COLOR)
    return img


def replay_dry(ep: Episode, report_dir: str | Path, agent=None, notify=print) -> dict:
    """Step through the recording; with `agent` (an object with decide(frame) -> Decision),
    compare its first action on each recorded frame with the person's. Returns a summary."""
    report = Report(report_dir, f"Replay of {ep.path.name}", f"{len(ep.actions)} recorded actions"
                    + (" · compared with the agent" if agent else ""), size=ep.screen_size)
    agree = compared = 0
    blank = None
    done: list[int] = []
    cursor = (0.5, 0.5)
    for i, a in enumerate(ep.actions, 1):
        frame = _frame(ep, decision_frame(a))
        if frame is None:
            if blank is None:
                w, h = ep.screen_size
                import numpy as np

                blank = np.full((h, w, 3), 255, np.uint8)
            frame, note = blank, "no frame was recorded for this action"
        else:
            note = ""
        if agent is not None:
            decision = agent.decide(frame, cursor, done)
            same = agent.agrees(decision, a, frame)
            done.append(agent.token_of(a))
            if a.get("x") is not None:
                cursor = (a.get("x2", a["x"]), a.get("y2", a["y"]))
            compared += 1
            agree += int(same)
            note = (note + " " if note else "") + ("agent agrees" if same else "agent differs")
            report.add_step(frame, decision.chosen, decision.candidates, decision.timings, note,
                            compare=[a], chosen_label="agent would do", compare_label="person did")
        else:
            report.add_step(frame, [a], [], {}, note, chosen_label="person did")
        notify(f"  {i:3d}. {_describe(a, ep)}" + (f"  [{note}]" if note else ""))
    path = report.finish("end of recording")
    summary = {"actions": len(ep.actions), "report": str(path)}
    if agent is not None:
        summary["agreement"] = agree / compared if compared else 0.0
    return summary


def at_recorded_pixels(action: dict, recorded: tuple[int, int], current: tuple[int, int]) -> dict:
    """The action at the same absolute (logical) pixels on a screen of another size, the way a
    macro replays: normalised coordinates would quietly adapt it, which macros do not do."""
    a = dict(action)
    for kx, ky in (("x", "y"), ("x2", "y2")):
        if a.get(kx) is not None:
            a[kx] = a[kx] * recorded[0] / current[0]
            a[ky] = a[ky] * recorded[1] / current[1]
    return a


def replay_live(ep: Episode, executor, screen, stop=None, notify=print, watch=None) -> int:
    """Execute the recorded actions at their recorded pixel coordinates, waiting for the screen
    to settle after each (a plain macro); returns how many were executed. `watch()` may end it
    early (the sandbox: once the app reports its outcome)."""
    for i, a in enumerate(ep.actions, 1):
        if stop is not None and stop.is_set():
            notify("Stopped by the stop key.")
            return i - 1
        notify(f"  {i:3d}. {_describe(a, ep)}")
        executor.execute(at_recorded_pixels(a, ep.screen_size, screen.logical_size))
        screen.settle(stop=stop)
        if watch is not None and watch():
            return i
    return len(ep.actions)


def _describe(a, ep):
    from .executor import describe

    return describe(a, ep.screen_size)
