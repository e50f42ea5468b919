"""Practice labels the first wrong action, not the one the app complained at: on signin a click
into the password field is only reported ("wrong user name") when Sign in is pressed."""
from __future__ import annotations

import pytest
from conftest import popup_seed

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
        assert off == (ex.landed[wrong_at][0], list(right), None)  # when, and where it should have clicked


@pytest.mark.parametrize("seen", [True, False])
def test_a_click_behind_the_modal_popup_is_the_wrong_action(seen, no_leaks):
    # the popup holds the grab: a click on the next target behind it reaches nothing, so it is the
    # wrong action, unless the agent decided on a screen without the popup (it opened since)
    from agent.executor import LiveExecutor
    from agent.practice import Target, _first_off_target, _TargetWitness
    from recorder.platform.x11 import Injector, driving
    from sandbox.harness import TaskSession

    with TaskSession("signin", seed=popup_seed(), perturb_spec="popup") as s, driving(s.display):
        size = s.screen
        s.wait_target("popup_close")
        ex = _TargetWitness(LiveExecutor(size, Injector(display=s.display)), s)
        ex.look()
        if not seen:
            ex.popup_seen = False  # as if the agent's last screen came before the popup opened
        x, y = _centre(s.wait_target("username"), size)
        ex.execute({"kind": "click", "x": x, "y": y})
        off = _first_off_target(ex, Target(task="signin"))
        close = s.targets()["popup_close"]  # still up: the click did not reach past the dialog
    assert [name for _, name, _ in ex.landed] == ["username"]  # on the target's rectangle, all the same
    # the click was the workflow's next step, made too early: closing the popup was right first
    assert off == ((ex.landed[0][0], None, list(close)) if seen else None)


def test_a_rollout_that_stopped_short_has_no_wrong_chunk():
    # settings under layout: three right clicks (practice marked none wrong), then the rollout
    # stopped; labelling its last click wrong taught the critic that a right click was wrong
    from models.dataset import LoadedEpisode, failure_index

    def rollout(tokens, **meta):
        return LoadedEpisode(path="p", outcome="failure", meta=meta, tokens=tokens, positions=[], frames=[],
                             episode=None, role="failure")

    consensus = [1, 1, 1, 1]
    assert failure_index(rollout([1, 1, 1], source="practice"), consensus) == 3  # past its end: none
    assert failure_index(rollout([1, 2, 1], source="practice"), consensus) == 1  # left the sequence there
    assert failure_index(rollout([1, 1, 1], source="practice", failed_at_action=2), consensus) == 2  # marked
    assert failure_index(rollout([1, 1, 1, 1], source="practice"), consensus) == 3  # all done, no success: the last
    assert failure_index(rollout([1, 1, 1]), consensus) == 2  # a person's failed recording: as before
