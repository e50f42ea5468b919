"""How the demos' app draws its text: words cut from the demos' first screens, which the runtime
looks for on a run's screens to tell whether the app still draws text as it did in the demos
(same font family and size) before it lets the label check judge (models.candidates.Decider.familiar).

The labels of demonstrated clicks cannot tell: the first target is often an empty entry field,
whose label is a bare frame that looks the same under every font (b36's theme runs passed the
check on one, and the label check then refused right clicks it could not read). Words are what a
font changes. numpy + OpenCV only (the runtime imports this).
"""
from __future__ import annotations

import numpy as np

WORD_H = (7, 30)  # logical px: the height of a word's box
WORD_W = (14, 160)  # ... and its width
WORDS = 6  # kept in a bundle: enough to survive a popup over some, few enough to stay cheap
SAME = 0.85  # |NCC| at which a word counts as drawn the same (models.candidates.LABEL_STABLE)


def _ink(gray: np.ndarray) -> np.ndarray:
    """Strokes that stand out from their surroundings, without the straight lines of frames."""
    import cv2

    g = gray.astype(np.int16)
    ink = (np.abs(g - cv2.medianBlur(gray, 15).astype(np.int16)) > 40).astype(np.uint8)
    lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, 40), np.uint8)) | \
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((25, 1), np.uint8))
    return ink & (1 - lines)


def words(gray: np.ndarray, scale: float = 1.0, limit: int = 4 * WORDS) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) in native pixels of word-like blobs of ink (letters joined sideways),
    the widest first: long words tell fonts apart best."""
    import cv2

    ink = _ink(gray)
    joined = cv2.dilate(ink, np.ones((1, max(3, round(5 * scale))), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    out = []
    for x, y, w, h, _ in stats[1:]:
        if not (WORD_H[0] * scale <= h <= WORD_H[1] * scale and WORD_W[0] * scale <= w <= WORD_W[1] * scale):
            continue
        if ink[y:y + h, x:x + w].mean() < 0.08:
            continue
        out.append((int(x), int(y), int(w), int(h)))
    out.sort(key=lambda b: -b[2])
    return out[:limit]


def cut(gray: np.ndarray, box, pad: int = 2) -> np.ndarray:
    x, y, w, h = box
    return gray[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad].copy()


def found(gray: np.ndarray, img: np.ndarray, f: float = 1.0) -> float:
    """Best |NCC| of a word image (resized by f: the screen's pixels per the word's) on a frame."""
    import cv2

    t = img if f == 1.0 else cv2.resize(img, (max(4, round(img.shape[1] * f)), max(4, round(img.shape[0] * f))))
    if t.shape[0] >= gray.shape[0] or t.shape[1] >= gray.shape[1] or float(t.std()) < 2.0:
        return 0.0
    return float(np.abs(np.nan_to_num(cv2.matchTemplate(gray, t, cv2.TM_CCOEFF_NORMED))).max())


def common_words(firsts: list[tuple[np.ndarray, float]], keep: int = WORDS, share: float = 2 / 3) -> list[tuple[np.ndarray, float]]:
    """Words of the demos' first screens `firsts` [(gray, scale)] that at least `share` of them
    draw the same (not a typed text, nor a clock): at most `keep` [(image, scale)], widest first
    from the first screen, then from the next ones if it had too few."""
    out: list[tuple[np.ndarray, float]] = []
    for g0, s0 in firsts:
        for box in words(g0, s0):
            img = cut(g0, box)
            if any(o.shape == img.shape and found(img, o) >= 0.97 for o, _ in out):
                continue
            if sum(found(g, img, s / s0) >= SAME for g, s in firsts) >= share * len(firsts):
                out.append((img, s0))
                if len(out) == keep:
                    return out
    return out


def drawn_alike(gray: np.ndarray, imgs: list[tuple[np.ndarray, float]], scale: float = 1.0) -> bool:
    """Does this screen draw at least half of the words [(image, its scale)] as they were? A
    popup may hide some, another font all of them."""
    need = (len(imgs) + 1) // 2
    hits = 0
    for i, (img, s) in enumerate(imgs):
        hits += found(gray, img, scale / s) >= SAME
        if hits >= need:
            return True
        if hits + len(imgs) - i - 1 < need:
            return False
    return False


def line_offset(img: np.ndarray, mid: float | None = None, gap: int = 1, reach: float = 0.3) -> float | None:
    """Pixels from `mid` (default: the crop's middle row) down to the middle of the line of text
    nearest to it; None if no line lies within `reach` of the crop's height (a click beside the
    text, in a row's blank end, or on no text at all). A crop around a demonstrated click on a
    list row is centred where the person clicked, often at the row's edge; the row they meant is
    the line nearest the click, and a click found by that crop lands on that line's middle
    instead of between two rows (models.candidates.line_centre)."""
    rows = np.flatnonzero(_ink(img).sum(axis=1) >= 2)
    if not len(rows):
        return None
    breaks = np.flatnonzero(np.diff(rows) > gap + 1)
    starts, ends = np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]]
    centres = (starts + ends) / 2.0
    mid = (img.shape[0] - 1) / 2.0 if mid is None else float(mid)
    off = float(centres[np.argmin(np.abs(centres - mid))] - mid)
    return off if abs(off) <= reach * img.shape[0] else None
