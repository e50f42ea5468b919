"""Training end to end on tiny runs: a valid bundle from demos made in the test, determinism,
held-out evaluation, and one clear line for each kind of bad input."""
from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")

from agent.cli import main  # noqa: E402
from models import bundle as bundle_mod  # noqa: E402
from models.synthetic import make_episode, make_episodes  # noqa: E402
from models.train import TrainConfig, calibrate_threshold, train  # noqa: E402

SMALL = dict(steps=3, batch_size=4, critic_groups=2, critic_negatives=2, critic_failures=2, val_every=2, threads=1,
             policy={"d_model": 32, "n_heads": 2, "enc_layers": 1, "dec_layers": 1, "channels": (8, 16, 16, 32)},
             critic={"d_model": 32, "n_heads": 2, "layers": 1, "channels": (8, 16, 16, 16), "crop_channels": (8, 8, 16, 16)})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("episodes")
    make_episodes(root / "demos", range(5), size=(480, 300))
    make_episode(root / "demos" / "other-size", 7, size=(640, 400))  # mixed screen sizes: normalised
    make_episodes(root / "fails", range(100, 102), size=(480, 300), fumble=True)
    return root


@pytest.fixture(scope="module")
def bundle(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "bundle"
    meta = train([data / "demos"], out, TrainConfig(**SMALL), failures=[data / "fails"])
    return out, meta


def test_tiny_run_gives_valid_bundle(bundle, data):
    from recorder.episode import Episode

    out, meta = bundle
    b = bundle_mod.load(out)  # format version and sha256 of each model file checked
    assert sorted(p.name for p in out.iterdir()) == ["bundle.json", "critic.onnx", "critic.pt", "exemplars", "labels", "look",
                                                 "policy.onnx", "policy.pt"]
    assert meta["look"] and all(b.image(w["file"]).shape[0] >= 7 for w in meta["look"])  # the demos' words
    assert b.chunk_size == 4 and "alice" in b.vocab.texts and b.vocab.keys == ["enter"]
    assert 0.0 < b.abstain_threshold < 1.0
    assert meta["input"]["width"] == 256 and meta["crop"]["slots"] == 4  # every slot of the chunk
    assert all(v <= 1e-4 for v in meta["onnx_parity_max_abs_diff"].values())
    ev = meta["evaluation"]
    for k in ("click_accuracy", "decision_click_accuracy", "kind_accuracy", "critic_auc"):
        assert ev[k] is None or 0.0 <= ev[k] <= 1.0, k
    assert ev["critic_auc"] is not None and ev["failure_chunks"] >= 1
    # `done` judged on every held-out screen: right on final ones, wrong where work is left
    assert len(ev["done_final_scores"]) + len(ev["done_unchanged_scores"]) == ev["steps"]
    assert ev["done_unchanged_accepted"] is not None
    assert b.exemplars and all((out / e["file"]).exists() for e in b.exemplars)
    assert len(meta["training"]["policy_loss"]) == 3 and len(meta["training"]["critic_loss"]) == 9  # 3 x steps
    assert json.loads((out / "bundle.json").read_text())["evaluation"] == ev
    n = [len(Episode.load(p).actions) for p in (data / "demos").iterdir()]  # the runtime's `done` rule
    assert meta["workflow_actions"] == [min(n), max(n)] and b.min_actions == min(n)


def test_evaluation_is_on_held_out_episodes(bundle):
    out, meta = bundle
    tr = meta["training"]
    held, used = set(tr["held_out"]), set(tr["episodes"])
    assert held and used and not held & used
    assert set(meta["evaluation"]["held_out_episodes"]) == held
    assert all(e["episode"] not in {p.rsplit("/", 1)[-1] for p in held} for e in meta["exemplars"])
    n_steps = sum(len([1 for _ in open(f"{p}/actions.jsonl")]) for p in held)  # one step per action
    assert meta["evaluation"]["steps"] == n_steps == tr["val_steps"]
    assert not set(tr["failures"]) & set(tr["held_out_failures"])


def test_same_seed_same_results(bundle, data, tmp_path):
    _, meta = bundle
    again = train([data / "demos"], tmp_path / "again", TrainConfig(**SMALL), failures=[data / "fails"])
    assert again["training"]["policy_loss"] == meta["training"]["policy_loss"]
    assert again["training"]["weights_sha256"] == meta["training"]["weights_sha256"]
    assert again["models"]["policy"]["sha256"] == meta["models"]["policy"]["sha256"]
    assert again["evaluation"] == meta["evaluation"]
    other = train([data / "demos"], tmp_path / "other", TrainConfig(**{**SMALL, "seed": 1}), failures=[data / "fails"])
    assert other["training"]["weights_sha256"] != meta["training"]["weights_sha256"]


def test_failures_never_train_the_policy(bundle):
    _, meta = bundle
    tr = meta["training"]
    assert not any("fails" in p for p in tr["episodes"] + tr["held_out"])
    assert all("fails" in p for p in tr["failures"] + tr["held_out_failures"])


def test_policy_from_keeps_the_policy_and_fine_tunes_the_critic(bundle, data, tmp_path):
    import torch

    src, meta = bundle
    # at a vanishing learning rate the fine-tuned critic must still be the source's
    again = train([data / "demos"], tmp_path / "ft", TrainConfig(**{**SMALL, "lr": 1e-12}), failures=[data / "fails"],
                  policy_from=src)
    tr = again["training"]
    assert tr["critic_from"] == str(src) and len(tr["critic_loss"]) == SMALL["steps"]  # not 3 x steps
    assert tr["weights_sha256"]["policy"] == meta["training"]["weights_sha256"]["policy"]
    a, b = torch.load(src / "critic.pt"), torch.load(tmp_path / "ft" / "critic.pt")
    learned = [k for k in a if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert learned and all(torch.allclose(a[k], b[k], atol=1e-6) for k in learned)
    # a source without critic.pt (an older bundle): the critic is trained anew, 3 x steps
    old = tmp_path / "old"
    shutil.copytree(src, old)
    (old / "critic.pt").unlink()
    anew = train([data / "demos"], tmp_path / "anew", TrainConfig(**SMALL), policy_from=old)
    assert anew["training"]["critic_from"] is None and len(anew["training"]["critic_loss"]) == 3 * SMALL["steps"]


def _with_threshold(src, dst, threshold):
    shutil.copytree(src, dst)
    meta = json.loads((dst / "bundle.json").read_text())
    meta["abstain_threshold"] = threshold
    (dst / "bundle.json").write_text(json.dumps(meta))
    return dst


def test_runtime_choices_count_what_the_runtime_would_do(bundle, data, tmp_path):
    from models import dataset
    from models.train import CHECK_SCREENS, runtime_choices

    src, _ = bundle
    demos, fails, _ = dataset.scan([data / "demos"], [data / "fails"])
    b = bundle_mod.load(src)
    for i, le in enumerate(demos + fails):
        dataset.build(le, i, b.vocab, b.chunk_size, dataset.consensus_tokens(demos) if le.role == "failure" else None)
    fail_steps = [s for le in fails for s in le.steps]
    cfg = TrainConfig(**SMALL)
    stops = runtime_choices(_with_threshold(src, tmp_path / "stops", 1.01), demos, fail_steps, cfg)
    acts = runtime_choices(_with_threshold(src, tmp_path / "acts", -1.0), demos, fail_steps, cfg)
    n = min(CHECK_SCREENS[0], sum(len(le.steps) for le in demos))
    assert stops["screens"] == acts["screens"] == n and stops["failure_screens"] == len(fail_steps) >= 1
    assert stops["abstain"] == n and stops["right"] == stops["wrong"] == stops["repeats"] == 0
    assert acts["abstain"] == 0 and acts["right"] + acts["wrong"] == n


def test_a_fine_tuned_critic_that_decides_worse_is_not_kept(bundle, data, tmp_path, monkeypatch):
    from models import train as train_mod

    src, meta = bundle
    judged = []

    def choices(folder, eps, fail_steps, cfg, progress=None, label="check"):
        judged.append(label)  # the start bundle gets every demonstrated screen right, the new one none
        right = 5 if label == "check start critic" else 0
        return {"screens": 5, "right": right, "abstain": 5 - right, "wrong": 0, "failure_screens": 1, "repeats": 0}

    monkeypatch.setattr(train_mod, "runtime_choices", choices)
    again = train([data / "demos"], tmp_path / "ft", TrainConfig(**{**SMALL, "lr": 0.5}), failures=[data / "fails"],
                  policy_from=src)
    assert judged == ["check fine-tuned critic", "check start critic"] and again["critic_check"]["kept"] == "start"
    b = bundle_mod.load(tmp_path / "ft")  # sha256 of the critic copied in checked
    assert (tmp_path / "ft" / "critic.onnx").read_bytes() == (src / "critic.onnx").read_bytes()
    assert b.abstain_threshold == meta["abstain_threshold"]
    assert again["training"]["weights_sha256"]["critic"] == meta["training"]["weights_sha256"]["critic"]
    assert any("the critic it started from is kept" in line for line in train_mod.summary_lines(again))


def test_failure_knows_where_the_click_should_have_gone(tmp_path):
    from models import codec, dataset

    for seed in range(20):  # a fumble of a click (not of a text), marked as practice marks it
        ep = make_episode(tmp_path / f"f{seed}", 200 + seed, size=(480, 300), fumble=True)
        meta = json.loads((ep / "meta.json").read_text())
        if "right_target" in meta:
            break
    demos, fails, _ = dataset.scan([], [ep])
    le = fails[0]
    dataset.build(le, 0, dataset.build_vocab(fails), 4, consensus=None)
    (step,) = le.steps
    x, y, w, h = meta["right_target"]
    assert step.kinds[0] in codec.POINTER_TOKENS and step.index == meta["failed_at_action"]
    assert np.allclose(step.right, [x / 480, y / 300, (x + w) / 480, (y + h) / 300])
    assert not step.hit((step.right[:2] + step.right[2:]) / 2, 1.0)  # the right spot is not where it clicked


def test_done_is_a_negative_on_every_screen_but_the_last(data):
    # the impossible task: a click that hit nothing leaves a screen where the workflow is not
    # over; `done` there must score low, so the agent abstains instead of claiming success
    from models import codec, dataset

    demos, _, _ = dataset.scan([data / "demos"], [])
    le, vocab = demos[0], dataset.build_vocab(demos)
    dataset.build(le, 0, vocab, 4, consensus=None)
    maker = dataset.NegativeMaker({0: le.steps}, vocab)
    rng = np.random.default_rng(0)
    for step in le.steps:  # synthetic demos have no final screen: every step has work left
        kinds, pos = maker.make(step, rng, "done")
        assert (kinds == codec.DONE).all() and not pos.any()
    final = dataclasses.replace(le.steps[-1], kinds=np.full_like(le.steps[-1].kinds, codec.DONE))
    assert maker.make(final, rng, "done") is None  # on the final screen `done` is right
    # the same screen as if its chunk had run and changed nothing: the history says it ran
    step = le.steps[1]
    ran = [int(t) for t in step.kinds if t != codec.DONE][::-1]
    after = step.as_if_done().prev
    assert after.tolist() == (ran + step.prev.tolist())[:len(step.prev)] and after.tolist() != step.prev.tolist()


def test_threshold_calibration():
    assert calibrate_threshold([0.9, 0.8, 0.7], [0.1, 0.2, 0.3]) == pytest.approx(0.5)
    assert calibrate_threshold([], [0.1]) == 0.5


def test_held_out_doubts_name_a_critic_that_acts_where_it_should_not():
    from models.train import critic_doubts

    good = {"candidate_recall": 1.0, "decision_click_accuracy": 1.0, "removed_target_best_scores": [0.1, 0.2]}
    assert critic_doubts(good, 0.5) == []
    wrong_pick = {**good, "decision_click_accuracy": 0.5}
    assert ["ranks a wrong click first" in d for d in critic_doubts(wrong_pick, 0.5)] == [True]
    acts_erased = {**good, "removed_target_best_scores": [0.1, 0.9]}
    assert ["50% of the held-out screens with the target erased" in d for d in critic_doubts(acts_erased, 0.5)] == [True]
    # a wrong click the policy never offered the critic is not the critic's fault
    assert critic_doubts({**good, "candidate_recall": 0.5, "decision_click_accuracy": 0.5}, 0.5) == []


def test_the_trainer_stores_and_prints_its_doubts(bundle):
    from models.train import critic_doubts, evaluate_bundle, summary_lines

    out, meta = bundle
    ev, threshold = meta["evaluation"], meta["abstain_threshold"]
    assert ev["doubts"] == critic_doubts(ev, threshold)
    assert evaluate_bundle(out, meta["training"]["held_out"])["doubts"] == ev["doubts"]
    bad = {**ev, "decision_click_accuracy": 0.0, "candidate_recall": 1.0}
    doubted = {**meta, "evaluation": {**bad, "doubts": critic_doubts(bad, threshold)}}
    assert any(l.startswith("Warning: it ranks a wrong click first") for l in summary_lines(doubted))


# ----- bad input: one line, exit 1, nothing written -----------------------------------------------
def _cli(capsys, *args):
    code = main(["train", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _copy(data, tmp_path, n=3):
    root = tmp_path / "eps"
    for i, p in enumerate(sorted((data / "demos").iterdir())[:n]):
        shutil.copytree(p, root / p.name)
    return root


def _one_error_line(err):
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


def test_no_episodes_found(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = _cli(capsys, tmp_path / "empty", "--out", tmp_path / "b")
    assert code == 1 and "no episodes found in" in _one_error_line(err)
    code, _, err = _cli(capsys, tmp_path / "nope", "--out", tmp_path / "b")
    assert code == 1 and "no such folder" in _one_error_line(err)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("damage, message", [
    ("empty", "empty episode"),
    ("corrupt_frame", "is corrupt"),
    ("version", "episode format version 99 is not supported"),
    ("cut_off", None),  # a cut-off episode still loads up to its last flushed action
])
def test_bad_episode_one_line(data, tmp_path, capsys, damage, message):
    root = _copy(data, tmp_path)
    victim = sorted(root.iterdir())[0]
    meta = json.loads((victim / "meta.json").read_text())
    if damage == "empty":
        (victim / "actions.jsonl").write_text("")
        (victim / "events.jsonl").write_text("")
    elif damage == "corrupt_frame":
        (victim / "frames" / "000000.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    elif damage == "version":
        meta["format_version"] = 99
    elif damage == "cut_off":
        meta["ended_at"] = None
        text = (victim / "actions.jsonl").read_text()
        (victim / "actions.jsonl").write_text(text[: len(text) - 25])  # torn last line
        (victim / "events.jsonl").write_text("")  # keep the flushed actions as they are
    (victim / "meta.json").write_text(json.dumps(meta))
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    if message is None:
        from models.dataset import scan

        demos, _, skipped = scan([root])
        assert not skipped and len(demos) == 3
        cut = [d for d in demos if d.path == victim][0]
        assert cut.episode.truncated and 1 <= len(cut.steps) < 5
        return
    code, _, err = _cli(capsys, root, "--out", tmp_path / "b", "--steps", "1")
    line = _one_error_line(err)
    assert code == 1 and message in line and str(victim) in line and "--skip-bad" in line
    assert not (tmp_path / "b").exists()
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # input untouched


def test_skip_bad_trains_on_the_good_ones(data, tmp_path, capsys):
    root = _copy(data, tmp_path, n=4)
    shutil.copytree(data / "demos" / "other-size", root / "other-size")
    bad = sorted(root.iterdir())[0]
    (bad / "frames" / "000002.png").write_bytes(b"garbage")
    code, out, err = _cli(capsys, root, "--out", tmp_path / "b", "--steps", "2", "--skip-bad", "--threads", "1")
    assert code == 0, err
    assert f"Skipped {bad}: {bad}: frame 000002.png is corrupt" in out
    meta = json.loads((tmp_path / "b" / "bundle.json").read_text())
    assert [s["path"] for s in meta["training"]["skipped"]] == [str(bad)]
    used = meta["training"]["episodes"] + meta["training"]["held_out"]
    assert str(bad) not in used and str(root / "other-size") in used and len(used) == 4
    assert "click accuracy" in out and "Bundle written to" in out
    bundle_mod.load(tmp_path / "b")


@pytest.mark.x11
@pytest.mark.slow
def test_tiny_run_on_demos_recorded_by_the_real_recorder(tmp_path, no_leaks):
    """Real over fake: the scripted demonstrator drives a built-in task on a private Xvfb while
    the real recorder records; the trainer reads those episodes."""
    from sandbox.demos import record_demo

    for seed in range(3):
        res = record_demo("signin", seed, "layout", tmp_path / "demos" / f"s{seed}", speed=4.0)
        assert res["outcome"] == "success", res
    meta = train([tmp_path / "demos"], tmp_path / "bundle", TrainConfig(**SMALL))
    b = bundle_mod.load(tmp_path / "bundle")
    assert "type:alice" in b.vocab.tokens and "key:tab" in b.vocab.tokens
    assert meta["training"]["train_steps"] >= 8 and meta["evaluation"]["steps"] >= 4
    assert len(meta["training"]["held_out"]) == 1



def test_exemplars_keep_the_line_clicked_and_whether_the_demos_agree(bundle):
    out, meta = bundle
    b = bundle_mod.load(out)
    for e in meta["exemplars"]:
        lab = b.image(e["label"])
        if e["row"]:  # a list row: the row's whole text
            assert lab.shape == (20, 320)
        else:  # one line of the exemplar, as wide
            assert lab.shape[1] == e["size"][0] and lab.shape[0] <= min(24, e["size"][1])
        assert e["label_stable"] in (True, False, None)
        if e.get("line_label"):  # a row the demos agree on, and its line around the click too
            assert e["row"] and e["label_stable"] and b.image(e["line_label"]).shape == (24, 128)


def _drawn_step(episode, text, x, y, phase=2, others=(), font=0, size=1.0):
    """A screen with a button `text` at (x, y) clicked at `phase`, and buttons `others` [(text, x, y)];
    font and size: another theme's (buttons grow with their text)."""
    import cv2
    from types import SimpleNamespace

    from models import codec

    g = np.full((800, 1280), 236, np.uint8)
    for t, bx, by in [(text, x, y), *others]:
        w, h = round(44 * size), round(15 * size)
        cv2.rectangle(g, (bx - w, by - h), (bx + w, by + h), 40, 2)
        cv2.putText(g, t, (bx - w + 10, by + round(6 * size)), font, 0.55 * size, 20, 1, cv2.LINE_AA)
    pos = np.zeros((4, 4), np.float32)
    pos[0] = (x / 1280, y / 800, x / 1280, y / 800)
    return SimpleNamespace(gray=g, scale=1.0, screen=(1280, 800), pos=pos, episode=episode, index=phase,
                           kinds=np.array([codec.CLICK, 0, 0, 0]))


def test_exemplars_come_from_the_persons_demonstrations(data, tmp_path):
    """Practice successes ran under UI changes (a decoy beside the target): they train the critic
    but give no exemplar while a person's demonstration is there to give one."""
    root = _copy(data, tmp_path, n=5)
    practised = sorted(p.name for p in root.iterdir())[:3]
    for name in practised:
        meta = json.loads((root / name / "meta.json").read_text())
        (root / name / "meta.json").write_text(json.dumps({**meta, "source": "practice"}))
    meta = train([root], tmp_path / "b", TrainConfig(**{**SMALL, "holdout": 0.0}))
    assert meta["exemplars"] and {e["episode"] for e in meta["exemplars"]}.isdisjoint(practised)


def test_a_phase_is_label_stable_only_when_the_demos_click_the_same_label():
    from models.candidates import label_strip
    from models.dataset import exemplar_crop
    from models.train import label_stability

    def chosen(steps):
        out = []
        for s in steps:
            crop, at, _ = exemplar_crop(s.gray, float(s.pos[0, 0]), float(s.pos[0, 1]), 1.0, with_at=True)
            out.append((label_strip(crop, at), False, False, s))
        return out

    same = [_drawn_step(0, "Move", 300, 200), _drawn_step(1, "Move", 640, 420), _drawn_step(2, "Move", 500, 300)]
    assert label_stability(same, chosen(same)) == {(1, 2): True}
    differ = [_drawn_step(0, "Move", 300, 200), _drawn_step(1, "Cancel", 640, 420)]
    assert label_stability(differ, chosen(differ)) == {(1, 2): False}
    alone = [_drawn_step(0, "Move", 300, 200)]
    assert label_stability(alone, chosen(alone)) == {(1, 2): False}  # one episode cannot tell


def test_the_runtime_refuses_a_click_unlike_every_demonstrated_label(bundle):
    import cv2

    from models.candidates import Candidate, Decider, label_strip
    from models.dataset import exemplar_crop

    out, _ = bundle
    d = Decider(bundle_mod.load(out))

    def strip(step):
        x, y = step.pos[0, :2]
        crop, at, _ = exemplar_crop(step.gray, float(x), float(y), 1.0, with_at=True)
        return label_strip(crop, at)

    move = _drawn_step(0, "Move", 300, 200, others=[("Downloads", 800, 600)])
    earlier = _drawn_step(0, "Downloads", 800, 600)  # phase 0's target, still on the screen
    click = Candidate(move.kinds.copy(), move.pos.copy(), "policy")
    stable = [(strip(move), {"token": 1, "phase": 2, "label_stable": True}),
              (strip(earlier), {"token": 1, "phase": 0, "label_stable": True})]
    cancel = _drawn_step(0, "Cancel", 300, 200, others=[("Downloads", 800, 600)])  # Move removed
    themed = _drawn_step(0, "Move", 300, 200, others=[("Downloads", 800, 600)],
                         font=cv2.FONT_HERSHEY_TRIPLEX, size=1.3)
    d.labels, d.look = stable, []  # a bundle from before look words: familiar asks the labels
    assert not d.unlike(move.gray, click, phase=2)
    assert d.unlike(cancel.gray, click, phase=2)
    assert not d.unlike(cancel.gray, click, phase=5)  # no demonstrated click near this point of the workflow
    assert d.familiar(cancel.gray) and not d.familiar(themed.gray)  # another font: the agent does not judge
    d.labels = [(img, dict(m, label_stable=False)) for img, m in stable]
    assert not d.unlike(cancel.gray, click, phase=2)  # the demos disagree: not judged
    d.labels = [(img, {"token": 1, "phase": m["phase"]}) for img, m in stable]
    assert not d.unlike(cancel.gray, click, phase=2)  # a bundle from before labels: never judged


def _menu_screen(entry, x0=300, y0=300):
    """A file list with a context menu over it at (x0, y0), `entry` second in it (at x0 + 40, y0 + 36)."""
    import cv2

    g = np.full((800, 1280), 255, np.uint8)
    names = ["budget.xlsx", "report_draft_v2.docx", "slides_v1.pptx", "notes.txt", "photo_2024.png"]
    for i in range(30):
        y = 100 + 20 * i
        cv2.putText(g, f"{names[i % 5]}   2024-03-0{i % 9}   {10 + i} KB", (40, y), 0, 0.45, 30, 1, cv2.LINE_AA)
        cv2.putText(g, names[(i + 2) % 5], (520, y), 0, 0.45, 30, 1, cv2.LINE_AA)
    cv2.rectangle(g, (x0, y0), (x0 + 110, y0 + 96), 225, -1)
    cv2.rectangle(g, (x0, y0), (x0 + 110, y0 + 96), 120, 1)
    for j, t in enumerate(["Open", entry, "Delete", "Properties"]):
        cv2.putText(g, t, (x0 + 8, y0 + 17 + 24 * j), 0, 0.45, 20, 1, cv2.LINE_AA)
    return g


def test_the_trainer_keeps_a_menu_entrys_line_beside_its_row(tmp_path):
    from types import SimpleNamespace

    from models import codec
    from models.train import _write_exemplars

    steps, eps = [], []
    for ep, (x0, y0) in enumerate([(300, 300), (300, 400), (300, 200)]):  # the menu where each demo right-clicked
        pos = np.zeros((4, 4), np.float32)
        pos[0] = ((x0 + 40) / 1280, (y0 + 36) / 800) * 2
        steps.append(SimpleNamespace(gray=_menu_screen("Rename...", x0, y0), scale=1.0, screen=(1280, 800), pos=pos,
                                     episode=ep, index=1, kinds=np.array([codec.CLICK, 0, 0, 0])))
        eps.append(SimpleNamespace(path=tmp_path / f"demo{ep}", steps=[steps[-1]], meta={}))
    out = _write_exemplars(tmp_path, eps, TrainConfig(**SMALL))
    assert len(out) == 3
    for e in out:
        assert e["row"] and e["label_stable"] and e["line_label"]
        assert (tmp_path / e["line_label"]).exists()


def test_a_menu_entry_over_a_list_must_match_its_own_line_too(bundle):
    """A menu entry has no widget box of its own: its label is a list row's, mostly the list
    behind the menu, which every demo shows alike. Delete in Rename's place matches that row; the
    line around the click (the entry) does not, and the runtime asks both."""
    from models import dataset
    from models.candidates import LABEL_MIN, LABEL_ROW, Candidate, Decider, label_match, label_strip

    out, _ = bundle
    d = Decider(bundle_mod.load(out))
    x, y = 340 / 1280, 336 / 800
    shown = _menu_screen("Rename...")
    crop, at, boxed = dataset.exemplar_crop(shown, x, y, 1.0, with_at=True)
    assert not boxed and crop.shape == (40, 128)  # no box found: taken for a list row
    row, line = dataset.native_crop(shown, x, y, LABEL_ROW), label_strip(crop, at)
    meta = {"token": 1, "phase": 1, "label_stable": True, "row": True, "label": "labels/000.png"}
    pos = np.zeros((4, 4), np.float32)
    pos[0] = (x, y, x, y)
    click = Candidate(np.array([1, 0, 0, 0]), pos, "policy")
    delete = _menu_screen("Delete")
    assert label_match(delete, (x, y), [(row, meta)]) >= LABEL_MIN  # what went wrong in b34
    d.labels, d.lines = [(row, meta)], {}
    assert not d.unlike(delete, click, phase=1)
    d.lines = {"labels/000.png": line}
    assert d.unlike(delete, click, phase=1) and d.unlike(_menu_screen("Properties"), click, phase=1)
    assert not d.unlike(shown, click, phase=1)


def test_practice_failures_become_labels_the_runtime_refuses(bundle, tmp_path):
    """A click practice failed with (Cancel where Move was gone) is kept as a label and refused
    at that point of the workflow, as a click or as a dismissal; a failed click on a widget like
    a demonstrated target (missed by a few pixels, or a dialog took it) is not kept."""
    import cv2

    from models import codec
    from models.candidates import Candidate, Decider, label_strip
    from models.dataset import exemplar_crop
    from models.train import _write_failure_labels

    move = _drawn_step(0, "Move", 300, 200, others=[("Cancel", 420, 200)])
    (tmp_path / "labels").mkdir()
    crop, at, _ = exemplar_crop(move.gray, 300 / 1280, 200 / 800, 1.0, with_at=True)
    cv2.imwrite(str(tmp_path / "labels" / "000.png"), label_strip(crop, at))
    shown = [{"label": "labels/000.png", "token": 1, "phase": 2}]
    cancel = _drawn_step(5, "Cancel", 420, 200)  # Move removed: practice pressed Cancel
    missed = _drawn_step(6, "Move", 300, 200, others=[("Cancel", 420, 200)])  # failed on Move itself
    behind = _drawn_step(7, "Cancel", 420, 200)
    behind.dismiss_at = np.array([0.1, 0.1, 0.2, 0.2])  # a popup took the click: not the widget's fault
    for s in (cancel, missed):
        s.dismiss_at = None
    out = _write_failure_labels(tmp_path, [cancel, missed, behind], shown)
    assert [f["phase"] for f in out] == [2] and (tmp_path / out[0]["label"]).exists()

    d = Decider(bundle_mod.load(bundle[0]))
    d.labels, d.lines = [], {}
    d.failures = [(cv2.imread(str(tmp_path / out[0]["label"]), cv2.IMREAD_GRAYSCALE), out[0])]
    at_cancel = Candidate(cancel.kinds.copy(), cancel.pos.copy(), "policy")
    assert d.failed_before(cancel.gray, at_cancel, phase=2) and d.refusal(cancel.gray, at_cancel, 2) == "failed"
    at_cancel.kinds[0] = codec.DISMISS
    assert d.failed_before(cancel.gray, at_cancel, phase=2)  # a dismissal is a click all the same
    assert not d.failed_before(cancel.gray, at_cancel, phase=6)  # not at this point of the workflow
    at_move = Candidate(move.kinds.copy(), move.pos.copy(), "policy")
    assert not d.failed_before(move.gray, at_move, phase=2)


def test_no_failure_label_refuses_what_a_demonstration_did(tmp_path):
    """A failed click's label that fits where a demonstrated click of its phase landed is not
    kept (b46: bare window background beside a moved window fitted export_menu's File, and File
    was refused on every unchanged screen), whatever the exemplars' labels say."""
    from models.train import _write_failure_labels

    demo = _drawn_step(0, "File", 300, 200, others=[("Edit", 420, 200)])
    failed = _drawn_step(5, "File", 300, 200, others=[("Edit", 420, 200)])
    failed.dismiss_at = None
    (tmp_path / "labels").mkdir()
    assert len(_write_failure_labels(tmp_path, [failed], [])) == 1  # no demonstration says otherwise
    assert _write_failure_labels(tmp_path, [failed], [], [demo]) == []
    demo.index = 5  # a demonstrated click far from this point of the workflow says nothing
    assert len(_write_failure_labels(tmp_path, [failed], [], [demo])) == 1


def test_the_agent_judges_labels_by_its_runs_screens(bundle):
    import cv2

    from agent.decide import Agent
    from models.candidates import label_strip
    from models.dataset import exemplar_crop

    out, _ = bundle
    agent = Agent.load(out)
    move = _drawn_step(0, "Move", 300, 200)
    crop, at, _ = exemplar_crop(move.gray, 300 / 1280, 200 / 800, 1.0, with_at=True)
    agent.decider.labels = [(label_strip(crop, at), {"token": 1, "phase": 0, "label_stable": True})]
    agent.decider.look = []  # judged by the label (a bundle from before look words)
    themed = _drawn_step(0, "Move", 300, 200, font=cv2.FONT_HERSHEY_TRIPLEX, size=1.3)

    def bgr(step):
        return cv2.cvtColor(step.gray, cv2.COLOR_GRAY2BGR)

    agent.decide(bgr(themed), (0.5, 0.5), [])
    assert not agent.labels_readable()
    assert not agent.labels_readable(themed.gray)  # later screens in the same font do not either
    agent.decide(bgr(move), (0.5, 0.5), [])  # a new run
    assert agent.labels_readable()
    agent.decide(bgr(themed), (0.5, 0.5), [1])  # later in the same run (a click done)
    assert agent.labels_readable(themed.gray)  # the run's first screen showed the demos' font


def test_the_agent_reads_the_font_by_the_demos_words_and_looks_again_later(bundle):
    import cv2

    from agent.decide import Agent
    from models import look

    out, _ = bundle
    agent = Agent.load(out)
    words = [("Downloads", 200, 300), ("Documents", 200, 400), ("Pictures", 600, 300), ("Move", 600, 400)]
    plain = _drawn_step(0, "Cancel", 900, 600, others=words)
    themed = _drawn_step(0, "Cancel", 900, 600, others=words, font=cv2.FONT_HERSHEY_TRIPLEX, size=1.3)
    covered = plain.gray.copy()
    covered[100:700, 50:1100] = 200  # a dialog over the window from the run's start
    agent.decider.look = look.common_words([(plain.gray, 1.0)])
    assert len(agent.decider.look) >= 4

    def bgr(gray):
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)

    agent.decide(bgr(themed.gray), (0.5, 0.5), [])
    assert not agent.labels_readable() and not agent.labels_readable(themed.gray)  # another font
    agent.decide(bgr(plain.gray), (0.5, 0.5), [])  # a new run
    assert agent.labels_readable()
    agent.decide(bgr(covered), (0.5, 0.5), [])  # a new run, its text hidden at first
    assert not agent.labels_readable()
    assert agent.labels_readable(plain.gray)  # the dialog closed: the demos' font after all
    assert agent.labels_readable()  # ... for the rest of the run


def _file_list(names, x0=100, y0=120, pitch=18):
    """A list of file names, one row each `pitch` px from y0 (the row's top), text centred in it."""
    import cv2

    g = np.full((800, 1280), 255, np.uint8)
    cv2.rectangle(g, (x0 - 4, y0 - 4), (x0 + 320, y0 + pitch * len(names) + 4), 120, 1)
    for i, n in enumerate(names):
        cv2.putText(g, n, (x0, y0 + pitch * i + 13), 0, 0.45, 30, 1, cv2.LINE_AA)
    return g


def test_a_list_row_clicked_at_its_edge_is_judged_and_clicked_on_its_line(bundle, tmp_path):
    """People click a row anywhere, often at its edge: the label is cut around the row's line of
    text, the runtime's click moves onto the line it is nearest, and a look-alike row beside the
    wanted one fails the label check that the wanted row passes (its line matches about 0.81: a
    row's line is held to the bar the demos' own clicks cleared, LABEL_STABLE, not LABEL_MIN)."""
    import cv2
    from types import SimpleNamespace

    from models import codec
    from models.candidates import Candidate, Decider
    from models.train import _write_exemplars

    DOUBLE = codec.FIXED_TOKENS.index("double_click")
    wanted = "report_draft_v2.docx"
    others = ["budget.xlsx", "notes.txt", "slides_v1.pptx", "photo_2024.png", "minutes.docx", "plan.pdf"]
    steps, eps = [], []
    for ep, at in enumerate([2, 4, 1]):  # where the wanted row is in each demo's list
        names = others[:at] + [wanted] + others[at:]
        pos = np.zeros((4, 4), np.float32)
        pos[0] = (300 / 1280, (120 + 18 * at + 2) / 800) * 2  # 2 px into the row: at its top edge
        steps.append(SimpleNamespace(gray=_file_list(names), scale=1.0, screen=(1280, 800), pos=pos,
                                     episode=ep, index=3, kinds=np.array([DOUBLE, 0, 0, 0])))
        eps.append(SimpleNamespace(path=tmp_path / f"demo{ep}", steps=[steps[-1]], meta={}))
    out = _write_exemplars(tmp_path, eps, TrainConfig(**SMALL))
    assert all(e["row"] and e["line_centred"] and e["label_stable"] for e in out), out

    d = Decider(bundle_mod.load(bundle[0]))
    d.look = []
    d.labels = [(cv2.imread(str(tmp_path / e["label"]), cv2.IMREAD_GRAYSCALE), e) for e in out]
    d.lines = {e["label"]: cv2.imread(str(tmp_path / e["line_label"]), cv2.IMREAD_GRAYSCALE) for e in out if e.get("line_label")}
    names = others[:3] + [wanted, "report_draft_v22.docx"] + others[3:]  # the look-alike matches 0.7-0.85
    g = _file_list(names)

    def click(y):
        pos = np.zeros((4, 4), np.float32)
        pos[0] = (300 / 1280, y / 800) * 2
        return Candidate(np.array([out[0]["token"], 0, 0, 0]), pos, "policy")

    edge = click(120 + 18 * 4 - 1)  # 1 px above the look-alike row: the wanted row's bottom edge
    d.snap_rows(g, [edge], phase=3)
    assert abs(edge.pos[0, 1] * 800 - (120 + 18 * 3 + 9)) <= 3  # moved onto the wanted row's line
    assert not d.unlike(g, edge, phase=3)
    assert d.unlike(g, click(120 + 18 * 4 + 9), phase=3)  # the look-alike
    assert d.unlike(g, click(120 + 18 * 2 + 9), phase=3)  # the row above


def test_a_dismissal_on_a_button_the_demos_pressed_later_is_refused(bundle):
    """Under a changed layout the critic took signin's moved Sign in for a dialog's button; a
    dismissal there signed in with no user name. A dismissal may not land on a boxed widget the
    demos pressed at this point of the workflow or later; a popup's own button passes."""
    from models import codec
    from models.candidates import Candidate, Decider, label_strip
    from models.dataset import exemplar_crop

    d = Decider(bundle_mod.load(bundle[0]))
    sign_in = _drawn_step(0, "Sign in", 300, 200, others=[("Close", 700, 500)])
    crop, at, _ = exemplar_crop(sign_in.gray, 300 / 1280, 200 / 800, 1.0, with_at=True)
    d.labels = [(label_strip(crop, at), {"token": codec.CLICK, "phase": 4, "label_stable": True, "row": False})]

    def dismiss(x, y):
        pos = np.zeros((4, 4), np.float32)
        pos[0] = (x / 1280, y / 800) * 2
        return Candidate(np.array([codec.DISMISS, codec.CLICK, 0, 0]), pos, "policy:dismiss1")

    assert d.dismisses_a_step(sign_in.gray, dismiss(300, 200), phase=0)
    assert d.refusal(sign_in.gray, dismiss(300, 200), phase=0) == "a step"
    assert not d.dismisses_a_step(sign_in.gray, dismiss(700, 500), phase=0)  # the popup's Close
    assert not d.dismisses_a_step(sign_in.gray, dismiss(300, 200), phase=5)  # a step already done
    click = dismiss(300, 200)
    click.kinds[0] = codec.CLICK
    assert not d.dismisses_a_step(sign_in.gray, click, phase=0)  # pressing it is the workflow's business
    d.labels = [(img, dict(m, row=True)) for img, m in d.labels]
    assert not d.dismisses_a_step(sign_in.gray, dismiss(300, 200), phase=0)  # rows fit any line of text


def test_a_dismissal_on_a_button_beside_a_demonstrated_press_is_refused(tmp_path, bundle):
    """drag_file's Move dialog without Move holds Cancel alone and looks like a notice. The trainer
    keeps the buttons the demos saw beside the one they pressed (in every demo, at the same
    place); a dismissal there is refused at that point of the workflow, a popup's Close is not."""
    import cv2
    from types import SimpleNamespace

    from models import codec
    from models.candidates import Candidate, Decider, sibling_buttons
    from models.train import TrainConfig, _write_sibling_labels

    (tmp_path / "labels").mkdir()
    steps = [_drawn_step(e, "Move", 300 + 7 * e, 200, others=[("Cancel", 400 + 7 * e, 200)]) for e in range(3)]
    box, sibs = sibling_buttons(steps[0].gray, steps[0].pos[0, :2])
    assert box is not None and len(sibs) == 1 and abs(sibs[0][0] * 1280 - 400) < 3 and abs(sibs[0][1] * 800 - 200) < 3
    eps = [SimpleNamespace(meta={"source": "demo"}, steps=[s]) for s in steps]
    out = _write_sibling_labels(tmp_path, eps, steps, TrainConfig())
    assert [m["phase"] for m in out] == [2]  # one Cancel, not one per demo
    # only the person's demos count, and a button missing from another demo is no answer of the dialog
    assert _write_sibling_labels(tmp_path, [SimpleNamespace(meta={"source": "practice"}, steps=steps)], steps,
                                 TrainConfig()) == []
    odd = [*steps[:2], _drawn_step(2, "Move", 300, 200, others=[("Delete", 400, 200)])]
    assert _write_sibling_labels(tmp_path, [SimpleNamespace(meta={}, steps=[s]) for s in odd], odd, TrainConfig()) == []

    d = Decider(bundle_mod.load(bundle[0]))
    d.labels, d.siblings = [], [(cv2.imread(str(tmp_path / m["label"]), cv2.IMREAD_GRAYSCALE), m) for m in out]
    alone = _drawn_step(9, "Cancel", 350, 220, others=[("Close", 700, 500)])  # Move removed

    def dismiss(x, y):
        pos = np.zeros((4, 4), np.float32)
        pos[0] = (x / 1280, y / 800) * 2
        return Candidate(np.array([codec.DISMISS, codec.DONE, 0, 0]), pos, "policy:dismiss1")

    assert d.refusal(alone.gray, dismiss(350, 220), phase=2) == "a step"
    assert not d.dismisses_a_step(alone.gray, dismiss(700, 500), phase=2)  # a popup's Close
    assert not d.dismisses_a_step(alone.gray, dismiss(350, 220), phase=0)  # not at this point of the workflow


def test_under_another_font_the_words_of_the_labels_judge(tmp_path, bundle):
    """Another theme's font defeats every template of the demos' labels, so they refuse the right
    click as well as the wrong one; there the phrase read at the click judges instead, against
    the phrases the trainer read at the demos' clicks: Move passes, Cancel beside it does not,
    and a dismissal on a step's or a sibling's button is refused."""
    import cv2
    from types import SimpleNamespace

    from models import codec
    from models.candidates import Candidate, Decider
    from models.train import TrainConfig, _write_exemplars, _write_sibling_labels

    steps = [_drawn_step(e, "Move", 300 + 7 * e, 200, others=[("Cancel", 420 + 7 * e, 200)]) for e in range(3)]
    eps = [SimpleNamespace(path=tmp_path / f"demo{e}", steps=[s], meta={"source": "demo"}) for e, s in enumerate(steps)]
    out = _write_exemplars(tmp_path, eps, TrainConfig(**SMALL))
    sibs = _write_sibling_labels(tmp_path, eps, steps, TrainConfig(**SMALL))
    assert [e["text"] for e in out] == ["Move"] * 3 and [m["text"] for m in sibs] == ["Cancel"], (out, sibs)

    d = Decider(bundle_mod.load(bundle[0]))
    d.labels = [(cv2.imread(str(tmp_path / e["label"]), cv2.IMREAD_GRAYSCALE), e) for e in out]
    d.siblings = [(cv2.imread(str(tmp_path / m["label"]), cv2.IMREAD_GRAYSCALE), m) for m in sibs]
    d.failures = []
    themed = _drawn_step(9, "Move", 500, 300, others=[("Cancel", 640, 300)], font=2, size=1.3).gray

    def first(kind, x, y):
        pos = np.zeros((4, 4), np.float32)
        pos[0] = (x / 1280, y / 800) * 2
        return Candidate(np.array([kind, codec.DONE, 0, 0]), pos, "policy")

    move, cancel = first(codec.CLICK, 500, 300), first(codec.CLICK, 640, 300)
    assert d.unlike(themed, move, phase=2) and d.unlike(themed, cancel, phase=2)  # templates cannot tell
    assert d.refusal(themed, move, 2, readable=lambda: False) is None
    assert d.refusal(themed, cancel, 2, readable=lambda: False) == "unlike (words)"
    assert d.refusal(themed, cancel, 2, readable=lambda: True) == "unlike"  # where templates read, they judge
    assert d.refusal(themed, first(codec.DISMISS, 500, 300), 2, readable=lambda: False) == "a step (words)"
    assert d.refusal(themed, first(codec.DISMISS, 640, 300), 2, readable=lambda: False) == "a step (words)"
    assert d.refusal(themed, first(codec.DISMISS, 640, 300), 0, readable=lambda: False) is None  # not this phase's
    # the words vouch for a click the critic, new to this font, scored low: only at its own step
    thr = d.bundle.abstain_threshold
    low = [first(codec.CLICK, 500, 300), first(codec.CLICK, 640, 300), first(codec.CLICK, 500, 300)]
    for c in low:
        c.score = 0.0
    d.endorse_by_words(themed, low[:2], phase=2)
    d.endorse_by_words(themed, low[2:], phase=3)
    assert (low[0].score, low[0].source) == (thr, "policy:words") and low[1].score == 0.0 and low[2].score == 0.0
    # labels without words (an empty field), or from a bundle before words, judge nothing there
    for text in ("", None):
        d.labels = [(img, dict(m, text=text)) for img, m in d.labels]
        assert d.refusal(themed, cancel, 2, readable=lambda: False) is None
