"""Candidate chunks and the critic's choice, with numpy, OpenCV and ONNX Runtime only (no torch):
the reference the runtime (agent/) can call, and what the trainer's offline evaluation and
the benchmark use, so the numbers measure the path the agent takes.

Candidates come from (1) the pointer head's top peaks (non-maximum suppression over cells),
(2) the kind head's runner-up token for the first slot, (3) exemplar matches: the bundle's
native-resolution crops around demonstrated clicks, found on the current screen with
normalised cross-correlation (grayscale, a few scales, |score| so inverted themes match too).
The critic scores them all in one batched call, with one shared screen.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import codec, look, read


@dataclass
class Candidate:
    kinds: np.ndarray  # (K,) int64
    pos: np.ndarray  # (K, 4) float32
    source: str  # "policy", "policy:peak2", "policy:kind", "exemplar:<phase>"
    score: float = float("nan")  # critic probability

    def actions(self, vocab: codec.Vocab, scroll_clicks: int = 3) -> list[dict]:
        return codec.decode_chunk(self.kinds, self.pos, vocab, scroll_clicks)


def softmax(x, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def widget_boxes(gray: np.ndarray, scale: float) -> np.ndarray:
    """Rough boxes of things one could click (edges -> contours), normalised (x0, y0, x1, y1)."""
    import cv2

    h, w = gray.shape
    small = cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    edges = cv2.Canny(small, 40, 120)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    s = 2.0 / scale  # half-res pixels -> logical pixels
    for c in contours:
        x, y, bw, bh = cv2.boundingRect(c)
        if 10 <= bw * s <= 500 and 8 <= bh * s <= 120:
            out.append((x * 2 / w, y * 2 / h, (x + bw) * 2 / w, (y + bh) * 2 / h))
    return np.array(out, dtype=np.float32).reshape(-1, 4)


def box_at(boxes: np.ndarray, xy, screen, max_size=(320, 80), largest: bool = False):
    """The smallest widget-sized box (normalised x0, y0, x1, y1) around normalised xy, or None.
    largest: the largest one up to max_size and not much taller than the smallest (a button's
    frame rather than its text; one entry field, not two stacked ones whose borders touch)."""
    x, y = float(xy[0]), float(xy[1])
    if not len(boxes):
        return None
    inside = (boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3])
    if not inside.any():
        return None
    cand = boxes[inside]
    size = (cand[:, 2:] - cand[:, :2]) * np.asarray(screen, dtype=np.float64)  # logical px
    i = int(np.argmin(size.prod(1)))
    if largest:
        ok = (size[:, 0] <= max_size[0]) & (size[:, 1] <= min(max_size[1], 1.6 * size[i, 1] + 6))
        return cand[ok][np.argmax(size[ok].prod(1))] if ok.any() else None
    return cand[i] if size[i, 0] <= max_size[0] and size[i, 1] <= max_size[1] else None


def snap_point(boxes: np.ndarray, xy, screen, max_size=(320, 80)) -> tuple[float, float]:
    """The centre of the smallest widget-sized box around normalised xy (else xy itself): every
    candidate on a widget is clicked, and looked at by the critic, the same way."""
    b = box_at(boxes, xy, screen, max_size)
    if b is None:
        return float(xy[0]), float(xy[1])
    return float((b[0] + b[2]) / 2), float((b[1] + b[3]) / 2)


def snap_candidates(cands, boxes: np.ndarray, screen) -> None:
    """Move each candidate's first pointer position to the centre of the widget under it."""
    for c in cands:
        for k in range(len(c.kinds)):
            if c.kinds[k] in codec.POINTER_TOKENS:
                c.pos[k, :2] = snap_point(boxes, c.pos[k, :2], screen)
                if c.kinds[k] != codec.DRAG:
                    c.pos[k, 2:] = c.pos[k, :2]
                break


BUTTON_WIDTH, BUTTON_HEIGHT = (16, 240), (12, 60)  # logical px: what a push button measures


def button_wide(size: np.ndarray) -> np.ndarray:
    """Which of these [w, h] sizes (logical px) are as wide as a push button."""
    return (size[:, 0] >= BUTTON_WIDTH[0]) & (size[:, 0] <= BUTTON_WIDTH[1])


def nearby_dismissals(cands, boxes: np.ndarray, screen, radius: float = 48.0, limit: int = 4,
                      tag: str = ":near") -> list:
    """For each candidate that starts by dismissing a dialog: the same chunk dismissing at each
    button-sized widget within `radius` logical px of that point (at most `limit`, nearest
    first). The pointer head places a click within about a cell (40 px at 1280x800); demonstrated
    clicks are refined by exemplars, a dialog's button by the widgets around the guess, and the
    critic chooses. radius=inf: every button on screen (dialog_dismissals)."""
    out = []
    if not len(boxes):
        return out
    sw, sh = screen
    size = (boxes[:, 2:] - boxes[:, :2]) * np.array([sw, sh])
    button = button_wide(size) & (size[:, 1] >= BUTTON_HEIGHT[0]) & (size[:, 1] <= BUTTON_HEIGHT[1])
    centres = ((boxes[:, :2] + boxes[:, 2:]) / 2)[button]
    for c in cands:
        if c.kinds[0] != codec.DISMISS:
            continue
        d = np.hypot((centres[:, 0] - c.pos[0, 0]) * sw, (centres[:, 1] - c.pos[0, 1]) * sh)
        for i in np.argsort(d)[:limit]:
            if d[i] <= radius:
                pos = c.pos.copy()
                pos[0] = (*centres[i], *centres[i])
                out.append(Candidate(c.kinds.copy(), pos, c.source + tag))
    return out


