"""End to end, for real: scripted demos recorded by the recorder on private displays, a small
training run, then the agent on an unseen seed with a changed layout; a dry run that must send
nothing; an impossible task on which it must abstain without a wrong click; practice rollouts
that come back as labelled episodes. Slow-ish (about four minutes, most of it training): everything else in the
suite tests the parts, this tests that they fit."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.x11
pytest.importorskip("torch")

TASK = "signin"
DEMO_SEEDS = range(1000, 1008)  # disjoint from the evaluation seeds below


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from models.train import TrainConfig, train
    from sandbox.demos import record_demo

    root = tmp_path_factory.mktemp("e2e")
    for s in DEMO_SEEDS:
        r = record_demo(TASK, s, "none", root / "demos" / f"{TASK}-{s}", speed=4.0)
        assert r["outcome"] == "success", r
    train([str(root / "demos")], root / "bundle", TrainConfig(steps=300, seed=0))  # critic: 900 steps
    return root / "bundle"


def _deskact(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "agent", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_agent_does_the_task_on_an_unseen_seed_with_a_changed_layout(bundle, tmp_path, no_leaks):
    """Demonstrated on the default layout only; run on an unseen seed with rows reordered,
    labels moved to the other side of their fields and the window content moved."""
    out = tmp_path / "result.json"
    p = _deskact("run", bundle, "--sandbox", TASK, "--seed", 900001, "--perturb", "layout",
                 "--report", tmp_path / "report", "--json", out)
    result = json.loads(out.read_text())
    assert result["app_outcome"]["outcome"] == "success", p.stdout + p.stderr
    assert (tmp_path / "report" / "report.html").exists()
    assert "Traceback" not in p.stderr


def test_agent_does_the_task_on_an_unseen_seed(bundle, tmp_path, no_leaks):
    from agent.practice import Target, rollout

    r = rollout(str(bundle), Target(task=TASK, perturb="none"), seed=900002)
    assert r["outcome"] == "success", r


def test_impossible_task_abstains_without_a_wrong_action(bundle, tmp_path):
    """The key target (Sign in) is removed: the agent must stop and say so, not click Sign up."""
    from agent.practice import Target, rollout

    r = rollout(str(bundle), Target(task=TASK, perturb="missing"), seed=900002)
    assert r["status"] == "abstain", r
    assert not r["wrong_action"] and r["outcome"] != "success", r
    assert "abstained" in r["end"], r


def test_the_bundle_keeps_the_button_beside_the_demonstrated_sign_in(bundle):
    """Sign up beside Sign in, the same in every demo: with Sign in removed it is what a
    dismissal must not press (models.candidates.Decider.dismisses_a_step)."""
    meta = json.loads((bundle / "bundle.json").read_text())
    # Sign in is the fifth action (user field, type, tab, type)
    assert 4 in {m["phase"] for m in meta["sibling_labels"]}, meta["sibling_labels"]


def test_dry_run_sends_no_input(bundle, tmp_path, virtual_display):
    """The recorder listens on the task's display during the dry run: it must see no event at
    all, and the pointer must not move."""
    from recorder.capture import Recorder
    from sandbox.harness import TaskSession

    with TaskSession(TASK, seed=900003, perturb_spec="none") as s:
        env = s.env()
        before = subprocess.run(["xdotool", "getmouselocation"], env=env, capture_output=True, text=True).stdout
        rec = Recorder(tmp_path / "watch", display=s.display, hotkeys=False)
        rec.start()
        p = subprocess.run([sys.executable, "-m", "agent", "run", str(bundle), "--dry-run",
                            "--report", str(tmp_path / "dry")], env=env, capture_output=True, text=True, timeout=120)
        summary = rec.stop()
        after = subprocess.run(["xdotool", "getmouselocation"], env=env, capture_output=True, text=True).stdout
        assert p.returncode == 0, p.stdout + p.stderr
        assert summary["events"] - summary["events_by_kind"].get("mark", 0) == 0, summary
        assert before == after
        assert s.outcome() is None  # the app saw nothing happen
    html = (tmp_path / "dry" / "report.html").read_text()
    assert 'class="step"' in html and "dry run" in html


def test_practice_rollouts_are_labelled_episodes(bundle, tmp_path, no_leaks):
    from agent.practice import Target, practice
    from recorder.episode import Episode

    results = practice(str(bundle), Target(task=TASK, perturb="decoy"), episodes=2, out=tmp_path / "p",
                       seed=20000, parallel=2, explore=2.0)
    assert len(results) == 2
    for r in results:
        ep = Episode.load(r["episode"])
        assert ep.outcome == r["outcome"] in ("success", "failure")
        assert ep.actions, "the recorder saw the agent's actions"
        if r["wrong_action"]:
            assert isinstance(ep.meta.get("failed_at_action"), int)


def test_a_click_that_changed_nothing_is_not_chosen_again(bundle):
    """The runner tells the agent where a click of this run changed nothing at this point of the
    workflow; a chunk starting there scores 0, and the next best is taken."""
    import cv2

    from agent.decide import Agent
    from recorder.episode import Episode

    ep = Episode.load(bundle.parent / "demos" / f"{TASK}-{DEMO_SEEDS[0]}")
    frame = cv2.imread(str(ep.frame_path(min(ep.frames, key=ep.frames.get))))  # the first screen
    agent = Agent.load(bundle)
    first = agent.decide(frame, (0.5, 0.5), [])
    a = first.chosen[0]
    assert a["kind"] == "click", first.chosen  # signin starts by clicking the user name field
    again = agent.decide(frame, (0.5, 0.5), [], avoid=[(a["x"], a["y"])])
    for c in again.candidates:
        b = c["actions"][0]
        if b["kind"] == "click" and not b.get("dismiss") and abs(b["x"] - a["x"]) * 1280 < 6 \
                and abs(b["y"] - a["y"]) * 800 < 6:  # (a dismissal there is another matter: the dialog's count)
            assert c["score"] == 0.0 and c["source"].endswith(":did nothing"), c
    assert again.chosen is None or again.chosen[0] != a, again.chosen


def test_a_rechecked_done_is_the_whole_chunk_of_done(bundle):
    """In the middle of a chunk the runtime asks the critic about the rest; a rest of `done` is
    scored as the chunk of `done` the critic learned on final screens, not with the policy's
    next actions after it."""
    import cv2
    import numpy as np

    from agent.decide import Agent
    from models import codec
    from models.candidates import Candidate
    from recorder.episode import Episode

    ep = Episode.load(bundle.parent / "demos" / f"{TASK}-{DEMO_SEEDS[0]}")
    frame = cv2.imread(str(ep.frame_path(ep.meta["final_frame"])))
    agent = Agent.load(bundle)
    done = [agent.token_of(a) for a in ep.actions]
    rgb = codec.to_rgb(frame, "BGR")
    K = agent.bundle.chunk_size
    whole = Candidate(np.full((K,), codec.DONE, dtype=np.int64), np.zeros((K, 4), np.float32), "test")
    (c,) = agent.decider.score(codec.preprocess(rgb), codec.to_gray(rgb), agent.history(done), [whole], 1.0)
    assert agent.recheck(frame, [{"kind": "done"}], (0.5, 0.5), done) == pytest.approx(c.score, abs=1e-6)


def test_a_rest_that_ends_the_workflow_is_also_judged_ended(bundle):
    """Mid-chunk, a rest that ends the workflow where the demos did is judged completed with
    `done` as well as with the policy's next guesses, and the better of the two counts."""
    import cv2
    import numpy as np

    from agent.decide import Agent
    from models import codec
    from models.candidates import Candidate
    from recorder.episode import Episode, decision_frame

    ep = Episode.load(bundle.parent / "demos" / f"{TASK}-{DEMO_SEEDS[0]}")
    agent = Agent.load(bundle)
    steps = [a for a in ep.actions if agent.vocab.token(a) is not None]
    last = steps[-1]  # Sign in: the rest of a chunk whose earlier actions ran
    frame = cv2.imread(str(ep.frame_path(decision_frame(last))))
    done = [agent.token_of(a) for a in steps[:-1]]
    rgb = codec.to_rgb(frame, "BGR")
    image, gray, history = codec.preprocess(rgb), codec.to_gray(rgb), agent.history(done)
    K = agent.bundle.chunk_size
    kinds, pos = codec.encode_chunk([agent.token_of(last)], [codec.action_pos(last)], K)
    (greedy, *_), _ = agent.decider.propose(image, (0.5, 0.5), history)
    guessed = Candidate(kinds.copy(), pos.copy(), "test")
    guessed.kinds[1:], guessed.pos[1:] = greedy.kinds[1:], greedy.pos[1:]
    ended = Candidate(kinds, pos, "test")
    a, b = agent.decider.score(image, gray, history, [guessed, ended], 1.0)
    assert agent.recheck(frame, [last], (0.5, 0.5), done) == pytest.approx(max(a.score, b.score), abs=1e-5)


