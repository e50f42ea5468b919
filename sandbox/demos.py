"""Record one scripted demonstration of a built-in task: a private display, the task app, the
scripted demonstrator and the real recorder, exactly as a person's demonstration would be
recorded. `deskact demo`, the benchmarks and the tests all record through here.

Besides what the recorder writes, meta.json gets what only the sandbox knows:
"action_targets" {action index: [x, y, w, h] of the widget the demonstrator aimed at} (to judge
clicks by the real target) and, for fumbled runs, "fumble_action" (index of the first wrong
action: the trainer labels the chunks holding it as negatives).
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

from recorder.episode import read_jsonl, write_json_atomic

from .demonstrator import POINTER_KINDS, RECORDED_SETTLE, demonstrate
from .harness import TaskSession


def record_demo(task: str, seed: int, perturb_spec: str, folder: str | Path, fumble: float = 0.0,
                speed: float = 1.0, settle: float = 0.4) -> dict:
    """-> the demonstrator's result plus "actions" (how many the recorder saw) and "path"."""
    from recorder.capture import Recorder
    from recorder.platform.x11 import Injector, driving

    folder = Path(folder)
    started: list[tuple[float, int, object, dict]] = []  # (monotonic time, step index, step, snapshot)

    def observe(i, step, snap):
        started.append((time.monotonic(), i, step, snap))

    with TaskSession(task, seed=seed, perturb_spec=perturb_spec) as session, driving(session.display):
        injector = Injector(display=session.display)
        meta = {"task": task, "seed": seed, "perturb": session.variant.spec, "fumble": fumble,
                "app_hint": f"sandbox:{task}", "source": "scripted-demonstrator"}
        rec = Recorder(folder, display=session.display, hotkeys=False, meta_extra=meta)
        rec.start()
        # the first action's still frame is one grabbed before the pointer sets off: wait for the
        # ring's first grabs (on a busy machine they came after it, and the frame was the hovered one)
        rec.sync_frames(2)
        t0 = time.monotonic() - rec.elapsed()  # the recorder's time zero, on this clock
        try:
            result = demonstrate(session, random.Random(f"demo:{task}:{seed}"), fumble=fumble,
                                 injector=injector, speed=speed, observe=observe,
                                 settle=RECORDED_SETTLE)
            time.sleep(settle / max(speed, 1e-3))  # let the end state be on screen for the last frame
        except BaseException:
            rec.stop(outcome="unknown", reason="the demonstration was interrupted")
            raise
        summary = rec.stop(outcome=result["outcome"], reason=result.get("reason"))
    _annotate(folder, started, t0, set(result.get("fumbled", ())))
    result["actions"] = summary.get("actions", 0)
    result["path"] = str(folder)
    return result


def _annotate(folder: Path, started, t0: float, fumbled: set[int]) -> None:
    """Match each recorded action with the step being performed when it began."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    w, h = meta["screen"]["width"], meta["screen"]["height"]
    targets, fumble_action = {}, None
    for a in read_jsonl(folder / "actions.jsonl"):
        at = t0 + float(a["t"])
        current = [s for s in started if s[0] <= at + 0.02]
        if not current:
            continue
        _, i, step, snap = current[-1]
        if i in fumbled and fumble_action is None:
            fumble_action = int(a["i"])
        if a.get("x") is not None and step.kind in POINTER_KINDS and step.target:
            rect = snap.get("targets", {}).get(step.target)
            if rect and rect[0] <= a["x"] * w <= rect[0] + rect[2] and rect[1] <= a["y"] * h <= rect[1] + rect[3]:
                targets[str(a["i"])] = rect
    meta["action_targets"] = targets
    if fumble_action is not None:
        meta["fumble_action"] = fumble_action
    write_json_atomic(folder / "meta.json", meta)
