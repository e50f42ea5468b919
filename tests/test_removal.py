"""Removed targets for the critic: the widget a demonstrated click acts on, erased (models/removal.py)."""
from __future__ import annotations

import numpy as np

from models import codec, removal


def _screen_with_two_buttons():
    """A grey window with "Sign in" (the target, at x 100..180) and a look-alike beside it."""
    from models.dataset import Step

    gray = np.full((400, 640), 230, np.uint8)
    for x0 in (100, 200):
        gray[100:124, x0:x0 + 80] = 20  # frame
        gray[102:122, x0 + 2:x0 + 78] = 200  # face
        gray[108:116, x0 + 20:x0 + 60] = 20  # "text"
    import cv2

    small = cv2.resize(np.stack([gray] * 3, -1), (codec.INPUT_W, codec.INPUT_H), interpolation=cv2.INTER_AREA)
    kinds, pos = codec.encode_chunk([1], [(140 / 640, 112 / 400, 140 / 640, 112 / 400)], 4)
    return Step(episode=0, index=0, small=small, gray=gray, scale=1.0, screen=(640, 400),
                cursor=np.zeros(2, np.float32), prev=np.zeros(3, np.int64), kinds=kinds, pos=pos,
                target=np.array([100 / 640, 100 / 400, 180 / 640, 124 / 400], np.float32))


def test_the_erased_target_is_background_and_nothing_else_changes():
    step = _screen_with_two_buttons()
    e = removal.erase(step, step.target)
    assert (e.gray[95:130, 95:185] == 230).all()  # frame, face and text gone
    assert np.array_equal(e.gray[:, 190:], step.gray[:, 190:])  # the look-alike stays
    assert (step.gray[100:124, 100:180] != 230).any()  # the step itself is untouched
    sx, sy = codec.INPUT_W / 640, codec.INPUT_H / 400
    patch = e.small[int(100 * sy):int(124 * sy) + 1, int(100 * sx):int(180 * sx) + 1]
    assert np.abs(patch.astype(int) - 230).max() <= 2
    assert e.frame_path is None and np.array_equal(e.kinds, step.kinds)


def test_closing_up_moves_the_neighbour_into_the_targets_place():
    """Sign in not there: its row closes up and "Sign up" sits where it was; points in the moved
    strip move with it, points elsewhere stay, and nothing off the strip changes."""
    step = _screen_with_two_buttons()
    e, move = removal.close_up(step, step.target, axis=0)
    assert np.array_equal(e.gray[100:124, 100:180], step.gray[100:124, 200:280])  # the look-alike, moved
    assert (e.gray[95:130, 200:290] == 230).all()  # its old place (and the gap) is background
    assert np.array_equal(e.gray[:95], step.gray[:95]) and np.array_equal(e.gray[130:], step.gray[130:])
    pts = np.array([[240 / 640, 112 / 400], [140 / 640, 112 / 400], [240 / 640, 300 / 400]])
    np.testing.assert_allclose(move(pts) * [640, 400], [[140, 112], [140, 112], [240, 300]], atol=1e-3)
    e, move = removal.close_up(step, step.target, axis=1)  # nothing below it: erased, no more
    assert (e.gray[95:130, 95:185] == 230).all() and np.array_equal(e.gray[:, 190:], step.gray[:, 190:])


def test_a_menu_closes_up_entry_for_entry():
    """Entries that touch (a menu: "Open", "Rename…", "Delete"): with "Rename…" gone, "Delete"
    is drawn exactly where it was."""
    import dataclasses

    step = _screen_with_two_buttons()
    gray = np.full((400, 640), 230, np.uint8)
    for i in range(4):  # entries 22 px high from y 100, their "text" 6 px below each top
        gray[106 + 22 * i:114 + 22 * i, 310:310 + 20 + 15 * i] = 20
    rename = np.array([300 / 640, 122 / 400, 420 / 640, 144 / 400])
    e, move = removal.close_up(dataclasses.replace(step, gray=gray), rename, axis=1)
    assert np.array_equal(e.gray[122:144], gray[144:166])  # "Delete" where "Rename…" was
    assert np.array_equal(e.gray[144:166], gray[166:188])
    np.testing.assert_allclose(move(np.array([360 / 640, 155 / 400])) * [640, 400], [360, 133], atol=1e-3)