DIALOG_BUTTONS = 8  # buttons on screen a dismissal is also tried on


def dialog_dismissals(cands, boxes: np.ndarray, screen, limit: int = DIALOG_BUTTONS) -> list:
    """The policy's first dismissal moved onto each button on screen (nearest its guess first, at
    most `limit`). Its peaks can all miss the dialog's one button: export_menu under `all`
    dismissed on the window's bare corner three times while Close was 300 px away, never offered.
    A button the demos pressed as a step is refused (Decider.dismisses_a_step); the critic
    chooses among the rest."""
    first = next((c for c in cands if c.kinds[0] == codec.DISMISS), None)
    if first is None:
        return []
    return nearby_dismissals([first], boxes, screen, radius=np.inf, limit=limit, tag=":button")


SIBLING_REACH = 240  # logical px: how far beside a pressed button the other buttons of its row are looked for


def sibling_buttons(gray: np.ndarray, xy, scale: float = 1.0) -> tuple:
    """The box of the button at normalised xy and the centres of the widgets in its row, of its
    height, within SIBLING_REACH of it: a dialog's other answers (Cancel beside Move). -> (box or
    None, [(x, y)] normalised). Why: without the button the demos pressed, a dialog holding only
    one of those looks like a notice with its one button, and the critic passes dismissing it."""
    h, w = gray.shape[:2]
    screen = (w / scale, h / scale)
    boxes = widget_boxes(gray, scale)
    box = box_at(boxes, xy, screen, max_size=(320, 80), largest=True)
    if box is None:
        return None, []
    sw, sh = screen
    bh = float(box[3] - box[1]) * sh
    size = (boxes[:, 2:] - boxes[:, :2]) * np.array([sw, sh])
    c = (boxes[:, :2] + boxes[:, 2:]) / 2
    ok = ((np.abs(c[:, 1] - (box[1] + box[3]) / 2) * sh < bh / 2) & (size[:, 1] > 0.75 * bh)
          & (size[:, 1] < 1.33 * bh + 2) & button_wide(size)
          & ((c[:, 0] < box[0]) | (c[:, 0] > box[2]))
          & (np.abs(c[:, 0] - (box[0] + box[2]) / 2) * sw < SIBLING_REACH))
    out = []
    for x, y in c[ok]:  # one point per widget: its frame and its text's contour are two boxes
        b = box_at(boxes, (x, y), screen, largest=True)
        p = (float(x), float(y)) if b is None else (float(b[0] + b[2]) / 2, float(b[1] + b[3]) / 2)
        if all(np.hypot((p[0] - q[0]) * sw, (p[1] - q[1]) * sh) > 4 for q in out):
            out.append(p)
    return box, out


def points_at(k) -> bool:
    """A pointer action of the workflow (click, double, right, drag, scroll), not a dismissal."""
    return int(k) in codec.POINTER_TOKENS and int(k) != codec.DISMISS


def acting(cands: list[Candidate]) -> Candidate:
    """The chunk exemplar matches and widgets are placed into: the policy's, or where it points
    nowhere (it holds the workflow done, or types next) its runner-up first kind's. Settings under
    layout: after Apply the policy said `done` (0.61), and OK in the dialog was in no candidate
    at all, as exemplars only move the clicks of a chunk that has one."""
    def points(c):
        return any(points_at(k) for k in c.kinds)

    if points(cands[0]):
        return cands[0]
    return next((c for c in cands if c.source == "policy:kind" and points(c)), cands[0])


def did_nothing(cands: list[Candidate], avoid, screen, tol_px: float = 12.0) -> None:
    """Score 0 for each chunk whose first action clicks (or dismisses) within tol_px logical
    pixels of a point in `avoid`, where a click of this run changed nothing at this point of the
    workflow: the policy, whose history did not move, proposes it again, and doing it again would
    not help (export_menu dismissed three times on the same bare spot, then gave up)."""
    sw, sh = screen
    for c in cands:
        if int(c.kinds[0]) in codec.POINTER_TOKENS and any(
                np.hypot((c.pos[0, 0] - x) * sw, (c.pos[0, 1] - y) * sh) <= tol_px for x, y in avoid):
            c.score, c.source = 0.0, f"{c.source}:did nothing"


def widget_candidates(base: Candidate, boxes: np.ndarray, screen, limit: int = 12) -> list[Candidate]:
    """The policy's chunk with its first pointer action moved onto each widget on screen (the
    widget-sized boxes, nearest the policy's guess first, at most `limit`). Under a changed layout
    the pointer head points where the target used to be and the exemplars may no longer match;
    the critic reads each widget's row at native resolution and judges what it is. A dismissal
    is left alone (nearby_dismissals moves those)."""
    ptr = [k for k in range(len(base.kinds)) if base.kinds[k] in codec.POINTER_TOKENS]
    if not ptr or not points_at(base.kinds[ptr[0]]) or not len(boxes):
        return []
    s, (sw, sh) = ptr[0], screen
    size = (boxes[:, 2:] - boxes[:, :2]) * np.array([sw, sh])
    ok = (size[:, 0] >= 12) & (size[:, 0] <= 320) & (size[:, 1] >= 10) & (size[:, 1] <= 80)
    centres = ((boxes[:, :2] + boxes[:, 2:]) / 2)[ok]
    d = np.hypot((centres[:, 0] - base.pos[s, 0]) * sw, (centres[:, 1] - base.pos[s, 1]) * sh)
    out = []
    for i in np.argsort(d, kind="stable")[:limit]:
        kinds, pos = base.kinds.copy(), base.pos.copy()
        pos[s, :2] = centres[i]
        if kinds[s] != codec.DRAG:  # a drag keeps its drop point
            pos[s, 2:] = pos[s, :2]
        out.append(Candidate(kinds, pos, "widget"))
    return out


