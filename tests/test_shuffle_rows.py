"""The critic's layout augmentation (dataset.shuffle_rows) on a drawn form: rows change places,
the chunk's points move with them, and nothing is cut through (a text box, the desktop)."""
from __future__ import annotations

import cv2
import numpy as np

from models import codec, dataset

W, H = 640, 400
WINDOW = (40, 30, 360, 330)  # x0, y0, x1, y1 of the app's window on a black desktop


def _form(rows):
    """A window with one labelled entry per row y, and a tall text box (two lines of text) at
    y 230-300 whose lines are widget-sized boxes of their own."""
    g = np.zeros((H, W), np.uint8)
    x0, y0, x1, y1 = WINDOW
    g[y0:y1, x0:x1] = 225
    for i, y in enumerate(rows):
        cv2.putText(g, f"Field {i}", (55, y + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 20, 1)
        cv2.rectangle(g, (140, y), (330, y + 20), 60, 1)
        g[y + 1:y + 20, 141:330] = 255
    cv2.rectangle(g, (55, 230), (330, 300), 60, 1)
    g[231:300, 56:330] = 255
    for j, y in enumerate((250, 275)):
        cv2.putText(g, f"line {j} of the notes", (62, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 20, 1)
    return g


def _step(g):
    rgb = np.repeat(g[..., None], 3, axis=2)
    kinds = np.full(4, codec.DONE, dtype=np.int64)
    kinds[0] = codec.CLICK
    pos = np.zeros((4, 4), np.float32)
    pos[0] = [230 / W, 90 / H, 230 / W, 90 / H]  # inside the entry of row 1 (y 80-100)
    return dataset.Step(episode=0, index=0, small=codec.resize_input(rgb), gray=g, scale=1.0, screen=(W, H),
                        cursor=np.zeros(2, np.float32), prev=np.zeros(codec.HISTORY, np.int64), kinds=kinds, pos=pos)


def test_rows_change_places_and_points_move_with_them():
    g = _form([40, 80, 120, 160])
    step = _step(g)
    boxes = dataset.widget_boxes(g, 1.0)
    for seed in range(6):
        out = dataset.shuffle_rows(step, boxes, np.random.default_rng(seed))
        assert out is not None
        view, ymap = out
        assert view.gray.shape == g.shape and view.small.shape == step.small.shape
        assert not np.array_equal(view.gray, g), "some row changed place"
        assert np.array_equal(view.gray[:WINDOW[1]], g[:WINDOW[1]]), "the desktop above the window stays"
        assert np.array_equal(view.gray[WINDOW[3]:], g[WINDOW[3]:]), "... and below it"
        # every entry field is whole where ymap says its row went, the clicked one included
        for y in (40, 80, 120, 160):
            ny = int(round(float(ymap(np.array([(y + 10) / H]))[0]) * H)) - 10
            assert np.array_equal(view.gray[ny:ny + 21, 140:331], g[y:y + 21, 140:331]), (seed, y, ny)
        # the text box moves in one piece: its lines are never cut apart from its border
        ny = int(round(float(ymap(np.array([265 / H]))[0]) * H)) - 35
        assert np.array_equal(view.gray[ny:ny + 71, 55:331], g[230:301, 55:331]), seed
        # the click's point lands on the same field in the new screen
        x, y = step.pos[0, 0] * W, float(ymap(step.pos[:1, 1])[0]) * H
        assert view.gray[int(y), int(x)] == 255 and view.gray[int(y) - 12:int(y) + 12, int(x)].min() == 60


def test_one_row_is_nothing_to_shuffle():
    g = np.zeros((H, W), np.uint8)
    g[30:330, 40:360] = 225
    cv2.rectangle(g, (140, 80), (330, 100), 60, 1)
    assert dataset.shuffle_rows(_step(g), dataset.widget_boxes(g, 1.0), np.random.default_rng(0)) is None


def test_critic_batches_shuffle_rows_only_when_asked(tmp_path):
    """row_shuffle=0 draws nothing from the random stream (bundles trained before it are
    reproduced exactly: the benchmarks compare against them); row_shuffle=1 builds the same
    groups on other screens."""
    import pytest

    pytest.importorskip("torch")
    from models.synthetic import make_episodes
    from models.train import TrainConfig, critic_batch

    make_episodes(tmp_path, range(2), size=(480, 300))
    demos, _, _ = dataset.scan([tmp_path], [])
    vocab = dataset.build_vocab(demos)
    for i, le in enumerate(demos):
        dataset.build(le, i, vocab, 4, consensus=None)
    steps = [s for le in demos for s in le.steps]
    maker = dataset.NegativeMaker({i: le.steps for i, le in enumerate(demos)}, vocab)

    def batch(share, stale=0.0):
        cfg = TrainConfig(row_shuffle=share, stale=stale, interruptions=0.0, removals=0.0, critic_groups=8)
        return critic_batch(steps, [], maker, np.random.default_rng(3), cfg, 4)

    (plain, groups), (again, _), (tiny, _), (moved, moved_groups) = batch(0.0), batch(0.0), batch(1e-12), batch(1.0)
    assert all(np.array_equal(a, b) for a, b in zip(plain, again))
    assert not all(np.array_equal(a, b) for a, b in zip(plain, tiny) if a.shape == b.shape), "a share > 0 draws"
    assert len(moved_groups) == len(groups) and int(moved[7].sum()) == int(plain[7].sum()) == len(groups)
    # the chunk at the demo's pixels on a moved screen: one negative more than the negative maker gives
    t, stale_groups = batch(1.0, stale=1.0)
    assert max(len(negs) for _, negs in stale_groups) == TrainConfig().critic_negatives + 1
    assert max(len(negs) for _, negs in groups) <= TrainConfig().critic_negatives
    demo_pos = [st.pos[:, :2][np.isin(st.kinds, list(codec.POINTER_TOKENS))] for st in steps]
    for first, negs in stale_groups:
        if len(negs) > TrainConfig().critic_negatives:
            k, p = t[3][negs[-1]].numpy(), t[4][negs[-1]].numpy()
            at = p[:, :2][np.isin(k, list(codec.POINTER_TOKENS))]
            assert any(d.shape == at.shape and np.allclose(d, at, atol=1e-4) for d in demo_pos), "at the demo's pixels"
            assert not np.allclose(t[4][first].numpy()[:len(at), :2], p[:len(at), :2], atol=1e-3), "the positive moved"
    for name in ("row_shuffle", "stale"):
        with pytest.raises(ValueError, match=name):
            TrainConfig(**{name: 1.5})


def test_a_menu_entry_moves_with_the_click_that_opens_it_not_with_the_row_under_it():
    """Chunk: click row 1's field, then an entry of a menu that click opens (drawn later over
    row 3). Reordered rows move the field; the entry, not on this screen yet, moves with it."""
    g = _form([40, 80, 120, 160])
    step = _step(g)
    step.kinds[1] = codec.CLICK
    step.pos[1] = [230 / W, 170 / H, 230 / W, 170 / H]  # over row 3 (y 160-180) now
    for seed in range(10):  # an order in which the two rows move differently (else nothing to test)
        view, ymap = dataset.shuffle_rows(step, dataset.widget_boxes(g, 1.0), np.random.default_rng(seed))
        row_dy = [float(ymap(np.array([y / H]))[0]) - y / H for y in (90, 170)]
        if abs(row_dy[0] - row_dy[1]) > 10 / H:
            break
    else:
        raise AssertionError("no order moved rows 1 and 3 differently")
    unknown = dataset.rows_moved(step, step.pos, ymap)  # no on_screen: every point moves with its row
    assert np.allclose(unknown[:2, 1] - step.pos[:2, 1], row_dy, atol=1e-6)
    step.on_screen = np.array([True, False, True, True])
    q = dataset.rows_moved(step, step.pos, ymap)
    assert np.allclose(q[:2, 1] - step.pos[:2, 1], [row_dy[0], row_dy[0]], atol=1e-6)
    assert np.allclose(q[:, 0], step.pos[:, 0]) and np.allclose(q[2:], step.pos[2:])


def test_on_screen_compares_the_later_widget_on_both_frames():
    """A form's next field is on the screen already; a menu entry is not (a blank was there)."""
    now = _form([40, 80, 120, 160])
    later = now.copy()
    later[150:190, 200:300] = 240  # the menu drawn over rows 3 and 4
    later[162:178, 210:290] = 30  # its entry
    frames = {"a.png": now, "b.png": now, "c.png": later}
    step = _step(now)
    rects = {"1": [140, 120, 190, 20], "2": [200, 160, 100, 20]}  # logical x, y, w, h
    dataset._mark_on_screen([step], {"0": [140, 80, 190, 20], **rects}, [0, 1, 2], list(frames),
                            lambda f: (None, frames[f], 1.0), W, H, chunk_size=4)
    assert step.on_screen.tolist() == [True, True, False, True]  # slot 3: no action, no rectangle