def test_a_closed_up_row_makes_the_demonstrated_click_a_negative_on_the_look_alike():
    import torch  # noqa: F401  (train.py builds tensors)

    from models import dataset
    from models.train import TrainConfig, critic_batch

    step = _screen_with_two_buttons()
    neg = dataset.NegativeMaker({0: [step]}, codec.Vocab())
    cfg = TrainConfig(interruptions=0.0, removals=1.0, close_up=1.0, critic_groups=8, augment=0.0)
    t, groups = critic_batch([step], [], neg, np.random.default_rng(0), cfg, slots=4)
    kinds_t, pos_t, crops, crop_index, labels = t[3], t[4], t[5], t[6], t[7]
    assert not groups and float(labels.max()) == 0.0
    demo = [i for i in range(len(labels)) if kinds_t[i, 0] == 1 and abs(float(pos_t[i, 0, 0]) - 140 / 640) < 0.02]
    assert demo
    # some of those screens closed up sideways: the crop at the demonstrated click shows the look-alike there
    row = [crops[crop_index[i, 0], 0].numpy() for i in demo]
    assert any(float(c[10:22, 180:268].mean()) < 0.9 and float(c[10:22, 268:].mean()) > 0.85 for c in row)


def test_a_critic_batch_of_removed_targets_has_no_positive():
    import torch  # noqa: F401  (train.py builds tensors)

    from models import dataset
    from models.train import TrainConfig, critic_batch

    step = _screen_with_two_buttons()
    neg = dataset.NegativeMaker({0: [step]}, codec.Vocab())
    cfg = TrainConfig(interruptions=0.0, removals=1.0, critic_groups=4)
    t, groups = critic_batch([step], [], neg, np.random.default_rng(0), cfg, slots=4)
    labels, crop_labels = t[7], t[8]
    assert len(labels) > 4 and not groups  # the demonstrated click and the look-alike, per screen
    assert float(labels.max()) == 0.0 and float(crop_labels.max()) == 0.0


def test_a_later_target_erased_leaves_this_steps_chunk_right_and_no_dialog_to_dismiss():
    """Sign in gone from the start: clicking the user field is still right; dismissing "Sign up"
    as if it were a dialog's button is not."""
    import dataclasses

    from models import dataset
    from models.train import TrainConfig, critic_batch

    later = dataclasses.replace(_screen_with_two_buttons(), index=1)
    kinds, pos = codec.encode_chunk([1], [(0.5, 0.8, 0.5, 0.8)], 4)  # a field elsewhere
    first = dataclasses.replace(later, index=0, kinds=kinds, pos=pos, target=np.array([0.45, 0.77, 0.55, 0.83], np.float32))
    first.gray[300:340, 260:380] = 255  # the field (not erased here: the test erases Sign in)
    neg = dataset.NegativeMaker({0: [first, later]}, codec.Vocab())
    cfg = TrainConfig(interruptions=0.0, removals=1.0, critic_groups=12, augment=0.0)
    seen_positive = False
    rng = np.random.default_rng(1)
    for _ in range(5):
        t, groups = critic_batch([first], [], neg, rng, cfg, slots=4)
        kinds_t, pos_t, labels = t[3], t[4], t[7]
        for p, negs in groups:
            seen_positive = True
            assert labels[p] == 1 and kinds_t[p, 0] == 1
            assert any(kinds_t[n, 0] == codec.DISMISS and abs(float(pos_t[n, 0, 0]) - 240 / 640) < 0.05 for n in negs)
            assert all(labels[n] == 0 for n in negs)
    assert seen_positive


def test_the_training_summary_says_how_often_it_stops_where_the_target_is_gone():
    from models.train import summary_lines

    meta = {"abstain_threshold": 0.5, "training": {"episodes": ["a", "b"], "held_out": ["c"], "seconds": 1.0},
            "evaluation": {"click_accuracy": 1.0, "decision_click_accuracy": 1.0, "kind_accuracy": 1.0,
                           "critic_auc": 0.9, "removed_target_best_scores": [0.1, 0.97, 0.2]}}
    assert any("target erased: abstains on 2 of 3" in line for line in summary_lines(meta))