def slot_xy(logits, offset, cell=None) -> tuple[float, float]:
    """(N,), (N, 2) of one slot -> normalised position of `cell` (default: the best)."""
    cell = int(np.argmax(logits)) if cell is None else int(cell)
    return codec.cell_to_xy(cell, offset[cell])


def policy_candidates(out, k_points: int = 5, k_kinds: int = 2) -> list[Candidate]:
    """Policy outputs of ONE sample (kind_logits (K,V), point_logits (K,N), point_offset (K,N,2),
    end_logits, end_offset) -> candidates: the argmax chunk, its first pointer slot moved to the
    next peaks, the runner-up first token, and when the kind head gives `dismiss` a chance, a
    dismissal at each peak of the first slot followed by the chunk."""
    kind_logits, pl, po, el, eo = (np.asarray(a) for a in out)
    K = kind_logits.shape[0]
    kinds = kind_logits.argmax(-1).astype(np.int64)
    pos = np.zeros((K, 4), dtype=np.float32)
    for k in range(K):
        pos[k, :2] = slot_xy(pl[k], po[k])
        pos[k, 2:] = slot_xy(el[k], eo[k]) if kinds[k] == codec.DRAG else pos[k, :2]
    base = Candidate(kinds, _mask(kinds, pos), "policy")
    cands = [base]
    ptr = [k for k in range(K) if kinds[k] in codec.POINTER_TOKENS]
    if ptr:
        s = ptr[0]
        for rank, cell in enumerate(codec.top_cells(pl[s], k_points)[1:], start=2):
            p = pos.copy()
            p[s, :2] = codec.cell_to_xy(cell, po[s, cell])
            if kinds[s] != codec.DRAG:
                p[s, 2:] = p[s, :2]
            cands.append(Candidate(kinds.copy(), p, f"policy:peak{rank}"))
    probs = softmax(kind_logits[0])
    for t in np.argsort(-probs)[1:k_kinds]:
        if probs[t] > 0.02 and t != codec.DISMISS:
            k2 = kinds.copy()
            k2[0] = t
            cands.append(Candidate(k2, _mask(k2, pos), "policy:kind"))
    if kinds[0] != codec.DISMISS and probs[codec.DISMISS] > 0.02:
        # the policy sees what may be a dialog: dismiss it at each of the first slot's peaks, then
        # carry on with its chunk (the chunk a dismissal was learnt with, models/interruptions.py)
        for rank, cell in enumerate(codec.top_cells(pl[0], k_points), start=1):
            k2, p = codec.prepend(kinds, pos, codec.DISMISS, codec.cell_to_xy(cell, po[0, cell]))
            cands.append(Candidate(k2, _mask(k2, p), f"policy:dismiss{rank}"))
    return cands


def _mask(kinds, pos):
    pos = pos.copy()
    pos[~np.isin(kinds, list(codec.POINTER_TOKENS))] = 0
    return pos