def test_diagnose_writes_a_report_per_run_on_diagnosis_seeds(bundle, tmp_path, no_leaks):
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "diagnose.py"
    p = subprocess.run([sys.executable, str(script), str(bundle), "--task", TASK, "--perturb", "none", "--runs", "2",
                        "--out", str(tmp_path / "d")], capture_output=True, text=True, timeout=180,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    results = json.loads((tmp_path / "d" / "results.json").read_text())
    assert [r["seed"] for r in results] == [700000, 700001]
    for r in results:
        html = (tmp_path / "d" / f"{TASK}-none-{r['seed']}" / "report.html").read_text()
        assert 'class="step"' in html and f"the app: {r['outcome']}" in html
    n = sum(r["outcome"] == "success" for r in results)
    assert f"{TASK} none: " in p.stdout and "(of 2)" in p.stdout and (n == 0 or f"success {n}" in p.stdout)
    assert "decisions before a click, on track: the right click among the candidates in " in p.stdout
    steps = json.loads((tmp_path / "d" / f"{TASK}-none-700000" / "report.json").read_text())["steps"]
    assert steps and all(set(s["sandbox"]) == {"targets", "size", "executed", "clicks"} for s in steps)
    p = subprocess.run([sys.executable, str(script), str(bundle), "--task", TASK, "--seed", "899999", "--runs", "2",
                        "--out", str(tmp_path / "e")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and p.stderr.startswith("Error: seeds 899999..900000 reach the evaluation seeds")
