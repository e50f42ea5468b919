"""The built-in task apps: what their step scripts cover, that every app starts under every
perturbation (real Tk on a private Xvfb), that the first outcome is final, and that nothing
is left running, also when the code inside `with TaskSession(...)` raises."""
from __future__ import annotations

import json
import os
import random

import pytest

from sandbox import perturb
from sandbox.harness import TaskSession
from sandbox.steps import Step
from sandbox.tasks import TASKS

TASK_NAMES = list(TASKS)


@pytest.fixture(autouse=True)
def keep_display():
    before = os.environ.get("DISPLAY")
    yield
    if before is not None:
        os.environ["DISPLAY"] = before


def _all_steps():
    for cls in TASKS.values():
        for step in cls.steps:
            yield step
            yield from step.fumble


@pytest.mark.parametrize("task", TASK_NAMES)
def test_each_task_is_a_multi_step_workflow_with_fumbles(task):
    cls = TASKS[task]
    assert 3 <= len(cls.steps) <= 8, f"{task} has {len(cls.steps)} steps"
    assert all(isinstance(s, Step) for s in cls.steps)
    assert sum(1 for s in cls.steps if s.fumble) >= 2, f"{task} needs fumble alternatives on several steps"
    for s in cls.steps:
        for alt in s.fumble:
            assert alt != s
    assert cls.n_phases == len(cls.phase_names(cls.__new__(cls))), "popup phases must match the real phases"


def test_tasks_together_need_every_kind_of_input():
    steps = list(_all_steps())
    kinds = {s.kind for s in steps}
    assert {"click", "double_click", "right_click", "drag", "scroll", "type", "key"} <= kinds
    combos = {s.combo for s in steps if s.kind == "key"}
    assert {"ctrl+s", "enter", "tab"} <= combos
    assert any(s.text and not s.text.isascii() for s in steps if s.kind == "type")
    targets = {s.target for s in steps if s.target} | {s.to for s in steps if s.to}
    assert {"cancel", "ctx_delete"} <= targets  # look-alike wrong choices exist
    assert all(isinstance(t, str) and t.isidentifier() for t in targets), "targets are names, never coordinates"


@pytest.mark.x11
@pytest.mark.parametrize("task", TASK_NAMES)
def test_app_starts_and_publishes_its_window_under_all_perturbations(task, no_leaks):
    seed = 5
    variant = perturb.draw("all", seed, n_phases=TASKS[task].n_phases)
    with TaskSession(task, seed=seed, perturb_spec="all") as s:
        snap = s.snapshot()
        assert snap["screen"] == list(variant.screen)
        x, y, w, h = snap["window"]
        assert 0 <= x and x + w <= snap["screen"][0] and 0 <= y and y + h <= snap["screen"][1]
        assert snap["targets"], snap
        for name, (tx, ty, tw, th) in snap["targets"].items():
            assert tw > 1 and th > 1, name
        assert s.outcome() is None


@pytest.mark.x11
def test_first_outcome_is_final(no_leaks):
    from sandbox.demonstrator import demonstrate
    from sandbox.steps import click

    steps = [click("sign_up"), click("username")]  # a wrong choice first
    with TaskSession("signin", seed=0) as s:
        result = demonstrate(s, random.Random(0), speed=6, steps=steps)
        assert result["outcome"] == "failure" and result["reason"] == "pressed 'Sign up'"
        first = json.loads(s.outcome_path.read_text())
        rect = s.targets()["sign_in"]
        from recorder.platform.x11 import Injector

        Injector(s.display).click(rect[0] + rect[2] / 2, rect[1] + rect[3] / 2)
        import time

        time.sleep(0.3)
        assert json.loads(s.outcome_path.read_text()) == first


@pytest.mark.x11
def test_no_processes_left_when_the_with_block_raises(no_leaks):
    with pytest.raises(RuntimeError, match="boom"):
        with TaskSession("rename", seed=1, perturb_spec="resolution") as s:
            assert s.proc.poll() is None and s.vdisplay.pid
            raise RuntimeError("boom")
    assert s.proc is None and s.vdisplay is None


@pytest.mark.x11
@pytest.mark.parametrize("task", TASK_NAMES)
def test_missing_makes_the_task_impossible(task, no_leaks):
    """The `missing` perturbation (the benchmark's impossible task) removes the key target: the
    scripted person cannot finish, and nothing else on screen counts as success."""
    from sandbox.demonstrator import DemoError, demonstrate

    with TaskSession(task, seed=5, perturb_spec="missing") as s:
        with pytest.raises(DemoError):
            demonstrate(s, random.Random(1), speed=6, target_timeout=1.0)
        assert (s.outcome() or {}).get("outcome") != "success"
    assert "missing" not in perturb.draw("all", 1).spec  # not a UI change: never part of "all"
