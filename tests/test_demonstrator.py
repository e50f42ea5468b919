"""The scripted demonstrator on real task apps: a private Xvfb per session, real XTEST input,
real Tk. Each (task, perturbation) runs once in the quick suite (seed = the task's index);
`-m slow` sweeps several seeds and every fumble alternative."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest

from sandbox import perturb
from sandbox.demonstrator import demonstrate
from sandbox.harness import TaskSession
from sandbox.humanize import Humanizer
from sandbox.tasks import TASKS

pytestmark = pytest.mark.x11

SPEED = 6.0  # human timings divided by this: tests stay fast, motion stays humanlike in shape
TASK_NAMES = list(TASKS)
PERTS = ("none",) + perturb.NAMES


@pytest.fixture(autouse=True)
def keep_display():
    """demonstrate() binds input to each session's Xvfb; give the suite its DISPLAY back."""
    before = os.environ.get("DISPLAY")
    yield
    if before is not None:
        os.environ["DISPLAY"] = before


class Observed:
    """What the demonstrator saw before each step: normalised targets and a crop of the frame
    at the window rectangle of the reference run (so a moved window shows as different pixels)."""

    def __init__(self):
        self.steps: list[tuple[int, dict, tuple, np.ndarray]] = []  # (i, targets, frame shape, crop)
        self.windows: dict[int, list[int]] = {}


def run_observed(task: str, seed: int, pert: str, reference: Observed | None = None, **kw):
    import mss

    obs = Observed()
    with TaskSession(task, seed=seed, perturb_spec=pert) as s, mss.MSS(display=s.display) as grabber:
        def observe(i, step, snap):
            frame = np.asarray(grabber.grab(grabber.monitors[0]))[:, :, :3]
            win = (reference.windows.get(i) if reference else None) or snap["window"]
            obs.windows.setdefault(i, snap["window"])
            x, y, w, h = win
            sw, sh = snap["screen"]
            targets = {k: (r[0] / sw, r[1] / sh, r[2] / sw, r[3] / sh) for k, r in snap["targets"].items()}
            obs.steps.append((i, targets, frame.shape, frame[y:y + h, x:x + w].copy()))

        result = demonstrate(s, random.Random(seed), speed=SPEED, observe=observe,
                             on_popup=lambda i, snap: observe(i, None, snap), **kw)
    return result, obs


_reference: dict[tuple[str, int], Observed] = {}


def reference(task: str, seed: int) -> Observed:
    """The unperturbed run of (task, seed), done once and shared by the perturbed runs."""
    if (task, seed) not in _reference:
        result, obs = run_observed(task, seed, "none")
        assert result["outcome"] == "success", result
        _reference[(task, seed)] = obs
    return _reference[(task, seed)]


def differs(obs: Observed, ref: Observed) -> tuple[bool, bool]:
    """(positions differ, pixels differ) at some step, compared step by step with the reference."""
    ref_by_step = {}
    for i, targets, shape, crop in ref.steps:
        ref_by_step[i] = (targets, shape, crop)  # the last observation of step i
    pos = pix = False
    for i, targets, shape, crop in obs.steps:
        if i not in ref_by_step:
            continue
        rt, rshape, rcrop = ref_by_step[i]
        if set(targets) != set(rt) or any(np.abs(np.subtract(targets[k], rt[k])).max() > 1e-4 for k in rt):
            pos = True
        if shape != rshape or crop.shape != rcrop.shape or not np.array_equal(crop, rcrop):
            pix = True
    return pos, pix


@pytest.mark.parametrize("pert", PERTS)
@pytest.mark.parametrize("task", TASK_NAMES)
def test_demonstrator_completes_task_under_perturbation(task, pert, no_leaks):
    seed = TASK_NAMES.index(task) + 1
    if pert == "none":
        reference(task, seed)
        return
    result, obs = run_observed(task, seed, pert, reference=reference(task, seed))
    assert result["outcome"] == "success", result
    assert result["fumbled"] == []
    assert result["steps"] == len(TASKS[task].steps)
    if pert == "popup":
        assert result["popups"] == 1, "the popup perturbation never showed its dialog"
    pos, pix = differs(obs, reference(task, seed))
    assert pos, f"{pert} did not move any target of {task}"
    assert pix, f"{pert} did not change any pixel of {task}"


