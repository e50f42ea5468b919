"""The runner scrolls on, one click at a time, when nothing is worth doing after its own scroll:
a demo scrolls as far as its list needs and is recorded as one scroll, which may fall short of
the target or pass it on another day's list (search_pick)."""
from __future__ import annotations

import pytest

from agent.runner import MAX_SCROLLS, NOTHING, scroll_on
from models import codec

SCROLL = {"kind": "scroll", "x": 0.2, "y": 0.3, "dx": 0, "dy": -3}


def test_scroll_on_repeats_the_agents_scroll_one_click_at_a_time():
    assert scroll_on([SCROLL], 0.01, turned=False) == dict(SCROLL, dy=-1, again=True)
    assert scroll_on([dict(SCROLL, dy=2)], 0.01, turned=False)["dy"] == 1


def test_scroll_on_turns_back_once_at_the_end_of_the_list_and_then_gives_up():
    again = dict(SCROLL, dy=-1, again=True)
    assert scroll_on([again], 0.0, turned=False)["dy"] == 1  # the bottom: go back up
    assert scroll_on([dict(again, dy=1)], 0.0, turned=True) is None  # the top as well: nothing to find


def test_scroll_on_only_follows_a_scroll_of_the_agent_that_moved_the_screen():
    assert scroll_on([], 0.01, turned=False) is None
    assert scroll_on([{"kind": "click", "x": 0.2, "y": 0.3}], 0.01, turned=False) is None
    assert scroll_on([SCROLL], None, turned=False) is None
    assert scroll_on([SCROLL], NOTHING / 2, turned=False) is None  # a list too short to scroll


class _Picker:
    """Searches, scrolls one click, and then double-clicks the wanted row only once it is in
    view; abstains before that (the runner is under test, not the models)."""

    threshold, min_actions = 0.5, 0

    def __init__(self, session):
        self.s, self.seen = session, []

    def _centre(self, name):
        x, y, w, h = self.s.targets()[name]
        return (x + w / 2) / self.s.screen[0], (y + h / 2) / self.s.screen[1]

    def decide(self, frame, cursor, done, skip=0, avoid=()):
        from agent.decide import Decision

        self.seen.append(list(done))
        if not done:
            sx, sy = self._centre("search")
            rx, ry = self._centre("results")
            chunk = [{"kind": "click", "x": sx, "y": sy}, {"kind": "type", "text": "budget"},
                     {"kind": "key", "combo": "enter"}, {"kind": "scroll", "x": rx, "y": ry, "dx": 0, "dy": -1}]
        elif self.s.targets().get("wanted"):
            x, y = self._centre("wanted")
            chunk = [{"kind": "double_click", "x": x, "y": y}, {"kind": "done"}]
        else:
            return Decision(None, 0.1, [], note="abstained: the best candidate scores 0.10")
        return Decision(chunk, 0.9, [{"actions": chunk, "score": 0.9, "source": "test"}])

    def recheck(self, frame, rest, cursor, done):
        return 1.0

    def token_of(self, action):
        return codec.Vocab().token(action)


def _run(tmp_path, perturb="none", seed=5):
    from agent.executor import LiveExecutor
    from agent.runner import run_loop
    from agent.safety import Limits
    from agent.screen import Screen
    from recorder.platform.x11 import Injector, driving
    from sandbox.harness import TaskSession

    with TaskSession("search_pick", seed=seed, perturb_spec=perturb) as s, driving(s.display):
        s.wait_target("search")
        agent = _Picker(s)
        screen = Screen(display=s.display)
        res = run_loop(agent, screen, LiveExecutor(screen.logical_size, Injector(display=s.display)),
                       Limits(40, 60), notify=lambda m: None, out_dir=tmp_path)
        return agent, res, s.outcome()


@pytest.mark.x11
def test_the_runner_scrolls_on_until_the_wanted_row_shows(no_leaks, tmp_path):
    agent, res, outcome = _run(tmp_path)
    again = [a for a in res.executed if a.get("again")]
    assert outcome and outcome.get("outcome") == "success", (res, outcome)
    assert again and all(a["kind"] == "scroll" and abs(a["dy"]) == 1 for a in again)
    # the models' history holds the one scroll the demos would have made, however many it took
    assert max(h.count(codec.Vocab().token({"kind": "scroll", "dy": -1})) for h in agent.seen) == 1


@pytest.mark.x11
def test_the_runner_gives_up_after_searching_the_whole_list_in_vain(no_leaks, tmp_path):
    agent, res, outcome = _run(tmp_path, perturb="missing")
    again = [a for a in res.executed if a.get("again")]
    assert outcome is None and res.status == "abstain", (res, outcome)
    assert len(again) >= 2 and again[0]["dy"] == -1  # it looked further down first
    assert {a["dy"] for a in again} == {-1, 1} or len(again) == MAX_SCROLLS  # to the end, then back up
    assert not any(a["kind"] == "double_click" for a in res.executed)