def match_exemplars(gray: np.ndarray, exemplars, scale: float = 1.0, per_exemplar: int = 4,
                    scales=(0.85, 1.0, 1.18), downsample: int = 2, min_score: float = 0.55,
                    sure: float = 0.9) -> list[dict]:
    """Find exemplar crops on a native grayscale frame. exemplars: [(uint8 image, meta dict with
    "scale", "token", "phase", optionally "line_dy": where the click goes from the crop's
    middle)]. -> [{"x", "y", "score", "token", "phase"}] best first."""
    import cv2

    H, W = gray.shape
    g = cv2.resize(gray, (W // downsample, H // downsample), interpolation=cv2.INTER_AREA)
    found = []
    for img, meta in exemplars:
        best = []
        for s in sorted(scales, key=lambda v: abs(v - 1.0)):  # the demo's scale first
            if best and max(b[0] for b in best) >= sure:
                break  # a clear match already: other scales would only cost time
            f = scale / float(meta.get("scale", 1.0)) * s / downsample
            tw, th = max(4, round(img.shape[1] * f)), max(4, round(img.shape[0] * f))
            if tw >= g.shape[1] or th >= g.shape[0]:
                continue
            t = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
            if float(t.std()) < 2.0:
                continue  # a flat patch matches anywhere
            res = np.abs(np.nan_to_num(cv2.matchTemplate(g, t, cv2.TM_CCOEFF_NORMED)))
            dy = float(meta.get("line_dy", 0.0)) * th / img.shape[0]  # row exemplars: the line's middle
            for _ in range(per_exemplar):
                _, v, _, (x, y) = cv2.minMaxLoc(res)
                if v < min_score:
                    break
                best.append((float(v), (x + tw / 2) / g.shape[1], (y + th / 2 + dy) / g.shape[0]))
                res[max(0, y - th // 2):y + th // 2 + 1, max(0, x - tw // 2):x + tw // 2 + 1] = 0
        for v, x, y in sorted(best, reverse=True)[:per_exemplar]:
            found.append({"x": x, "y": y, "score": v, "token": int(meta["token"]), "phase": int(meta["phase"])})
    found.sort(key=lambda d: -d["score"])
    out = []
    lw, lh = W / scale, H / scale  # logical pixels
    for d in found:  # drop near-duplicates (two form fields can sit closer than a policy cell)
        if all(abs(d["x"] - o["x"]) * lw >= 10 or abs(d["y"] - o["y"]) * lh >= 10 for o in out):
            out.append(d)
    return out


def exemplar_candidates(base: Candidate, matches: list[dict], phase: int | None = None,
                        limit: int = 8) -> list[Candidate]:
    """The policy's chunk with one pointer action moved onto each exemplar match of its kind: the
    action at the match's phase (a later click of the chunk, found where it has moved to), or
    the nearest one of that kind. Exemplars move clicks, they never change what the chunk does:
    other kinds of action come from the policy (policy:kind). A match placed on its own step's
    slot also comes with the chunk's other clicks on their own steps' best matches
    ("exemplar:<phase>+"): under a changed layout the policy's later clicks point where the
    widgets used to be, and the critic, which judges the whole chunk, turned down a right first
    click for them. Not for a match of another step (the last one's, at slot 0): settings then
    offered "untick Auto-save again, Apply" as a consistent chunk and the critic took it."""
    out = []
    K = len(base.kinds)
    for m in matches[:limit]:
        want = m["phase"] - phase if phase is not None else 0
        slots = [k for k in range(K) if base.kinds[k] == m["token"] and abs(k - want) <= (1 if phase is not None else K)]
        if not slots:
            continue
        s = min(slots, key=lambda k: abs(k - want))
        kinds, pos = base.kinds.copy(), base.pos.copy()
        _place(kinds, pos, s, m)
        out.append(Candidate(kinds, _mask(kinds, pos), f"exemplar:{m['phase']}"))
        if phase is not None and m["phase"] == phase + s:  # (a match of another step: the chunk is not the demos')
            filled = on_their_steps(kinds, pos, matches, phase, keep=s)
            if filled is not None:
                out.append(Candidate(kinds, _mask(kinds, filled), f"exemplar:{m['phase']}+"))
    return out


def _place(kinds, pos, k: int, m: dict) -> None:
    """Slot k's pointer onto match m (a drag keeps its drop point)."""
    pos[k, :2] = (m["x"], m["y"])
    if kinds[k] != codec.DRAG:
        pos[k, 2:] = pos[k, :2]


def on_their_steps(kinds, pos, matches: list[dict], phase: int, keep: int) -> np.ndarray | None:
    """pos with each click of the chunk but slot `keep` on the best exemplar match of its own step
    (slot k is step phase + k), or None if none of them matched."""
    best = {}
    for m in matches:  # best first
        best.setdefault((int(m["phase"]), int(m["token"])), m)
    out, moved = pos.copy(), False
    for k in range(len(kinds)):
        m = best.get((phase + k, int(kinds[k])))
        if k != keep and int(kinds[k]) in LABEL_TOKENS and m is not None:
            _place(kinds, out, k, m)
            moved = True
    return out if moved else None


def cut_at_end(c: Candidate, phase: int, ends) -> list[Candidate]:
    """The chunk cut short with `done` at each slot where the workflow would be as long as a
    demonstration's (ends: [fewest, most] workflow actions; a dismissal is no step): under a
    changed screen the policy's kinds after the last step are guesses (signin's Sign in then
    another click), and the critic learnt that the demonstrated chunk ends there."""
    lo, hi = ends
    out = []
    for j in range(1, len(c.kinds)):
        steps = phase + int((c.kinds[:j] != codec.DISMISS).sum())
        if lo <= steps <= hi and codec.DONE not in c.kinds[:j + 1]:
            kinds, pos = c.kinds.copy(), c.pos.copy()
            kinds[j:], pos[j:] = codec.DONE, 0
            out.append(Candidate(kinds, pos, f"{c.source}:end"))
    return out


def unique(cands: list[Candidate], grid: float = 0.004) -> list[Candidate]:
    """Drop candidates that repeat an earlier one (after snapping, exemplars often land on the
    policy's own click): the critic's batch is better spent on different choices."""
    seen, out = set(), []
    for c in cands:
        key = (c.kinds.tobytes(), np.round(c.pos / grid).astype(np.int32).tobytes())
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def distinct(exemplars, same: float = 0.97) -> list:
    """Exemplars without near-copies: the demos of a phase usually show the same widget, and each
    exemplar costs a template match per decision. Kept: one per look (e.g. plain and hovered)."""
    out = []
    for img, meta in exemplars:
        if not any(_near_copy(kimg, kmeta, img, meta, same) for kimg, kmeta in out):
            out.append((img, meta))
    return out


def _near_copy(a_img, a_meta, b_img, b_meta, same: float) -> bool:
    """Same phase and token, same size within 2 px, and correlated at least `same`."""
    import cv2

    if (a_meta["phase"], a_meta["token"]) != (b_meta["phase"], b_meta["token"]):
        return False
    if abs(a_img.shape[0] - b_img.shape[0]) > 2 or abs(a_img.shape[1] - b_img.shape[1]) > 2:
        return False
    h, w = min(a_img.shape[0], b_img.shape[0]), min(a_img.shape[1], b_img.shape[1])
    a, b = a_img[:h, :w].astype(np.float32), b_img[:h, :w].astype(np.float32)
    return bool(a.std() > 0 and b.std() > 0 and float(cv2.matchTemplate(a, b, cv2.TM_CCOEFF_NORMED).max()) >= same)


def critic_batch(gray: np.ndarray, cands: list[Candidate], slots: int, scale: float = 1.0):
    """-> kinds (B,K), pos (B,K,4), crops (M,1,h,w), crop_index (B,P) for the critic."""
    kinds = np.stack([c.kinds for c in cands]).astype(np.int64)
    pos = np.stack([c.pos for c in cands]).astype(np.float32)
    crops, crop_index = codec.chunk_crops(gray, [(c.kinds, c.pos) for c in cands], slots, scale)
    return kinds, pos, crops, crop_index


# A demonstrated target's label must be recognisable (|NCC| of its label image over the widget)
# at least this well for a click to count as "like a demo's". Chosen on the benchmark's training
# data only (b31's demos and practice): on label_stable phases every click of a demo the bundle
# took no label from, and 85 of 87 of practice successes, score over it; 67 of 117 wrong first
# actions of failed rollouts under it (docs/benchmarks.md, "The label check").
LABEL_MIN = 0.7
LABEL_BAND = 24  # logical px: the line of an exemplar a click was on (one menu entry, one list row)
LABEL_ROW = (320, 20)  # logical px around a click on a list row: the row's whole text
LABEL_SURE = 0.95  # the same widget drawn the same: what a dismissal must not land on (Decider.dismisses_a_step)
LABEL_STABLE = 0.85  # the trainer marks a phase label_stable when its demos' clicks all match this well
LINE_REACH = (480, 40)  # logical px around a click on a list row where the line it is on is looked for
LINE_SLACK = 3  # logical px a line-centred label may sit off the line of the click it judges
ENDORSE_TOP = 8  # candidates, best first, whose words may vouch for them (about 60 ms each to read)
LABEL_TOKENS = frozenset({codec.CLICK, codec.DRAG, *(codec.FIXED_TOKENS.index(k) for k in ("double_click", "right_click"))})


def line_centre(gray: np.ndarray, xy, scale: float = 1.0) -> tuple[float, float] | None:
    """Normalised xy moved to the middle of the line of text nearest it, or None when no line is
    within reach (look.line_offset). A list row is clicked anywhere, often at its edge; the line
    is what the click meant, and what the runtime clicks and a row's label is cut around."""
    H, W = gray.shape
    cx, cy = float(xy[0]) * W, float(xy[1]) * H
    hw, hh = LINE_REACH[0] * scale / 2, LINE_REACH[1] * scale / 2
    x0, x1 = max(0, round(cx - hw)), min(W, round(cx + hw))
    y0, y1 = max(0, round(cy - hh)), min(H, round(cy + hh))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    off = look.line_offset(gray[y0:y1, x0:x1], mid=cy - y0)
    return None if off is None else (float(xy[0]), (cy + off) / H)


def judged_at(gray: np.ndarray, xy, labels, scale: float = 1.0):
    """Where a click is judged against `labels` [(image, meta)]: on its line's middle when they
    were cut around one (line_centred), as the runtime clicks a row; else where it is."""
    if any(m.get("line_centred") for _, m in labels):
        return line_centre(gray, xy, scale) or xy
    return xy


def label_strip(img: np.ndarray, at, scale: float = 1.0) -> np.ndarray:
    """The band of an exemplar around the line its click was on (at: the click in its pixels):
    a box that merged a menu's entries is matched by the entry clicked, not by its neighbours."""
    half = round(LABEL_BAND * scale / 2)
    y = int(at[1])
    return img[max(0, y - half):max(y + half, min(img.shape[0], 2 * half))]


def label_match(gray: np.ndarray, xy, exemplars, scale: float = 1.0,
                scales=(1.0, 0.85, 1.2, 1.45), slack: float = 0.4, enough: float | None = None) -> float:
    """How much the widget at normalised xy looks like a demonstrated target: the best |NCC| of
    any exemplar placed over xy (the point within the template's inner part, `slack` of its size
    off centre; across, anywhere along it when meta "row": a list row is clicked anywhere; down,
    LINE_SLACK only when meta "line_centred": the label and xy both sit on a line's middle), at a
    few scales (bigger fonts), on the native grayscale frame. 0 if none fits. enough: return as
    soon as a match is that good (the runtime only asks whether one is; the demo's scale first).
    A click whose label matches no demonstrated target's is one the demos never showed."""
    import cv2

    H, W = gray.shape
    cx, cy = float(xy[0]) * W, float(xy[1]) * H
    best = 0.0
    for img, meta in exemplars:
        for s in scales:
            f = scale / float(meta.get("scale", 1.0)) * s
            tw, th = max(4, round(img.shape[1] * f)), max(4, round(img.shape[0] * f))
            dx = round(tw * (1.0 if meta.get("row") else slack)) + 2
            dy = round(LINE_SLACK * f) + 1 if meta.get("line_centred") else round(th * slack) + 2
            x0, y0 = max(0, round(cx - tw / 2 - dx)), max(0, round(cy - th / 2 - dy))
            x1, y1 = min(W, round(cx + tw / 2 + dx)), min(H, round(cy + th / 2 + dy))
            if x1 - x0 < tw or y1 - y0 < th:
                continue
            t = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
            if float(t.std()) < 2.0:
                continue
            res = np.nan_to_num(cv2.matchTemplate(gray[y0:y1, x0:x1], t, cv2.TM_CCOEFF_NORMED))
            best = max(best, float(np.abs(res).max()))
            if enough is not None and best >= enough:
                return best
    return best


class Decider:
    """policy.onnx + exemplars + critic.onnx on one screen -> candidates ranked by the critic."""

    def __init__(self, bundle, threads: int = 1, exemplars: bool = True):
        self.bundle = bundle
        self.policy = bundle.session("policy", threads)
        self.critic = bundle.session("critic", threads)
        # a list row's crop leads to the middle of the line the person meant (look.line_offset)
        self.exemplars = [(img, dict(m, line_dy=look.line_offset(img) or 0.0) if m.get("row") else m) for img, m in
                          distinct([(bundle.exemplar_image(e), e) for e in bundle.exemplars])] if exemplars else []
        # the label each exemplar's click was on, for `unlike` (older bundles have none: never judged)
        self.labels = [(bundle.image(e["label"]), e) for e in bundle.exemplars if e.get("label")]
        # label file -> the part of a row label around the click, which must match as well
        self.lines = {e["label"]: bundle.image(e["line_label"]) for e in bundle.exemplars if e.get("line_label")}
        # the buttons beside a pressed one in the demos (a dialog's other answers), for `dismisses_a_step`
        self.siblings = [(bundle.image(f["label"]), f) for f in bundle.meta.get("sibling_labels", [])]
        # what practice clicked when it failed, for `failed_before`
        self.failures = [(bundle.image(f["label"]), f) for f in bundle.meta.get("failure_labels", [])]
        # words of the demos' first screens, for `familiar`
        self.look = [(bundle.image(w["file"]), float(w["scale"])) for w in bundle.meta.get("look", [])]
        # reading words (models/read.py): the label check where another font defeats templates;
        # loaded only when a screen first needs it
        self._reader: read.Reader | None = None
        self._read: tuple = (None, {})  # (frame, {native point: phrase}) for the frame being judged

    def exemplars_for(self, phase: int | None, reach: int | None = None):
        """The exemplars of the phases a chunk started at `phase` can reach (all if phase is None)."""
        if phase is None:
            return self.exemplars
        reach = self.bundle.chunk_size if reach is None else reach
        return [(img, m) for img, m in self.exemplars if phase - 1 <= int(m["phase"]) < phase + reach]

    def propose(self, image: np.ndarray, cursor, prev_actions, k_points: int = 5) -> tuple[list[Candidate], list]:
        """prev_actions: (HISTORY,) tokens, most recent first (codec.history)."""
        out = self.policy.run(None, {"image": image[None], "cursor": np.asarray(cursor, np.float32).reshape(1, 2),
                                     "prev_actions": np.asarray(prev_actions, np.int64).reshape(1, -1)})
        return policy_candidates([o[0] for o in out], k_points), out

    def score(self, image: np.ndarray, gray: np.ndarray, prev_actions, cands: list[Candidate], scale: float = 1.0,
              snap: bool = True):
        """Critic probabilities into c.score; with snap, pointer positions first move to the centre of
        the widget under them (as in training)."""
        if snap:
            h, w = gray.shape
            snap_candidates(cands, widget_boxes(gray, scale), (w / scale, h / scale))
        kinds, pos, crops, crop_index = critic_batch(gray, cands, self.bundle.crop_slots, scale)
        (score,) = self.critic.run(None, {"image": image[None], "prev_actions": np.repeat(np.asarray(prev_actions, np.int64).reshape(1, -1), len(cands), 0),
                                          "kinds": kinds, "pos": pos, "crops": crops, "crop_index": crop_index})
        for c, s in zip(cands, score.tolist()):
            c.score = float(s)
        return cands

    def candidates(self, image: np.ndarray, gray: np.ndarray, cursor, prev_actions, scale: float = 1.0,
                   phase: int | None = None, n: int = 16, use_exemplars: bool = True,
                   proposed: list[Candidate] | None = None, widgets: int = 12) -> list[Candidate]:
        """The policy's candidates (`proposed`, if the caller has run the policy already), then
        exemplar matches (placed into the `acting` chunk), snapped to widgets, repeats dropped,
        at most n; then dismissals at the buttons near a proposed one and at every button
        (dialog_dismissals), and the policy's chunk on
        each of `widgets` widgets; and each of them cut short where the demonstrations ended
        (cut_at_end)."""
        cands = [Candidate(c.kinds.copy(), c.pos.copy(), c.source) for c in proposed] if proposed else \
            self.propose(image, cursor, prev_actions)[0]
        base = acting(cands)
        if use_exemplars and self.exemplars:
            matches = match_exemplars(gray, self.exemplars_for(phase), scale)
            cands += exemplar_candidates(base, matches, phase, limit=2 * n)
        h, w = gray.shape
        boxes, screen = widget_boxes(gray, scale), (w / scale, h / scale)
        snap_candidates(cands, boxes, screen)
        cands = unique(cands)
        spread = widget_candidates(base, boxes, screen, widgets)
        snap_candidates(spread, boxes, screen)
        dialog = nearby_dismissals(cands[:n], boxes, screen) + dialog_dismissals(cands[:n], boxes, screen)
        cands = cands[:n] + dialog + spread
        self.snap_rows(gray, cands, phase, scale)
        cands = unique(cands)[:n + len(dialog) + widgets]
        ends = self.bundle.meta.get("workflow_actions")
        return cands + [e for c in cands for e in cut_at_end(c, phase, ends)] if ends and phase is not None else cands

    def snap_rows(self, gray: np.ndarray, cands: list[Candidate], phase: int | None, scale: float = 1.0) -> None:
        """Move a first click onto the middle of its line of text where the demos clicked list rows
        at this point of the workflow (labels cut around a row's line, line_centred): one pixel
        past a row's edge is the neighbouring row, and the label check judges the line clicked."""
        rows = {int(m["token"]) for _, m in self.labels if m.get("line_centred")
                and (phase is None or abs(int(m["phase"]) - phase) <= 1)}
        for c in cands:
            k0 = int(c.kinds[0])
            if k0 in rows and k0 in LABEL_TOKENS and k0 != codec.DRAG:
                p = line_centre(gray, c.pos[0, :2], scale)
                if p is not None:
                    c.pos[0, 1] = c.pos[0, 3] = p[1]

    def judging(self, c: Candidate, phase: int | None) -> list:
        """The demo labels that judge the chunk's first click: those of its kind within a phase of
        `phase`, if the demos agree on the target's look there (label_stable), else none."""
        k0 = int(c.kinds[0])
        if k0 not in LABEL_TOKENS:
            return []
        near = [(img, m) for img, m in self.labels if int(m["token"]) == k0
                and (phase is None or abs(int(m["phase"]) - phase) <= 1)]
        known = [m["label_stable"] for _, m in near if m.get("label_stable") is not None]
        if not known or not all(known):  # None: a phase no demo had (practice behind a dialog)
            return []
        return near

    def steps_beside(self, phase: int | None) -> list:
        """The labels a dismissal must not land on: the boxed buttons the demos pressed at this
        point of the workflow or later, and the buttons beside a press within a phase of it."""
        steps = [(img, m) for img, m in self.labels if m.get("label_stable") and not m.get("row")
                 and (phase is None or int(m["phase"]) >= phase)]
        return steps + [(img, m) for img, m in self.siblings if phase is None or abs(int(m["phase"]) - phase) <= 1]

    def unlike(self, gray: np.ndarray, c: Candidate, phase: int | None, scale: float = 1.0) -> bool:
        """Does the chunk start with a click on a widget that looks like none the demos clicked at
        this point of the workflow? Judged only where the demos agree on the target's look
        (the phases around `phase` are label_stable); elsewhere (a field whose text differs
        from run to run) it cannot tell, and says no."""
        near = self.judging(c, phase)
        if not near:
            return False
        xy = c.pos[0, :2]
        for img, m in near:  # like a demo's click: each of one exemplar's labels matches
            # a row's line, matched where it is clicked, as well as the demos' own clicks matched
            # each other (label_stable): a look-alike row ("… (copy).docx") scores 0.7-0.9
            bar = LABEL_STABLE if m.get("line_centred") else LABEL_MIN
            line = self.lines.get(m.get("label"))
            if (label_match(gray, xy, [(img, m)], scale, enough=bar) >= bar
                    and (line is None or label_match(gray, xy, [(line, m)], scale, enough=bar) >= bar)):
                return False
        return True

    def failed_before(self, gray: np.ndarray, c: Candidate, phase: int | None, scale: float = 1.0) -> bool:
        """Does the chunk start by clicking (or dismissing) a widget just like one practice
        clicked at this point of the workflow when it failed? (drag_file's Move dialog without
        Move holds Cancel alone and looks like a notice: the critic lets a dismissal there through.)"""
        if int(c.kinds[0]) not in (codec.CLICK, codec.DISMISS):
            return False
        near = [(img, m) for img, m in self.failures if phase is None or abs(int(m["phase"]) - phase) <= 1]
        return bool(near) and label_match(gray, c.pos[0, :2], near, scale, enough=LABEL_STABLE) >= LABEL_STABLE

    def dismisses_a_step(self, gray: np.ndarray, c: Candidate, phase: int | None, scale: float = 1.0) -> bool:
        """Does the chunk start by "dismissing" at a button the demos pressed as a step of the
        workflow, now or later (a boxed widget's label, label_stable), or at one the demos saw
        beside the button they pressed at this point (sibling_labels: Cancel beside Move), matched
        at LABEL_SURE? A notice is something the demos never showed; a dialog they answered is a
        question. Under a changed layout the critic took signin's moved Sign in for a dialog's
        button (0.94) and signed in with no user name; drag_file's Move dialog without Move holds
        Cancel alone, which looks like a notice. List rows and menu entries are left out: matched
        anywhere along their line, their labels also fit a popup's Close (0.86-0.99)."""
        if int(c.kinds[0]) != codec.DISMISS:
            return False
        steps = self.steps_beside(phase)
        return bool(steps) and label_match(gray, c.pos[0, :2], steps, scale, enough=LABEL_SURE) >= LABEL_SURE

    def refusal(self, gray: np.ndarray, c: Candidate, phase: int | None, scale: float = 1.0,
                readable=None) -> str | None:
        """Why the label check refuses the chunk's first click ("unlike", "failed", "a step"), or None.
        readable(): do templates read this screen's labels (`familiar`)? Where they do not (another
        font), the words read at the click judge instead (`refusal_by_words`)."""
        if readable is not None and int(c.kinds[0]) in LABEL_TOKENS | {codec.DISMISS} and not readable():
            return self.refusal_by_words(gray, c, phase, scale)
        return "unlike" if self.unlike(gray, c, phase, scale) else \
            "a step" if self.dismisses_a_step(gray, c, phase, scale) else \
            "failed" if self.failed_before(gray, c, phase, scale) else None

    def reader(self) -> read.Reader:
        if self._reader is None:
            self._reader = read.Reader()
        return self._reader

    @staticmethod
    def text_of(m: dict) -> str | None:
        """The phrase the trainer read at a label's click (None: a bundle from before words)."""
        return m.get("text")

    def text_at(self, gray: np.ndarray, xy, scale: float = 1.0) -> str:
        """The phrase at normalised xy of the frame being judged (read once per point)."""
        if self._read[0] is not gray:
            self._read = (gray, {})
        H, W = gray.shape
        key = (round(float(xy[0]) * W), round(float(xy[1]) * H))
        if key not in self._read[1]:
            self._read[1][key] = self.reader().text_at(gray, key, scale)
        return self._read[1][key]

    def refusal_by_words(self, gray: np.ndarray, c: Candidate, phase: int | None, scale: float = 1.0) -> str | None:
        """The label check by the words of the labels instead of their pixels, for a screen drawn
        in another font: a click whose phrase is none of the demos' targets' at this point of the
        workflow ("unlike"), or a dismissal whose phrase is a step's or its sibling's ("a step").
        Only labels that hold words judge: where most of a phase's hold none (an empty field, an
        icon) nothing is refused; where the trainer read one demo's as nothing, the others judge."""
        if int(c.kinds[0]) == codec.DISMISS:
            texts = [t for t in (self.text_of(m) for _, m in self.steps_beside(phase)) if t]
            here = self.text_at(gray, c.pos[0, :2], scale) if texts else ""
            return "a step (words)" if any(read.same(here, t) for t in texts) else None
        return "unlike (words)" if self.reads_as(gray, c, self.judging(c, phase), scale) is False else None

    def reads_as(self, gray: np.ndarray, c: Candidate, near: list, scale: float = 1.0) -> bool | None:
        """Does the chunk's first click read as one of the labels `near`? None where they cannot
        tell: most of them hold no words (an empty field, an icon; one demo read as nothing is
        outvoted)."""
        texts = [t for t in (self.text_of(m) for _, m in near) if t]
        if not near or 2 * len(texts) < len(near):
            return None
        here = self.text_at(gray, judged_at(gray, c.pos[0, :2], near, scale), scale)
        return any(read.same(here, t) for t in texts)

    def endorse_by_words(self, gray: np.ndarray, cands: list[Candidate], phase: int | None, scale: float = 1.0) -> None:
        """On a screen drawn in another font the critic, which never saw it, scores right clicks
        low too (signin under theme: 0.05 for everything, threshold 0.45). A chunk whose first
        click's phrase is what the demos clicked at exactly this step (not a neighbouring one:
        settings' Auto-save, clicked again one step later, reads as a label of the step before)
        is raised to the threshold: the words vouch for its target, the critic still ranks."""
        if phase is None:
            return
        thr = self.bundle.abstain_threshold
        for c in cands:
            if c.score >= thr:
                continue
            own = [(img, m) for img, m in self.judging(c, phase) if int(m["phase"]) == phase]
            if self.reads_as(gray, c, own, scale):
                c.score, c.source = thr, f"{c.source}:words"

    def familiar(self, gray: np.ndarray, scale: float = 1.0) -> bool:
        """Does the screen draw labels as the demos saw them (same font family and size)? Under
        another theme no template reads a label reliably, so `unlike` must not judge there.
        Judged by the words the demos' first screens share (models/look.py: half of them found
        as they were; 40-130 ms at full resolution). Bundles from before them: is some
        demonstrated label found on the screen as it was (an empty field's bare frame passes
        under any font: docs/benchmarks.md, "Theme: colours or fonts")."""
        import cv2

        if self.look:
            return look.drawn_alike(gray, self.look, scale)
        for img, m in self.labels:
            f = scale / float(m.get("scale", 1.0))
            t = img if f == 1.0 else cv2.resize(img, (max(4, round(img.shape[1] * f)), max(4, round(img.shape[0] * f))))
            if not m.get("label_stable") or t.shape[1] >= gray.shape[1] or t.shape[0] >= gray.shape[0] or t.std() < 2.0:
                continue
            if float(np.abs(np.nan_to_num(cv2.matchTemplate(gray, t, cv2.TM_CCOEFF_NORMED))).max()) >= LABEL_STABLE:
                return True
        return False

    def decide(self, frame_rgb: np.ndarray, cursor, prev_actions, scale: float = 1.0, phase: int | None = None,
               n: int = 16, use_exemplars: bool = True, readable=None, gray: np.ndarray | None = None,
               avoid=()) -> list[Candidate]:
        """All candidates (at most n), best critic score first. phase: actions done so far.
        avoid: normalised points where a click of this run changed nothing at this phase; a chunk
        that clicks there first scores 0 (did_nothing) before the label check below looks down
        the ranking (after it, a refused dismissal came first unchecked: drag_file's lone Cancel).
        Where labels are readable (readable(gray), asked once per frame; None: `familiar` on this
        frame), a best candidate that
        clicks a widget unlike every demonstrated target of its phase (self.unlike) scores 0: the
        critic reads a small crop and can take Cancel in Move's place for Move, which a template
        of the demonstrated label does not."""
        image = codec.preprocess(frame_rgb)
        gray = codec.to_gray(frame_rgb) if gray is None else gray
        cands = self.candidates(image, gray, cursor, prev_actions, scale, phase, n, use_exemplars)
        self.score(image, gray, prev_actions, cands, scale, snap=False)
        if avoid:
            did_nothing(cands, avoid, (gray.shape[1] / scale, gray.shape[0] / scale))
        judged = []  # do templates read labels here? asked once per frame

        def templates_read() -> bool:
            if not judged:
                judged.append(readable(gray) if readable is not None else self.familiar(gray, scale))
            return judged[0]

        if not templates_read():
            self.endorse_by_words(gray, sorted(cands, key=lambda c: -c.score)[:ENDORSE_TOP], phase, scale)
        ranked = sorted(cands, key=lambda c: -c.score)

        for c in ranked:  # only the best is ever executed: check down the ranking until one passes
            why = None if c.score < self.bundle.abstain_threshold else \
                self.refusal(gray, c, phase, scale, templates_read)
            if why is None:
                break
            c.score, c.source = 0.0, f"{c.source}:{why}"
        return sorted(ranked, key=lambda c: -c.score)

