"""Interruptions: synthetic dialogs for training, and the runtime's `dismiss` on a real popup."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import popup_seed
from models import codec, interruptions


def test_a_drawn_notice_has_one_button_inside_it_and_changes_nothing_outside():
    from models.dataset import Step

    rng = np.random.default_rng(0)
    gray = np.full((800, 1280), 40, np.uint8)
    small = np.full((codec.INPUT_H, codec.INPUT_W, 3), 40, np.uint8)
    kinds, pos = codec.encode_chunk([1, 9], [(0.3, 0.4, 0.3, 0.4), (0, 0, 0, 0)], 4)
    step = Step(episode=0, index=0, small=small, gray=gray, scale=1.0, screen=(1280, 800),
                cursor=np.zeros(2, np.float32), prev=np.zeros(3, np.int64), kinds=kinds, pos=pos)
    seen = set()
    for _ in range(20):
        s2, d = interruptions.interrupt(step, rng)
        seen.add(d.notice)
        x0, y0, x1, y1 = d.box
        assert len(d.buttons) == (1 if d.notice else 2)
        for bx, by in d.buttons + [d.text]:
            assert x0 < bx < x1 and y0 < by < y1
        changed = np.argwhere(s2.gray != 40)
        assert changed.size and changed[:, 1].min() >= round(x0 * 1280) and changed[:, 1].max() < round(x1 * 1280)
        assert changed[:, 0].min() >= round(y0 * 800) and changed[:, 0].max() < round(y1 * 800)
        assert (s2.small != 40).any() and (step.gray == 40).all()  # the step itself is untouched
        k, p = interruptions.dismissing(s2, d)
        assert k.tolist() == [codec.DISMISS, 1, 9, codec.DONE] and tuple(p[0, :2]) == pytest.approx(d.buttons[0])
        assert np.allclose(p[1], pos[0])
    assert seen == {True, False}  # notices and questions


def test_a_dismissal_is_a_click_that_the_vocabulary_knows_apart():
    v = codec.Vocab()
    a = v.action(codec.DISMISS, (0.5, 0.25, 0.5, 0.25))
    assert a == {"kind": "click", "x": 0.5, "y": 0.25, "dismiss": True}
    assert v.token(a) == codec.DISMISS and v.token({"kind": "click", "x": 0.5, "y": 0.25}) == codec.CLICK
    assert codec.DISMISS in codec.POINTER_TOKENS


def test_practice_leaves_the_agents_dismissals_out_of_training(tmp_path):
    from models import dataset
    from models.synthetic import make_episode

    ep = make_episode(tmp_path / "p", 3, size=(480, 300))
    meta = json.loads((ep / "meta.json").read_text())
    acts = [json.loads(line) for line in (ep / "actions.jsonl").read_text().splitlines()]
    clicks = [a["i"] for a in acts if a["kind"] == "click"]
    (demos_before, _, _) = dataset.scan([ep], [])
    meta["dismissed_actions"] = clicks[:1]
    (ep / "meta.json").write_text(json.dumps(meta))
    (demos_after, _, _) = dataset.scan([ep], [])
    assert [a["i"] for a in demos_after[0].steps] == [a["i"] for a in demos_before[0].steps if a["i"] != clicks[0]]
    # a dismissal that was the wrong action stays, as a dismissal
    meta.update(outcome="failure", failed_at_action=clicks[0])
    (ep / "meta.json").write_text(json.dumps(meta))
    (_, fails, _) = dataset.scan([], [ep])
    le = fails[0]
    vocab = dataset.build_vocab(fails)
    dataset.build(le, 0, vocab, 4)
    (step,) = le.steps
    assert step.kinds[0] == codec.DISMISS


def test_practice_dismissals_teach_the_critic_on_the_real_dialog(tmp_path):
    # the screen practice closed a dialog on: dismissing is right there, the chunk behind it wrong
    import torch

    from models import dataset
    from models.synthetic import make_episode
    from models.train import TrainConfig, critic_batch

    ep = make_episode(tmp_path / "p", 3, size=(480, 300))
    meta = json.loads((ep / "meta.json").read_text())
    acts = [json.loads(line) for line in (ep / "actions.jsonl").read_text().splitlines()]
    clicks = [a for a in acts if a["kind"] == "click"]
    meta["dismissed_actions"] = [clicks[1]["i"]]
    (ep / "meta.json").write_text(json.dumps(meta))
    (demos, _, _) = dataset.scan([ep], [])
    le = demos[0]
    vocab = dataset.build_vocab(demos)
    dataset.build(le, 0, vocab, 4)
    (d,) = le.dialogs
    after = next(s for s in le.steps if s.index == d.index)  # the workflow step the dialog stood in front of
    assert d.kinds[0] == codec.DISMISS and np.allclose(d.pos[0, :2], codec.action_pos(clicks[1])[:2])
    assert np.array_equal(d.behind[0], after.kinds) and np.array_equal(d.kinds[1:], after.kinds[:-1])
    assert np.array_equal(d.prev, after.prev)  # the dismissal is no step of the workflow
    assert d.frame_path.name == clicks[1]["frame"]

    cfg = TrainConfig(interruptions=1.0, removals=0.0, critic_groups=4)
    neg = dataset.NegativeMaker({0: le.steps}, vocab)
    t, groups = critic_batch(le.steps, [], neg, np.random.default_rng(0), cfg, 4, le.dialogs)
    kinds, labels = t[3], t[7]
    real = [(i, n) for i, n in groups if int(kinds[i, 0]) == codec.DISMISS and
            any(torch.equal(kinds[j], torch.as_tensor(d.behind[0])) for j in n)]
    assert real, "no group from the real dialog in a batch of interruptions"
    for i, n in real:
        assert float(labels[i]) == 1.0 and all(float(labels[j]) == 0.0 for j in n)

    # a failed rollout: a dismissal before its wrong action was right, one after it is not used
    meta.update(outcome="failure", failed_at_action=clicks[0]["i"])
    (ep / "meta.json").write_text(json.dumps(meta))
    (_, fails, _) = dataset.scan([], [ep])
    dataset.build(fails[0], 0, vocab, 4)
    assert fails[0].dialogs == []
    meta.update(failed_at_action=clicks[-1]["i"])
    (ep / "meta.json").write_text(json.dumps(meta))
    (_, fails, _) = dataset.scan([], [ep])
    dataset.build(fails[0], 0, vocab, 4)
    assert len(fails[0].dialogs) == 1


def test_a_click_behind_a_dialog_is_paired_with_closing_it_first(tmp_path):
    # practice marks right_dismiss when the wrong action was the workflow's next click made
    # behind the modal popup: on that screen, dismissing at Close and then the chunk is right
    import torch

    from models import dataset
    from models.synthetic import make_episode
    from models.train import TrainConfig, critic_batch

    ep = make_episode(tmp_path / "p", 3, size=(480, 300))
    meta = json.loads((ep / "meta.json").read_text())
    acts = [json.loads(line) for line in (ep / "actions.jsonl").read_text().splitlines()]
    first = next(a for a in acts if a["kind"] == "click")
    meta.update(outcome="failure", failed_at_action=first["i"], right_dismiss=[240, 150, 48, 20])
    (ep / "meta.json").write_text(json.dumps(meta))
    (_, fails, _) = dataset.scan([], [ep])
    vocab = dataset.build_vocab(fails)
    dataset.build(fails[0], 0, vocab, 4)
    (f,) = fails[0].steps
    assert np.allclose(f.dismiss_at, [0.5, 0.5, 0.6, 150 / 300 + 20 / 300])

    cfg = TrainConfig(interruptions=0.0, removals=0.0, critic_groups=1, critic_failures=3, augment=0.0)
    (demos, _, _) = dataset.scan([make_episode(tmp_path / "d", 4, size=(480, 300))], [])
    dataset.build(demos[0], 0, vocab, 4)
    neg = dataset.NegativeMaker({0: demos[0].steps}, vocab)
    t, groups = critic_batch(demos[0].steps, [f], neg, np.random.default_rng(0), cfg, 4)
    kinds, pos, labels = t[3], t[4], t[7]
    paired = [(i, n) for i, n in groups if int(kinds[i, 0]) == codec.DISMISS]
    assert len(paired) == 3  # every failure group drawn is this one
    for i, n in paired:
        x, y = float(pos[i, 0, 0]), float(pos[i, 0, 1])
        assert float(labels[i]) == 1.0 and torch.equal(kinds[i, 1:], torch.as_tensor(f.kinds[:-1]))
        assert 0.5 <= x <= 0.6 and 0.5 <= y <= 0.5667  # on Close
        behind = [j for j in n if torch.equal(kinds[j], torch.as_tensor(f.kinds))]
        assert behind and all(float(labels[j]) == 0.0 for j in n)


class _Scripted:
    """An agent that proposes what the test says (the runner is under test, not the models)."""

    threshold = 0.5
    min_actions = 0

    def __init__(self, plan, recheck=lambda rest: 1.0):
        self.plan, self.seen, self.rechecked, self._recheck = plan, [], [], recheck
        self.avoided = []

    def decide(self, frame, cursor, done, skip=0, avoid=()):
        from agent.decide import Decision

        self.seen.append(list(done))
        self.avoided.append(list(avoid))
        chunk = self.plan(len(self.seen))
        if chunk is None:
            return Decision(None, 0.0, [], note="abstained: nothing scores over the threshold")
        return Decision(chunk, 1.0, [{"actions": chunk, "score": 1.0, "source": "test"}])

    def recheck(self, frame, rest, cursor, done):
        self.rechecked.append([a["kind"] for a in rest])
        return self._recheck(rest)

    def token_of(self, action):
        return codec.Vocab().token(action)


@pytest.mark.x11
def test_the_runner_dismisses_a_real_popup_without_counting_it_as_a_step(no_leaks):
    from agent.executor import LiveExecutor
    from agent.runner import run_loop
    from agent.safety import Limits
    from agent.screen import Screen
    from recorder.platform.x11 import Injector, driving
    from sandbox.harness import TaskSession

    with TaskSession("signin", seed=popup_seed(), perturb_spec="popup") as s, driving(s.display):
        x, y, w, h = s.wait_target("popup_close")
        W, H = s.screen
        close = {"kind": "click", "x": (x + w / 2) / W, "y": (y + h / 2) / H, "dismiss": True}
        agent = _Scripted(lambda n: [close, {"kind": "type", "text": "never typed"}] if n == 1 else [{"kind": "done"}])
        screen = Screen(display=s.display)
        res = run_loop(agent, screen, LiveExecutor(screen.logical_size, Injector(display=s.display)),
                       Limits(10, 30), notify=lambda m: None)
        shown = s.targets()
        snap = s.snapshot()
    assert "popup_close" not in shown and not snap.get("popup")  # the dialog is gone
    assert res.status == "done" and sum(bool(a.get("dismiss")) for a in res.executed) == 1 and res.executed[0].get("dismiss")
    assert agent.seen == [[], []]  # the history the models see is as if no dialog had been there
    assert len(res.executed) == 1  # after a dismissal the agent looks again: the rest was not typed


def _run_scripted(make_agent, out_dir, seed=3, steps=20):
    """Run the runner with make_agent(session) on a real signin app; -> (agent, result, outcome)."""
    from agent.executor import LiveExecutor
    from agent.runner import run_loop
    from agent.safety import Limits
    from agent.screen import Screen
    from recorder.platform.x11 import Injector, driving
    from sandbox.harness import TaskSession

    with TaskSession("signin", seed=seed) as s, driving(s.display):
        s.wait_target("sign_in")
        agent = make_agent(s)
        screen = Screen(display=s.display)
        res = run_loop(agent, screen, LiveExecutor(screen.logical_size, Injector(display=s.display)),
                       Limits(steps, 30), notify=lambda m: None, out_dir=out_dir)
        return agent, res, s.outcome()


BLANK = {"kind": "click", "x": 0.97, "y": 0.6}  # nothing there


@pytest.mark.x11
def test_done_right_after_a_click_that_changed_nothing_is_not_believed(no_leaks, tmp_path):
    # the impossible task: a click where the target was hits nothing; `done` after it would
    # claim a workflow that did not happen
    _, res, outcome = _run_scripted(lambda s: _Scripted(lambda n: [BLANK] if n == 1 else [{"kind": "done"}]), tmp_path)
    assert outcome is None and res.executed == [BLANK]
    assert res.status == "abstain" and "changed nothing" in res.reason and res.abstain_image, res


@pytest.mark.x11
def test_a_click_that_changed_nothing_is_no_step_and_is_not_made_again(no_leaks, tmp_path):
    # export_menu re-clicked its open Export cascade (nothing changed), counted it as a step and
    # then held the workflow done: the click is left out of the history, the rest of its chunk
    # is dropped, and the next decision is told where it was so as not to make it again
    typed = {"kind": "type", "text": "never typed"}
    agent, res, outcome = _run_scripted(lambda s: _Scripted(lambda n: [BLANK, typed] if n == 1 else None), tmp_path)
    assert res.executed == [BLANK] and res.replans == 1 and res.status == "abstain", res
    assert agent.seen == [[], []] and agent.avoided == [[], [(BLANK["x"], BLANK["y"])]]


@pytest.mark.x11
def test_a_dismissal_that_changed_nothing_is_not_made_again(no_leaks, tmp_path):
    # export_menu dismissed on the window's bare corner three times (the screen unchanged) and
    # gave up; the next decision is told where, so that another place is tried
    dismiss = dict(BLANK, dismiss=True)
    agent, res, outcome = _run_scripted(lambda s: _Scripted(lambda n: [dismiss] if n == 1 else None), tmp_path)
    assert res.executed == [dismiss] and res.status == "abstain" and outcome is None, res
    assert agent.seen == [[], []] and agent.avoided == [[], [(BLANK["x"], BLANK["y"])]]


@pytest.mark.x11
def test_done_after_fewer_actions_than_any_demonstration_is_not_believed(no_leaks, tmp_path):
    # the impossible task again, but the click changed the screen (focus moved into a field):
    # the demos all took more actions, so the workflow cannot be over
    def make(s):
        x, y, w, h = s.wait_target("username")
        field = {"kind": "click", "x": (x + w / 2) / s.screen[0], "y": (y + h / 2) / s.screen[1]}
        agent = _Scripted(lambda n: [field, {"kind": "type", "text": "alice"}, {"kind": "done"}])
        agent.min_actions = 3
        return agent

    _, res, outcome = _run_scripted(make, tmp_path)
    assert outcome is None and [a["kind"] for a in res.executed] == ["click", "type"]
    assert res.status == "abstain" and "at least 3" in res.reason and res.abstain_image, res


@pytest.mark.x11
def test_done_in_the_middle_of_a_chunk_is_rechecked_on_the_new_screen(no_leaks, tmp_path):
    def make(s):
        x, y, w, h = s.wait_target("username")
        field = {"kind": "click", "x": (x + w / 2) / s.screen[0], "y": (y + h / 2) / s.screen[1]}
        return _Scripted(lambda n: [field, {"kind": "type", "text": "alice"}, {"kind": "done"}] if n == 1 else None,
                         recheck=lambda rest: 0.1 if rest[0]["kind"] == "done" else 1.0)

    agent, res, _ = _run_scripted(make, tmp_path)
    assert agent.rechecked == [["type", "done"], ["done"]]
    assert res.status == "abstain" and res.replans == 1 and len(res.executed) == 2, res


@pytest.mark.x11
def test_the_agent_stops_repeating_a_chunk_that_keeps_being_cut_short(no_leaks, tmp_path):
    from agent.runner import MAX_REPEATS

    tab = {"kind": "key", "combo": "tab"}
    _, res, outcome = _run_scripted(lambda s: _Scripted(lambda n: [BLANK, tab], recheck=lambda rest: 0.1), tmp_path)
    assert outcome is None and res.executed == [BLANK] * MAX_REPEATS and res.replans == MAX_REPEATS
    assert res.status == "abstain" and "cut short" in res.reason, res


@pytest.mark.x11
def test_the_runner_gives_up_when_a_dialog_will_not_go_away(no_leaks, tmp_path):
    from agent.executor import LiveExecutor
    from agent.runner import MAX_DISMISSALS, run_loop
    from agent.safety import Limits
    from agent.screen import Screen
    from recorder.platform.x11 import Injector, driving
    from sandbox.harness import TaskSession

    with TaskSession("signin", seed=popup_seed(), perturb_spec="popup") as s, driving(s.display):
        s.wait_target("popup_close")
        miss = {"kind": "click", "x": 0.95, "y": 0.95, "dismiss": True}  # off the dialog: it stays
        agent = _Scripted(lambda n: [miss])
        screen = Screen(display=s.display)
        res = run_loop(agent, screen, LiveExecutor(screen.logical_size, Injector(display=s.display)),
                       Limits(20, 30), notify=lambda m: None, out_dir=tmp_path)
    assert res.status == "abstain" and "dismissals" in res.reason and res.abstain_image
    assert sum(bool(a.get("dismiss")) for a in res.executed) == MAX_DISMISSALS


@pytest.mark.x11
def test_practice_marks_only_the_dismissals_that_closed_the_popup(no_leaks):
    # an exploring agent also "dismisses" workflow widgets: those stay steps of the workflow
    from agent.executor import LiveExecutor
    from agent.practice import _TargetWitness
    from recorder.platform.x11 import Injector, driving
    from sandbox.harness import TaskSession

    with TaskSession("signin", seed=popup_seed(), perturb_spec="popup") as s, driving(s.display):
        W, H = s.screen
        ex = _TargetWitness(LiveExecutor(s.screen, Injector(display=s.display)), s)

        def centre(name):
            x, y, w, h = s.wait_target(name)
            return (x + w / 2) / W, (y + h / 2) / H

        x, y = centre("popup_close")
        ex.execute({"kind": "click", "x": x, "y": y, "dismiss": True})
        x, y = centre("username")
        ex.execute({"kind": "click", "x": x, "y": y, "dismiss": True})
    assert [name for _, name, _ in ex.landed] == ["popup_close", "username"]
    assert len(ex.closed_popup) == 1 and ex.closed_popup[0] < ex.landed[0][0]