@pytest.mark.parametrize("task", TASK_NAMES)
def test_fumbling_every_step_ends_in_an_app_reported_failure(task, no_leaks):
    seed = TASK_NAMES.index(task)
    with TaskSession(task, seed=seed, perturb_spec="decoy") as s:
        result = demonstrate(s, random.Random(seed), fumble=1.0, speed=SPEED)
    assert result["outcome"] == "failure", result
    assert result["fumbled"], result
    assert result["reason"] and "did not finish" not in result["reason"], result


# ----- slow: several seeds, every fumble alternative ---------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("seed", [11])  # scripts/sweep_demos.py --seeds 3 sweeps every change (docs/benchmarks.md)
@pytest.mark.parametrize("pert", ["all"])  # another seed, every change at once; one per change runs above
@pytest.mark.parametrize("task", TASK_NAMES)
def test_sweep_seeds(task, pert, seed, no_leaks):
    with TaskSession(task, seed=seed, perturb_spec=pert) as s:
        result = demonstrate(s, random.Random(seed), speed=SPEED)
    assert result["outcome"] == "success", result


def _fumble_cases():
    for task, cls in TASKS.items():
        for i, step in enumerate(cls.steps):
            for j, _ in enumerate(step.fumble):
                yield pytest.param(task, i, j, id=f"{task}-step{i}-alt{j}")


@pytest.mark.slow
@pytest.mark.parametrize("task,i,j", list(_fumble_cases()))
def test_each_fumble_alternative_fails_in_the_app(task, i, j, no_leaks):
    steps = list(TASKS[task].steps)
    steps[i] = steps[i].fumble[j]
    with TaskSession(task, seed=i + j) as s:
        result = demonstrate(s, random.Random(0), speed=SPEED, steps=steps)
    assert result["outcome"] == "failure" and result["reason"], result
    assert "did not finish" not in result["reason"], result


# ----- humanize: no display needed ----------------------------------------------------------------
def test_human_paths_end_on_target_take_human_time_and_curve():
    h = Humanizer(random.Random(3))
    for end in [(900, 600), (40, 700), (500, 105)]:
        path = h.path((100, 100), end, screen=(1280, 800))
        assert path[-1][:2] == end
        seconds = sum(dt for _, _, dt in path)
        assert 0.2 <= seconds <= 1.2, seconds
        xs = np.array([(x, y) for x, y, _ in path])
        assert (xs[:, 0] >= 1).all() and (xs[:, 1] >= 1).all()
    # not a straight line: the largest distance from the chord is a few pixels at least
    path = np.array([(x, y) for x, y, _ in Humanizer(random.Random(5)).path((100, 100), (900, 500))])
    a, b = np.array([100, 100]), np.array([900, 500])
    u, v = b - a, path - a
    d = np.abs(u[0] * v[:, 1] - u[1] * v[:, 0]) / np.linalg.norm(u)
    assert d.max() > 3


def test_humanizer_is_reproducible_and_speed_scales_time():
    p1 = Humanizer(random.Random(7)).path((0, 0), (600, 300))
    p2 = Humanizer(random.Random(7)).path((0, 0), (600, 300))
    assert p1 == p2
    slow = sum(dt for *_, dt in Humanizer(random.Random(7)).path((10, 10), (600, 300)))
    fast = sum(dt for *_, dt in Humanizer(random.Random(7), speed=4).path((10, 10), (600, 300)))
    assert fast == pytest.approx(slow / 4, rel=0.35)
    delays = Humanizer(random.Random(1)).key_delays("ab cdé€")
    assert all(0.04 <= d <= 0.35 for d in delays)
    assert len(set(delays)) == len(delays)  # a rhythm, not a metronome
    with pytest.raises(ValueError, match="speed"):
        Humanizer(random.Random(0), speed=0)


