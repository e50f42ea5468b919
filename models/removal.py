"""Demonstrated screens with a widget the episode clicks (now or later) erased: the impossible
case, made from every demonstration (models/train.py, critic only).

Why: "Sign in" and its look-alike "Sign up" sit in one row, so the crop around either shows
both. From demonstrations alone a critic can learn "the button with Sign in beside it is wrong"
as well as "the button reading Sign up is wrong"; which one it learns changes with the
recording and the seed, and only the second holds when Sign in is gone. Worse, a lone "Sign up"
looks like a notice's one button, and the critic passed dismissing it (measured: 8 of 8 wrong
clicks on one recording; docs/benchmarks.md). On a screen without the target, clicking or
dismissing its look-alikes is wrong, and so is the demonstrated chunk if it acts there.
An app does not leave a gap where an item is missing: a menu, a list or a row closes up
(`close_up`), so the click at the old place lands on the neighbour.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import codec

PAD_PX = 3  # logical pixels erased around the box: its frame and focus ring too


def _fill(img: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """Paint img[y0:y1, x0:x1] (in place) with the median colour of the ring just outside it."""
    H, W = img.shape[:2]
    a, b, c, d = max(0, x0 - 2), max(0, y0 - 2), min(W, x1 + 2), min(H, y1 + 2)
    ring = np.concatenate([img[b:y0, a:c].reshape(-1, *img.shape[2:]), img[y1:d, a:c].reshape(-1, *img.shape[2:]),
                           img[b:d, a:x0].reshape(-1, *img.shape[2:]), img[b:d, x1:c].reshape(-1, *img.shape[2:])])
    if len(ring):
        img[y0:y1, x0:x1] = np.median(ring, axis=0).astype(img.dtype)


def erase(step, box) -> object:
    """A copy of a dataset Step with the normalised box (x0, y0, x1, y1) painted over with the
    background around it, in the policy image and the native grayscale alike."""
    gray, small = step.gray.copy(), step.small.copy()
    erase_array(gray, box, PAD_PX * step.scale)
    erase_array(small, box, PAD_PX * step.scale * small.shape[1] / gray.shape[1])
    return dataclasses.replace(step, small=small, gray=gray, frame_path=None)


def erase_array(img: np.ndarray, box, pad: float) -> np.ndarray:
    """Paint the normalised box, grown by `pad` pixels of img, with the colour around it (in place)."""
    box = np.asarray(box, dtype=np.float64)
    H, W = img.shape[:2]
    x0, x1 = int(np.floor(box[0] * W - pad)), int(np.ceil(box[2] * W + pad))
    y0, y1 = int(np.floor(box[1] * H - pad)), int(np.ceil(box[3] * H + pad))
    _fill(img, max(0, x0), max(0, y0), min(W, x1), min(H, y1))
    return img


def close_up(step, box, axis: int, reach: float = 3.0):
    """A copy of a dataset Step with the box erased and what follows it along `axis` (0: to its
    right, 1: below it) moved into its place, as a menu, a list or a grid row closes up when an
    item is not there ("Delete" where "Rename…" was, "Sign up" where "Sign in" was): what the
    demonstrated click at the old place meets in the impossible case. Only the strip across the
    box moves, `reach` box sizes of it, by the box's size and the gap after it (the next item
    starts where the box did). -> (the new step, move(normalised points) -> points)."""
    box = np.asarray(box, dtype=np.float64)
    lo, hi = box[2 + axis], min(1.0, box[2 + axis] + reach * (box[2 + axis] - box[axis]))
    shift = (box[2 + axis] - box[axis]) + _gap(step.gray, box, axis, lo, hi)
    gray, small = step.gray.copy(), step.small.copy()
    for img, pad in ((gray, PAD_PX * step.scale), (small, PAD_PX * step.scale * small.shape[1] / gray.shape[1])):
        erase_array(img, box, pad)
        n, m = img.shape[1 - axis], img.shape[axis]  # pixels along the axis, across it
        a, b, d = int(round(lo * n)), int(round(hi * n)), int(round(shift * n))
        c0, c1 = max(0, int(np.floor(box[1 - axis] * m - pad))), min(m, int(np.ceil(box[3 - axis] * m + pad)))
        if b - a < 1 or d < 1 or c1 <= c0 or a - d < 0:
            continue
        band = img[c0:c1] if axis == 0 else img[:, c0:c1].swapaxes(0, 1)  # a view: (across, along, ...)
        band[:, a - d:b - d] = band[:, a:b].copy()
        # the strip the moved pixels left: the background around it
        left = np.array([(b - d) / n, c0 / m, b / n, c1 / m])
        erase_array(img, left if axis == 0 else left[[1, 0, 3, 2]], 0)

    def move(pts):
        q = np.array(pts, dtype=np.float32, copy=True)
        along, across = q[..., axis], q[..., 1 - axis]
        inside = (across >= box[1 - axis]) & (across <= box[3 - axis]) & (along >= lo) & (along < hi)
        q[..., axis] = np.where(inside, along - shift, along)
        return q

    return dataclasses.replace(step, small=small, gray=gray, frame_path=None), move


def _gap(gray: np.ndarray, box, axis: int, lo: float, hi: float, tol: int = 24) -> float:
    """Normalised space between the box and the next item along `axis` in its strip, measured as
    where the next item's drawing starts after the box minus where the box's own starts inside
    it (menu entries touch; buttons in a row have a gap). At most the box's size."""
    n, m = gray.shape[1 - axis], gray.shape[axis]
    a0, a, b = int(box[axis] * n), int(round(lo * n)), int(round(hi * n))
    c0, c1 = int(box[1 - axis] * m), int(np.ceil(box[3 - axis] * m))
    band = (gray[c0:c1, a0:b] if axis == 0 else gray[a0:b, c0:c1].T).astype(np.int16)
    if band.size == 0 or b <= a:
        return 0.0
    drawn = (np.abs(band - np.median(band)) > tol).any(axis=0)
    inner, after = np.flatnonzero(drawn[:a - a0]), np.flatnonzero(drawn[a - a0:])
    if not len(after):
        return 0.0
    gap = after[0] - (inner[0] if len(inner) else 0)
    return float(np.clip(gap, 0, a - a0) / n)


