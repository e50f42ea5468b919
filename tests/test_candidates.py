"""Candidate building (models/candidates.py) on drawn screens: exemplar matches move the right
click of a chunk, never change what the chunk does, and repeats are dropped."""
from __future__ import annotations

import cv2
import numpy as np

from models import codec
from models.candidates import (LABEL_MIN, LABEL_STABLE, Candidate, acting, cut_at_end, did_nothing, exemplar_candidates, label_match,
                               label_strip, match_exemplars, unique)

CLICK = codec.FIXED_TOKENS.index("click")


def _screen(text_at: dict[str, tuple[int, int]], size=(1280, 800)) -> np.ndarray:
    g = np.full((size[1], size[0]), 236, np.uint8)
    for text, (x, y) in text_at.items():
        cv2.rectangle(g, (x - 60, y - 14), (x + 60, y + 14), 40, 2)
        cv2.putText(g, text, (x - 50, y + 7), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 20, 1, cv2.LINE_AA)
    return g


def _crop(g, x, y, w=128, h=40):
    return g[y - h // 2:y + h // 2, x - w // 2:x + w // 2].copy()


def _chunk(kinds, pos):
    return Candidate(np.array(kinds, np.int64), np.array(pos, np.float32), "policy")


def test_exemplar_found_where_the_widget_moved():
    demo = _screen({"Sign in": (300, 200), "Sign up": (460, 200)})
    moved = _screen({"Sign up": (300, 500), "Sign in": (900, 120)})
    ex = [(_crop(demo, 300, 200), {"scale": 1.0, "token": CLICK, "phase": 4})]
    found = match_exemplars(moved, ex)
    assert found, "the exemplar is on the screen"
    best = found[0]
    assert abs(best["x"] * 1280 - 900) < 12 and abs(best["y"] * 800 - 120) < 12, best


def test_exemplar_moves_the_click_of_its_phase_and_keeps_the_kinds():
    t = codec.DONE
    typ = max(codec.POINTER_TOKENS) + 1  # any non-pointer token
    base = _chunk([typ, typ, typ, CLICK], [[0] * 4, [0] * 4, [0] * 4, [0.2, 0.3, 0.2, 0.3]])
    match = {"x": 0.7, "y": 0.15, "score": 0.95, "token": CLICK, "phase": 4}
    (c,) = exemplar_candidates(base, [match], phase=1)
    assert c.kinds.tolist() == base.kinds.tolist()
    assert np.allclose(c.pos[3], [0.7, 0.15, 0.7, 0.15]) and not c.pos[:3].any()
    # a match whose kind the chunk does not have near that phase proposes nothing
    assert exemplar_candidates(base, [dict(match, phase=1)], phase=1) == []
    assert exemplar_candidates(_chunk([typ, t, t, t], np.zeros((4, 4))), [match], phase=3) == []


def test_the_chunks_other_clicks_go_onto_their_own_steps_matches():
    """Under a changed layout the policy's later clicks point where the widgets used to be: each
    match also comes with the chunk's other clicks on the best match of their own step."""
    base = _chunk([CLICK, CLICK, CLICK, codec.DONE], [[0.9, 0.9, 0.9, 0.9]] * 3 + [[0] * 4])
    matches = [{"x": 0.1, "y": 0.1, "score": 0.99, "token": CLICK, "phase": 0},
               {"x": 0.3, "y": 0.3, "score": 0.95, "token": CLICK, "phase": 2},
               {"x": 0.2, "y": 0.2, "score": 0.9, "token": CLICK, "phase": 1},
               {"x": 0.5, "y": 0.5, "score": 0.8, "token": CLICK, "phase": 1}]  # a look-alike of step 1
    out = {(c.source, tuple(round(float(v), 2) for v in c.pos[:3, 0])) for c in exemplar_candidates(base, matches, phase=0)}
    assert ("exemplar:0", (0.1, 0.9, 0.9)) in out  # the single move stays
    assert ("exemplar:0+", (0.1, 0.2, 0.3)) in out  # the others on their steps' best matches
    assert ("exemplar:1+", (0.1, 0.5, 0.3)) in out  # the look-alike, judged with the rest right
    for c in exemplar_candidates(base, matches, phase=0):
        assert c.kinds.tolist() == base.kinds.tolist() and not c.pos[3].any()
    # a match of the step before, put on slot 0, makes no consistent chunk: a single move only
    after = {c.source for c in exemplar_candidates(base, matches, phase=1)}
    assert "exemplar:0" in after and "exemplar:0+" not in after and "exemplar:2+" in after
    # without the phase, slots cannot be told apart: single moves only
    assert all(not c.source.endswith("+") for c in exemplar_candidates(base, matches))


def test_a_chunk_is_also_offered_cut_short_where_the_demos_ended():
    typ = max(codec.POINTER_TOKENS) + 1  # any two non-pointer tokens (typing, a key)
    key = typ + 1
    c = _chunk([key, typ, CLICK, CLICK], [[0] * 4, [0] * 4, [0.4, 0.3, 0.4, 0.3], [0.2, 0.4, 0.2, 0.4]])
    (cut,) = cut_at_end(c, phase=2, ends=(5, 6))  # steps 2, 3, 4 done: the demos took 5 or 6
    assert cut.kinds.tolist() == [key, typ, CLICK, codec.DONE] and np.allclose(cut.pos[2], c.pos[2])
    assert not cut.pos[3].any() and cut.source == "policy:end"
    assert cut_at_end(c, phase=0, ends=(5, 6)) == []  # the chunk cannot reach the end
    # a dismissal is no step of the workflow
    d = _chunk([codec.DISMISS, typ, CLICK, CLICK], [[0.5, 0.5, 0.5, 0.5], [0] * 4, [0.4, 0.3, 0.4, 0.3], [0] * 4])
    assert [x.kinds.tolist() for x in cut_at_end(d, phase=3, ends=(5, 5))] == [[codec.DISMISS, typ, CLICK, codec.DONE]]
    # a chunk that already ends is not cut again
    assert cut_at_end(_chunk([CLICK, codec.DONE, codec.DONE, codec.DONE], np.zeros((4, 4))), phase=4, ends=(5, 6)) == []


def test_where_the_policy_points_nowhere_its_runner_up_kind_takes_the_exemplars():
    """Settings under layout: after Apply the policy said `done`, and OK in the dialog was in no
    candidate, as exemplars only move the clicks of a chunk that has one."""
    done = _chunk([codec.DONE] * 4, np.zeros((4, 4)))
    runner_up = Candidate(np.array([CLICK] + [codec.DONE] * 3), np.array([[0.2, 0.4, 0.2, 0.4]] + [[0] * 4] * 3,
                                                                            np.float32), "policy:kind")
    dismiss = Candidate(np.array([codec.DISMISS] + [codec.DONE] * 3), runner_up.pos.copy(), "policy:dismiss1")
    assert acting([done, dismiss, runner_up]) is runner_up
    assert acting([done, dismiss]) is done  # nothing else to place a click into
    assert acting([runner_up, done]) is runner_up
    ok = {"x": 0.3, "y": 0.27, "score": 0.97, "token": CLICK, "phase": 3}
    assert exemplar_candidates(done, [ok], phase=3) == []
    (c,) = exemplar_candidates(acting([done, runner_up]), [ok], phase=3)
    assert c.kinds.tolist() == runner_up.kinds.tolist() and np.allclose(c.pos[0], [0.3, 0.27, 0.3, 0.27])


def test_a_chunk_clicking_where_a_click_changed_nothing_scores_zero():
    pos = np.array([[0.1, 0.2, 0.1, 0.2]] + [[0] * 4] * 3, np.float32)
    same = Candidate(np.array([CLICK] + [codec.DONE] * 3), pos.copy(), "exemplar:1")
    near = Candidate(same.kinds.copy(), pos + np.float32(5 / 1280), "widget")  # 5 px off: the same widget
    far = Candidate(same.kinds.copy(), pos + np.float32(40 / 1280), "widget")
    dismiss = Candidate(np.array([codec.DISMISS] + [codec.DONE] * 3), pos.copy(), "policy:dismiss1")
    for c in (same, near, far, dismiss):
        c.score = 0.9
    did_nothing([same, near, far, dismiss], [(0.1, 0.2)], (1280, 800))
    # a dismissal there would change nothing either (export_menu dismissed on a bare spot 3 times)
    assert [c.score for c in (same, near, far, dismiss)] == [0.0, 0.0, 0.9, 0.0]
    assert same.source == "exemplar:1:did nothing"


def test_drag_keeps_its_drop_point():
    base = _chunk([codec.DRAG, codec.DONE, codec.DONE, codec.DONE], [[0.1, 0.1, 0.5, 0.6]] + [[0] * 4] * 3)
    (c,) = exemplar_candidates(base, [{"x": 0.3, "y": 0.2, "score": 1, "token": codec.DRAG, "phase": 0}], phase=0)
    assert np.allclose(c.pos[0], [0.3, 0.2, 0.5, 0.6])


def test_unique_drops_repeats_only():
    a = _chunk([CLICK, codec.DONE], [[0.5, 0.5, 0.5, 0.5], [0] * 4])
    b = _chunk([CLICK, codec.DONE], [[0.5001, 0.5, 0.5001, 0.5], [0] * 4])
    c = _chunk([CLICK, codec.DONE], [[0.6, 0.5, 0.6, 0.5], [0] * 4])
    assert unique([a, b, c]) == [a, c]


def test_two_fields_a_row_apart_are_both_found():
    """Form fields sit closer than a policy cell (40 px): both must be offered, so the critic can
    tell the user name field from the password field below it."""
    g = np.full((800, 1280), 236, np.uint8)
    for y, label in ((121, "User name"), (152, "Password")):
        cv2.putText(g, label, (100, y + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 30, 1, cv2.LINE_AA)
        cv2.rectangle(g, (240, y - 10), (350, y + 10), 140, 2)
        cv2.rectangle(g, (242, y - 8), (348, y + 8), 255, -1)
    ex = [(_crop(g, 295, 121), {"scale": 1.0, "token": CLICK, "phase": 0})]
    ys = {round(m["y"] * 800 / 4) * 4 for m in match_exemplars(g, ex)}
    assert any(abs(y - 121) <= 4 for y in ys) and any(abs(y - 152) <= 4 for y in ys), ys


def _outputs(first_kind_probs: dict, peaks, K=4, V=12):
    """Policy outputs of one sample: slot-0 kind probabilities and pointer peaks (cells) given."""
    kind = np.full((K, V), -20.0, np.float32)
    kind[1:, codec.DONE] = 0.0
    for t, p in first_kind_probs.items():
        kind[0, t] = np.log(p)
    pl = np.full((K, codec.GRID_W * codec.GRID_H), -10.0, np.float32)
    for rank, cell in enumerate(peaks):
        pl[:, cell] = 5.0 - rank
    zeros = np.zeros((K, codec.GRID_W * codec.GRID_H, 2), np.float32)
    return kind, pl, zeros, pl.copy(), zeros


def test_a_possible_dialog_adds_a_dismissal_at_each_peak_before_the_chunk():
    from models.candidates import policy_candidates

    peaks = [5, 200, 400]
    cands = policy_candidates(_outputs({CLICK: 0.9, codec.DISMISS: 0.1}, peaks), k_points=3)
    dismiss = [c for c in cands if c.source.startswith("policy:dismiss")]
    assert len(dismiss) == 3 and cands[0].kinds[0] == CLICK
    for c, cell in zip(dismiss, peaks):
        assert c.kinds.tolist() == [codec.DISMISS, CLICK, codec.DONE, codec.DONE]
        assert np.allclose(c.pos[0, :2], codec.cell_to_xy(cell)) and np.allclose(c.pos[1], cands[0].pos[0])
    assert not any(c.kinds[0] == codec.DISMISS and c.source == "policy:kind" for c in cands)
    # no sign of a dialog: no dismissals
    plain = policy_candidates(_outputs({CLICK: 0.99, codec.DISMISS: 0.001}, peaks), k_points=3)
    assert not any(codec.DISMISS in c.kinds for c in plain)


def test_a_dismissal_near_a_button_is_also_tried_on_the_button():
    from models.candidates import nearby_dismissals, widget_boxes

    g = _screen({"Close": (400, 260), "Far away": (900, 600)})
    guess = _chunk([codec.DISMISS, CLICK, codec.DONE, codec.DONE], [[400 / 1280, 225 / 800] * 2, [0.2, 0.2, 0.2, 0.2]] + [[0] * 4] * 2)
    near = nearby_dismissals([guess], widget_boxes(g, 1.0), (1280, 800))
    assert near, "the button 35 px below the guess is offered"
    x, y = near[0].pos[0, :2] * [1280, 800]
    assert abs(x - 400) <= 3 and abs(y - 260) <= 3
    assert near[0].kinds.tolist() == guess.kinds.tolist() and np.allclose(near[0].pos[1:], guess.pos[1:])
    assert all(abs(c.pos[0, 0] * 1280 - 900) > 100 for c in near)  # not the far one
    assert nearby_dismissals([_chunk([CLICK] * 4, [[400 / 1280, 225 / 800] * 2] * 4)], widget_boxes(g, 1.0), (1280, 800)) == []


def test_the_first_dismissal_is_also_tried_on_every_button_on_screen():
    from models.candidates import dialog_dismissals, widget_boxes

    # the policy's dismissals all point at a bare corner; the dialog's Close is far away
    g = _screen({"Close": (700, 520), "Help": (150, 90)})
    rest = [[0.2, 0.2, 0.2, 0.2]] + [[0] * 4] * 2
    first = _chunk([codec.DISMISS, CLICK, codec.DONE, codec.DONE], [[30 / 1280, 140 / 800] * 2] + rest)
    second = _chunk([codec.DISMISS, CLICK, codec.DONE, codec.DONE], [[60 / 1280, 140 / 800] * 2] + rest)
    click = _chunk([CLICK] * 4, [[0.5, 0.5, 0.5, 0.5]] * 4)
    out = dialog_dismissals([click, first, second], widget_boxes(g, 1.0), (1280, 800))
    at = [tuple(np.round(c.pos[0, :2] * [1280, 800])) for c in out]
    assert any(abs(x - 700) <= 3 and abs(y - 520) <= 3 for x, y in at), at
    assert any(abs(x - 150) <= 3 and abs(y - 90) <= 3 for x, y in at), at
    assert abs(at[0][0] - 150) <= 3  # nearest the guess first
    assert all(c.kinds.tolist() == first.kinds.tolist() and np.allclose(c.pos[1:], first.pos[1:]) for c in out)
    assert all(c.source.endswith(":button") for c in out)
    assert dialog_dismissals([click], widget_boxes(g, 1.0), (1280, 800)) == []  # no sign of a dialog: none


def test_the_chunk_is_also_tried_on_every_widget_nearest_first():
    # a changed layout: the policy points where "Sign in" used to be; every widget is offered
    # (its first click moved there, the rest of the chunk kept) and the critic reads which is which
    from models.candidates import Decider, widget_boxes, widget_candidates

    g = _screen({"User": (300, 200), "Sign in": (700, 500), "Sign up": (300, 500)})
    boxes = widget_boxes(g, 1.0)
    rest = [[0.5, 0.5, 0.5, 0.5]] + [[0] * 4] * 2
    guess = _chunk([CLICK, CLICK, codec.DONE, codec.DONE], [[320 / 1280, 230 / 800] * 2] + rest)
    spread = widget_candidates(guess, boxes, (1280, 800), limit=12)
    centres = [tuple(np.round(c.pos[0, :2] * [1280, 800])) for c in spread]
    for x, y in ((300, 200), (700, 500), (300, 500)):
        assert any(abs(cx - x) <= 4 and abs(cy - y) <= 4 for cx, cy in centres), (x, y, centres)
    assert all(c.kinds.tolist() == guess.kinds.tolist() and np.allclose(c.pos[1:], guess.pos[1:]) for c in spread)
    assert np.hypot(*(spread[0].pos[0, :2] - [300 / 1280, 200 / 800]) * [1280, 800]) <= 60  # nearest first
    assert len(widget_candidates(guess, boxes, (1280, 800), limit=2)) == 2
    # no pointer action first, or a dismissal first: nothing to move
    typing = _chunk([codec.DONE] * 4, [[0] * 4] * 4)
    assert widget_candidates(typing, boxes, (1280, 800)) == []
    dismiss = _chunk([codec.DISMISS, CLICK, codec.DONE, codec.DONE], [[320 / 1280, 230 / 800] * 2] + rest)
    assert widget_candidates(dismiss, boxes, (1280, 800)) == []
    # a drag keeps its drop point
    drag = _chunk([codec.DRAG, codec.DONE, codec.DONE, codec.DONE], [[320 / 1280, 230 / 800, 0.9, 0.9]] + [[0] * 4] * 3)
    assert all(np.allclose(c.pos[0, 2:], [0.9, 0.9]) for c in widget_candidates(drag, boxes, (1280, 800)))
    assert Decider.candidates.__defaults__[-1] == 12  # the runtime's default spread


# ----- labels: does the widget under a click look like a demonstrated target? -----------------
def _button(g, text, x, y, scale=1.0):
    w, h = round(44 * scale), round(15 * scale)
    cv2.rectangle(g, (x - w, y - h), (x + w, y + h), 40, 2)
    cv2.putText(g, text, (x - w + 10, y + round(6 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale, 20, 1, cv2.LINE_AA)


def _label(g, x, y):
    from models.dataset import exemplar_crop

    crop, at, _ = exemplar_crop(g, x / g.shape[1], y / g.shape[0], 1.0, with_at=True)
    return label_strip(crop, at), {"scale": 1.0}


def test_a_label_is_recognised_where_it_moved_but_another_is_not():
    demo = np.full((800, 1280), 236, np.uint8)
    _button(demo, "Move", 300, 200)
    _button(demo, "Cancel", 420, 200)
    ex = [_label(demo, 300, 200)]
    later = np.full((800, 1280), 236, np.uint8)
    _button(later, "Move", 700, 500)  # moved
    _button(later, "Cancel", 300, 200)  # in Move's old place
    assert label_match(later, (700 / 1280, 500 / 800), ex) >= LABEL_STABLE
    assert label_match(later, (300 / 1280, 200 / 800), ex) < LABEL_MIN


def test_a_merged_menu_is_matched_by_the_entry_clicked():
    def menu(entries):
        g = np.full((800, 1280), 236, np.uint8)
        cv2.rectangle(g, (240, 200), (350, 200 + 22 * len(entries)), 200, -1)
        cv2.rectangle(g, (240, 200), (350, 200 + 22 * len(entries)), 60, 1)
        for i, e in enumerate(entries):
            cv2.putText(g, e, (250, 216 + 22 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 20, 1, cv2.LINE_AA)
        return g

    demo = menu(["Open", "Rename...", "Delete"])
    ex = [_label(demo, 290, 233)]  # Rename..., the second entry
    assert label_match(demo, (290 / 1280, 233 / 800), ex) >= LABEL_STABLE
    assert label_match(demo, (290 / 1280, 211 / 800), ex) < LABEL_MIN  # Open, in the same box
    closed_up = menu(["Open", "Delete", "Properties"])  # Rename removed: Delete in its place
    assert label_match(closed_up, (290 / 1280, 233 / 800), ex) < LABEL_MIN
