"""Moved-click negatives inside a menu (models/dataset.py NegativeMaker): detection sees a whole
menu as one box, so only the recorded rectangle of the clicked entry says where it ends."""
from __future__ import annotations

import numpy as np

from models import codec, dataset


def _menu_step(with_rect: bool = True):
    """A bordered menu of four entries 22 px high (y 100..188) with a click on the second."""
    gray = np.full((400, 640), 230, np.uint8)
    gray[98:190, 298:422] = 20  # border
    gray[100:188, 300:420] = 250  # face
    for i in range(4):  # each entry's "text"
        gray[106 + 22 * i:114 + 22 * i, 310:330 + 15 * i] = 20
    small = np.zeros((codec.INPUT_H, codec.INPUT_W, 3), np.uint8)
    click = (360 / 640, 133 / 400)
    kinds, pos = codec.encode_chunk([1], [click * 2], 4)
    rect = np.array([300 / 640, 122 / 400, 420 / 640, 144 / 400], np.float32) if with_rect else None
    return dataset.Step(episode=0, index=0, small=small, gray=gray, scale=1.0, screen=(640, 400),
                        cursor=np.zeros(2, np.float32), prev=np.zeros(3, np.int64), kinds=kinds,
                        pos=pos, target=rect)


def test_the_entry_below_is_another_widget_when_the_entry_is_known():
    step = _menu_step()
    maker = dataset.NegativeMaker({0: [step]}, codec.Vocab())
    delete, same_entry = (360 / 640, 155 / 400), (400 / 640, 128 / 400)
    assert maker._outside_target(step, delete, step.pos[0, :2])
    assert not maker._outside_target(step, same_entry, step.pos[0, :2])
    moved = np.array(maker.moved_points(step, 0)) * [640, 400]
    assert (np.hypot(*(moved - [360, 155]).T) < 2).sum() >= 3  # the entry below, weighted
    assert (np.hypot(*(moved - [360, 111]).T) < 2).sum() >= 3  # and above
    rng = np.random.default_rng(0)
    clicks = [maker.make(step, rng, "moved") for _ in range(200)]
    ys = np.array([c[1][0, 1] * 400 for c in clicks if c is not None and abs(c[1][0, 0] * 640 - 360) < 8])
    assert ((ys > 144) & (ys < 166)).sum() >= 10  # clicks on "Delete" are negatives


def test_without_a_recorded_rectangle_the_menu_box_is_the_target():
    """The fallback for a user's own recordings (no widget rectangles): the detected box, as
    before; the entry below is inside it and so not a negative."""
    step = _menu_step(with_rect=False)
    maker = dataset.NegativeMaker({0: [step]}, codec.Vocab())
    assert not maker._outside_target(step, (360 / 640, 155 / 400), step.pos[0, :2])
    assert maker.neighbours(step, 0) == []


def test_a_later_click_on_a_widget_not_on_screen_yet_is_not_moved_to_make_a_negative():
    """The chunk clicks an entry, then an entry of the submenu it opens (not drawn yet): this
    screen cannot tell one place for that second click from another, so negatives move only
    the first (a moved second click would label a right chunk wrong)."""
    step = _menu_step()
    later = (500 / 640, 140 / 400)
    step.kinds, step.pos = codec.encode_chunk([codec.CLICK, codec.CLICK], [tuple(step.pos[0, :2]) * 2, later * 2], 4)
    maker = dataset.NegativeMaker({0: [step]}, codec.Vocab())

    def second_click_moved(n=300):
        rng = np.random.default_rng(0)
        made = [maker.make(step, rng, kind) for kind in ("moved", "lookalike") * (n // 2)]
        return sum(not np.allclose(p[1], step.pos[1]) for k, p in filter(None, made))

    assert second_click_moved() > 10  # not known: every click may be moved
    step.on_screen = np.array([True, False, True, True])
    assert second_click_moved() == 0


def test_a_widget_that_detection_finds_by_itself_keeps_its_detected_box():
    """A lone bordered field: its detected box is the recorded rectangle, so the rectangle adds
    nothing and the negatives stay as they were without it (no neighbours on the desktop)."""
    gray = np.full((400, 640), 230, np.uint8)
    gray[120:146, 298:422] = 20  # border
    gray[122:144, 300:420] = 250  # face
    step = _menu_step()
    step.gray = gray
    maker = dataset.NegativeMaker({0: [step]}, codec.Vocab())
    assert maker._recorded_target(step, step.pos[0, :2]) is None
    assert maker.neighbours(step, 0) == []