def box_of(step, negmaker):
    """The widget the step's first pointer action acts on (its recorded rectangle, else the
    detected box under it), if widget-sized; else None."""
    if step.kinds[0] not in codec.POINTER_TOKENS:
        return None
    if step.target is not None and negmaker.widget_sized(step, step.target):
        return step.target
    return negmaker.target_box(step, step.pos[0, :2])


def pick(step, negmaker, rng: np.random.Generator):
    """-> (the step whose target is erased, its box) or None: the widget the first pointer action
    of this step, or of a later step of its episode, acts on (chosen at random), if it is
    widget-sized and already on this screen (its pixels match)."""
    later = [o for o in negmaker.by_ep.get(step.episode, [step]) if o.index >= step.index and
             o.kinds[0] in codec.POINTER_TOKENS]
    if step.kinds[0] in codec.POINTER_TOKENS and not any(o is step for o in later):
        later.insert(0, step)
    for i in rng.permutation(len(later)):
        o = later[int(i)]
        box = box_of(o, negmaker)
        if box is not None and (o is step or same_pixels(step.gray, o.gray, box)):
            return o, box
    return None


def acts_in(step, box) -> list:
    """The slots of the step's chunk whose pointer lands in the normalised box."""
    return [k for k in range(len(step.kinds)) if step.kinds[k] in codec.POINTER_TOKENS
            and box[0] <= step.pos[k, 0] <= box[2] and box[1] <= step.pos[k, 1] <= box[3]]


def same_pixels(a: np.ndarray, b: np.ndarray, box, tol: float = 6.0) -> bool:
    """Do two grey frames show the same thing in the normalised box? (Mean grey-level difference
    under tol: 0.0 where a widget is on both, 15 or more where another widget or a blank is.)"""
    if a.shape != b.shape:
        return False
    H, W = a.shape
    x0, x1 = int(box[0] * W), int(np.ceil(box[2] * W))
    y0, y1 = int(box[1] * H), int(np.ceil(box[3] * H))
    pa, pb = a[y0:y1, x0:x1].astype(np.int16), b[y0:y1, x0:x1].astype(np.int16)
    return pa.size > 0 and float(np.abs(pa - pb).mean()) < tol