def test_steered_path_goes_across_then_down():
    path = Humanizer(random.Random(2)).path((100, 200), (260, 240), steer=True)
    ys = [y for x, y, _ in path if x < 255]
    assert max(abs(y - 200) for y in ys) < 1.0  # stays in the row while crossing to the submenu
    assert path[-1][:2] == (260, 240)


def test_scrolling_stops_at_the_end_of_the_list_with_a_clear_error(no_leaks):
    from sandbox.demonstrator import DemoError
    from sandbox.steps import scroll

    steps = list(TASKS["search_pick"].steps[:3]) + [scroll("results", until="no_such_row")]
    with TaskSession("search_pick", seed=0) as s:
        with pytest.raises(DemoError, match="no_such_row.*did not come into view"):
            demonstrate(s, random.Random(0), speed=SPEED, steps=steps)
        assert s.outcome() is None


@pytest.mark.parametrize("task", TASK_NAMES)
def test_recorded_demonstration_holds_the_scripted_actions(task, tmp_path, no_leaks):
    """The point of the demonstrator: the real recorder, listening to the display, turns its
    input back into the step script (non-ASCII text, drag, scroll, double and right clicks)."""
    import json

    from recorder.capture import Recorder

    with TaskSession(task, seed=2) as s:
        rec = Recorder(tmp_path / "ep", display=s.display, hotkeys=False, meta_extra={"task": task})
        rec.start()
        try:
            result = demonstrate(s, random.Random(2), speed=SPEED)
        finally:
            rec.stop(outcome="unknown")
    assert result["outcome"] == "success", result
    actions = [json.loads(line) for line in (tmp_path / "ep" / "actions.jsonl").read_text().splitlines()]
    got = []
    for a in actions:
        if not (a["kind"] == "scroll" and got and got[-1][0] == "scroll"):
            got.append((a["kind"], a.get("text") if a["kind"] == "type" else a.get("combo")))
    want = [(st.kind, st.text if st.kind == "type" else st.combo) for st in TASKS[task].steps]
    assert got == want


@pytest.mark.parametrize("task,seed", [("save_as", 0), ("export_menu", 0)])
def test_a_starved_app_never_shows_the_demonstrator_a_stale_state(task, seed, monkeypatch, no_leaks):
    """Stop the app for a moment after every input (a busy machine): the demonstrator must wait
    until the app has handled it, or it acts just before the popup grabs input (measured: the
    typed file name lost its first letters, a menu click went nowhere)."""
    import signal
    import threading

    from sandbox import demonstrator

    perform = demonstrator._Demo.perform

    def starve_after(self, step):
        perform(self, step)
        pid = self.s.proc.pid
        os.kill(pid, signal.SIGSTOP)

        def wake():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

        threading.Timer(0.35, wake).start()

    monkeypatch.setattr(demonstrator._Demo, "perform", starve_after)
    with TaskSession(task, seed=seed, perturb_spec="popup") as s:
        result = demonstrate(s, random.Random(seed), speed=SPEED)
    assert result["outcome"] == "success" and result["popups"] == 1, result


def test_two_recordings_of_one_seed_decide_on_the_same_pixels(tmp_path, no_leaks):
    """Scripted demos are reproducible: every pointer action gets a still frame (not the hovered
    one) and no caret blinks, so the same seeds record the same training screens. Before, a
    speed-4 demo took the hovered frame on some runs only, and the end-to-end test's bundle
    changed from run to run."""
    import json

    from PIL import Image

    from sandbox.demos import record_demo

    seen = []
    for rep in ("a", "b"):
        r = record_demo("signin", 1000, "none", tmp_path / rep, speed=4.0)
        assert r["outcome"] == "success", r
        acts = [json.loads(line) for line in (tmp_path / rep / "actions.jsonl").read_text().splitlines()]
        assert all(a.get("frame_still") for a in acts if a["kind"] == "click"), acts
        seen.append([np.asarray(Image.open(tmp_path / rep / "frames" / (a.get("frame_still") or a["frame"])))
                     for a in acts])
    assert len(seen[0]) == len(seen[1]) == len(TASKS["signin"].steps)
    for a, b in zip(*seen):
        assert np.array_equal(a, b)
