"""Practice labels the first wrong action, not the one the app complained at: on signin a click
into the password field is only reported ("wrong user name") when Sign in is pressed."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.x11


def _centre(rect, size):
    x, y, w, h = rect
    return (x + w / 2) / size[0], (y + h / 2) / size[1]


@pytest.mark.parametrize("first,wrong_at", [("password", 0), ("username", None)])
def test_first_click_off_the_task_target_is_the_wrong_action(first, wrong_at, no_leaks):
    from agent.executor import LiveExecutor
    from agent.practice import Target, _first_off_target, _TargetWitness
    from recorder.platform.x11 import Injector, driving
    from sandbox.harness import TaskSession

    with TaskSession("signin", seed=3) as s, driving(s.display):
        size = s.screen
        ex = _TargetWitness(LiveExecutor(size, Injector(display=s.display)), s)
        x, y = _centre(s.wait_target(first), size)
        ex.execute({"kind": "click", "x": x, "y": y})
        ex.execute({"kind": "type", "text": "alice"})
        x, y = _centre(s.wait_target("sign_in"), size)
        ex.execute({"kind": "click", "x": x, "y": y})
        outcome = s.wait_outcome()
        off = _first_off_target(ex, Target(task="signin"))
        right = s.targets()["username"]
    assert [name for _, name, _ in ex.landed] == [first, "sign_in"]
    assert outcome["outcome"] == "failure"  # no password typed: the app fails at Sign in either way
    if wrong_at is None:
        assert off is None  # every click hit the task's next target: the app's report decides
    else:
        assert off == (ex.landed[wrong_at][0], list(right))  # when, and where it should have clicked
