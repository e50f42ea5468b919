"""Episodes -> training samples: steps with their chunk, augmentation that moves the labels
along, and the critic's negatives. numpy + OpenCV (the nets' tensors are made in train.py).

A *step* is one action of a demonstration with the screen just before it; its chunk is that
action and the next chunk_size-1 ones (padded with done). Episodes whose outcome is failure
never become policy samples: they give the critic a negative: the chunk that starts with the
wrong action (meta "fumble_action" when the recorder or demonstrator knows it, else the first
action whose token differs from the demonstrations', else the last action: F8 is pressed
right after the mistake).
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recorder.episode import Episode, decision_frame, find_episodes
from recorder.errors import DeskactError, EpisodeError

from . import codec, removal
from .candidates import box_at, match_exemplars, snap_point, widget_boxes  # noqa: F401 (re-exported)

EXEMPLAR_WINDOW = (128, 40)  # logical pixels around a demonstrated pointer action not on a widget
EXEMPLAR_MARGIN = 3  # logical pixels kept around a widget's box
EXEMPLAR_MAX = (320, 80)  # larger boxes are not one widget


class DataError(DeskactError):
    pass


@dataclass
class Step:
    episode: int  # index into Data.episodes
    index: int  # position of the action in its episode's token sequence (its phase)
    small: np.ndarray  # (INPUT_H, INPUT_W, 3) uint8 RGB: codec.resize_input of the frame
    gray: np.ndarray  # (H, W) uint8 native-resolution grayscale frame (for crops)
    scale: float  # frame pixels per logical pixel
    screen: tuple  # logical (w, h)
    cursor: np.ndarray  # (2,) float32 normalised: where the previous pointer action left it
    prev: np.ndarray  # (HISTORY,) int64: tokens executed before, most recent first (codec.history)
    kinds: np.ndarray  # (K,) int64
    pos: np.ndarray  # (K, 4) float32
    frame_path: Path | None = None  # the native frame on disk (re-read for evaluation)
    target: np.ndarray | None = None  # (4,) normalised x0, y0, x1, y1 of the widget slot 0 acts on, if known
    right: np.ndarray | None = None  # failures: (4,) the widget slot 0 should have acted on, if known
    behind: tuple | None = None  # a dialog practice closed: (kinds, pos) of the workflow chunk it was in front of
    dismiss_at: np.ndarray | None = None  # failures: (4,) the button of the dialog slot 0 clicked behind (closing it was right)
    # (K,) bool: is the widget slot k acts on already on this screen (a form's next field), or
    # not yet (a menu's entry, shown by an earlier slot)? None: not known (no recorded rectangles)
    on_screen: np.ndarray | None = None

    def visible(self, k: int) -> bool:
        """Is slot k's widget on this screen (or not known)? Only then can the screen judge it."""
        return self.on_screen is None or bool(self.on_screen[k])

    def hit(self, xy, tol_px: float) -> bool:
        """Is a click at normalised xy right for slot 0? Inside the target widget when the episode
        knows its rectangle (meta "action_targets"), else within tol_px of the demonstrated click."""
        d = (np.asarray(xy[:2], dtype=np.float64) - self.pos[0, :2]) * np.array(self.screen)
        if float(np.hypot(*d)) <= tol_px:
            return True
        t = self.target
        return t is not None and bool(t[0] <= xy[0] <= t[2] and t[1] <= xy[1] <= t[3])

    def tol(self, px: float) -> np.ndarray:
        """A distance in logical pixels as normalised (x, y)."""
        return np.array([px / self.screen[0], px / self.screen[1]], dtype=np.float32)

    def as_if_done(self) -> "Step":
        """This screen with the history advanced by the step's own chunk: what the runtime sees
        when the chunk ran and changed nothing (a click where the target was erased, a miss).
        `done` is wrong there, and only the screen says so (the held-out evaluation checks it)."""
        toks = [int(t) for t in self.kinds if t != codec.DONE][::-1]
        prev = np.concatenate([np.array(toks, dtype=np.int64), self.prev])[:len(self.prev)]
        return dataclasses.replace(self, prev=prev)


@dataclass
class LoadedEpisode:
    path: Path
    outcome: str
    meta: dict
    tokens: list
    positions: list
    frames: list  # frame file name per action (None: no frame)
    episode: Episode
    role: str = "demo"  # "demo" (policy + critic positives) | "failure" (critic negatives)
    steps: list = field(default_factory=list)
    fail_from: int | None = None
    dialogs: list = field(default_factory=list)  # practice's dismissals of a real dialog: raw (row, action),
    # then Steps (dismiss, then the chunk; `behind` the chunk alone) for the critic (models/train.py)


def scan(paths, failure_paths=(), skip_bad: bool = False):
    """Find and load episodes -> (demos, failures, skipped [(path, reason)]). Without skip_bad the
    first bad episode raises its one-line error."""
    try:
        found = [(p, "demo") for p in find_episodes(paths)]
        found += [(p, "failure") for p in find_episodes(failure_paths)]
    except EpisodeError as e:
        raise DataError(str(e)) from None
    if not found:
        where = ", ".join(str(p) for p in list(paths) + list(failure_paths)) or "(none given)"
        raise DataError(f"no episodes found in {where} (an episode is a folder with meta.json)")
    demos, fails, skipped = [], [], []
    for path, role in found:
        try:
            ep = Episode.load(path)
            le = _tokenise(ep, role)
        except (DeskactError, OSError, ValueError, KeyError, TypeError) as e:
            msg = str(e) if isinstance(e, DeskactError) else f"{path}: unreadable episode ({type(e).__name__}: {e})"
            if not skip_bad:
                raise DataError(f"{msg} (use --skip-bad to train on the good episodes)") from None
            skipped.append((str(path), msg))
            continue
        (fails if le.role == "failure" else demos).append(le)
    return demos, fails, skipped


def _tokenise(ep: Episode, role: str) -> LoadedEpisode:
    rows = []
    # practice: the agent closing a dialog is not a step of the workflow, unless it was the wrong
    # action (then it is labelled as the dismissal it was)
    dismissed = set(ep.meta.get("dismissed_actions") or ())
    failed = ep.meta.get("failed_at_action")
    dialogs = []
    for a in ep.actions:
        if a.get("i") in dismissed:
            if a.get("i") != failed:
                dialogs.append((len(rows), a))  # right, but before the workflow step at rows[len(rows)]
                continue
            a = dict(a, dismiss=True)
        if a.get("kind") in ("scroll",) and not float(a.get("dy", 0) or 0):
            continue  # horizontal-only scroll: not in the vocabulary
        if a.get("kind") not in codec.FIXED_TOKENS + ("scroll", "key", "type"):
            continue
        rows.append(a)
    if not rows:
        raise EpisodeError(f"{ep.path}: empty episode (no actions{', cut off' if ep.truncated else ''})")
    if not any(r.get("frame") for r in rows):
        raise EpisodeError(f"{ep.path}: no frames for its actions (cut off before the first frame was written?)")
    outcome = ep.outcome
    if role == "demo" and outcome == "failure":
        role = "failure"
    if role == "failure" and outcome == "success":
        role = "demo"  # a successful practice run is a demonstration too
    s = ep.meta.get("screen", {})
    if not (isinstance(s, dict) and s.get("width") and s.get("height")):
        raise EpisodeError(f"{ep.path}: meta.json has no screen size")
    return LoadedEpisode(path=ep.path, outcome=outcome, meta=ep.meta, tokens=[], positions=[],
                         frames=[decision_frame(r) for r in rows], episode=ep, role=role,
                         steps=rows, dialogs=dialogs)  # steps and dialogs hold raw rows until build()


def build_vocab(episodes) -> codec.Vocab:
    return codec.Vocab.build(a for le in episodes for a in le.steps)


def build(le: LoadedEpisode, index: int, vocab: codec.Vocab, chunk_size: int, consensus=None) -> None:
    """Turn a scanned episode into steps (loads its frames). Raises EpisodeError on a corrupt frame."""
    rows = le.steps
    toks, poss, frames, ids = [], [], [], []
    tok_at = []  # per row: how many tokens come before it
    for a in rows:
        tok_at.append(len(toks))
        t = vocab.token(a)
        if t is None:
            continue
        toks.append(t)
        ids.append(a.get("i"))
        poss.append(codec.action_pos(a))
        frames.append(decision_frame(a))
    le.tokens, le.positions, le.frames = toks, poss, frames
    if le.role == "failure":
        le.fail_from = failure_index(le, consensus, ids)
    sw, sh = int(le.meta["screen"]["width"]), int(le.meta["screen"]["height"])
    rects = le.meta.get("action_targets") if isinstance(le.meta.get("action_targets"), dict) else {}
    cursor = _first_pointer(le.episode)
    cursors = []  # per token index: where the pointer was before it
    steps = []
    cache: dict[str, tuple] = {}

    def load(fname):
        if fname not in cache:
            try:
                rgb = codec.load_frame(le.episode.frame_path(fname))
            except codec.CodecError:
                raise EpisodeError(f"{le.path}: frame {fname} is corrupt") from None
            cache[fname] = (codec.resize_input(rgb), codec.to_gray(rgb), rgb.shape[1] / sw)
        return cache[fname]

    for j, (t, p, fname) in enumerate(zip(toks, poss, frames)):
        cursors.append(cursor)
        if fname:
            if le.role == "failure" and j != le.fail_from:
                pass  # only the chunk that starts with the wrong action is labelled (the runtime
                # re-checks each action before doing it; earlier chunks' first actions were fine)
            else:
                small, gray, scale = load(fname)
                kinds, pos = codec.encode_chunk(toks[j:], poss[j:], chunk_size)
                failed_here = le.role == "failure" and ids[j] == le.meta.get("failed_at_action")
                right = le.meta.get("right_target") if failed_here else None
                dismiss_at = le.meta.get("right_dismiss") if failed_here else None
                steps.append(Step(episode=index, index=j, small=small, gray=gray, scale=scale, screen=(sw, sh),
                                  cursor=np.array(cursor, dtype=np.float32), prev=codec.history(toks[:j], vocab.start),
                                  kinds=kinds, pos=pos, frame_path=le.episode.frame_path(fname),
                                  target=_norm_rect(rects.get(str(ids[j])), sw, sh), right=_norm_rect(right, sw, sh),
                                  dismiss_at=_norm_rect(dismiss_at, sw, sh)))
        if t in codec.POINTER_TOKENS:
            cursor = (p[2], p[3])
    cursors.append(cursor)
    if le.role == "demo":  # (a failed rollout's later frames are not read: one chunk of it is used)
        _mark_on_screen(steps, rects, ids, frames, load, sw, sh, chunk_size)
    dialogs = []
    for r, a in le.dialogs:
        j = tok_at[r] if r < len(rows) else len(toks)
        fname = decision_frame(a)
        if not fname or (le.role == "failure" and j > le.fail_from):
            continue  # a failed rollout's actions count as right only before its wrong one
        small, gray, scale = load(fname)
        behind = codec.encode_chunk(toks[j:], poss[j:], chunk_size)
        kinds, pos = codec.prepend(*behind, codec.DISMISS, codec.action_pos(a)[:2])
        dialogs.append(Step(episode=index, index=j, small=small, gray=gray, scale=scale, screen=(sw, sh),
                            cursor=np.array(cursors[j], dtype=np.float32), prev=codec.history(toks[:j], vocab.start),
                            kinds=kinds, pos=pos, frame_path=le.episode.frame_path(fname), behind=behind))
    le.dialogs = dialogs
    final = le.meta.get("final_frame")  # the screen once the workflow was over: the chunk is done
    if le.role == "demo" and le.outcome == "success" and isinstance(final, str) and le.episode.frame_path(final).exists():
        try:
            rgb = codec.load_frame(le.episode.frame_path(final))
        except codec.CodecError:
            raise EpisodeError(f"{le.path}: frame {final} is corrupt") from None
        kinds, pos = codec.encode_chunk([], [], chunk_size)
        steps.append(Step(episode=index, index=len(toks), small=codec.resize_input(rgb), gray=codec.to_gray(rgb),
                          scale=rgb.shape[1] / sw, screen=(sw, sh), cursor=np.array(cursor, dtype=np.float32),
                          prev=codec.history(toks, vocab.start), kinds=kinds, pos=pos,
                          frame_path=le.episode.frame_path(final)))
    le.steps = steps


def _mark_on_screen(steps, rects: dict, ids: list, frames: list, load, sw: int, sh: int, chunk_size: int) -> None:
    """Set each step's on_screen: slot k's widget (its recorded rectangle, on the frame slot k was
    decided on) looks the same on this step's frame. Augmentation that moves a screen's rows needs
    it: a form's next field moves with its row; a menu entry that the chunk's first click opens
    moves with that click, not with whatever row of the screen lies under it now."""
    for s in steps:
        if not 0 <= s.index < len(ids):
            continue
        flags = np.ones(chunk_size, dtype=bool)
        known = False
        _, gray, _ = load(frames[s.index])
        for k in range(1, min(chunk_size, len(ids) - s.index)):
            j = s.index + k
            r = _norm_rect(rects.get(str(ids[j])), sw, sh)
            if not frames[j] or r is None:
                continue
            known = True
            _, later, _ = load(frames[j])
            flags[k] = removal.same_pixels(gray, later, r)
        s.on_screen = flags if known else None


def _norm_rect(r, sw: int, sh: int) -> np.ndarray | None:
    """[x, y, w, h] logical px -> normalised (x0, y0, x1, y1), or None."""
    if not isinstance(r, (list, tuple)) or len(r) != 4:
        return None
    return np.array([r[0] / sw, r[1] / sh, (r[0] + r[2]) / sw, (r[1] + r[3]) / sh], dtype=np.float32)


def _first_pointer(ep: Episode) -> tuple[float, float]:
    w, h = ep.screen_size
    for e in ep.events:
        if e.get("x") is not None and e.get("y") is not None:
            return (float(np.clip(e["x"] / w, 0, 1)), float(np.clip(e["y"] / h, 0, 1)))
    return (0.5, 0.5)


def consensus_tokens(demos) -> list:
    seqs = Counter(tuple(le.tokens) for le in demos if le.tokens)
    return list(seqs.most_common(1)[0][0]) if seqs else []


def failure_index(le: LoadedEpisode, consensus, ids=None) -> int:
    """The token index of the first wrong action: the one meta.json names (by its action "i"),
    else the first that leaves the demonstrations' common sequence."""
    n = len(le.tokens)
    fa = le.meta.get("fumble_action")
    fa = le.meta.get("failed_at_action") if fa is None else fa
    if isinstance(fa, int) and ids is not None and fa in ids:
        return ids.index(fa)
    if isinstance(fa, int) and ids is None and 0 <= fa < n:
        return fa
    for j, t in enumerate(le.tokens):
        if consensus is not None and (j >= len(consensus) or consensus[j] != t):
            return j
    if consensus and n < len(consensus) and le.meta.get("source") == "practice":
        # practice judged every action it took right (it marks the first wrong one): the rollout
        # stopped short of the workflow, and no chunk of it is wrong
        return n
    return n - 1


# ----- widgets and exemplars -------------------------------------------------------------------
def native_crop(gray: np.ndarray, x: float, y: float, size) -> np.ndarray:
    """uint8 crop of `size` frame pixels centred on normalised (x, y), 1:1 (exemplars, labels)."""
    crop = codec.cut_crop(gray, x, y, 1.0, window=size, size=size)
    return np.clip(crop * 255 + 0.5, 0, 255).astype(np.uint8)


def exemplar_crop(gray: np.ndarray, x: float, y: float, scale: float, with_at: bool = False):
    """Native-resolution uint8 crop of the widget under normalised (x, y): its detected box and
    EXEMPLAR_MARGIN logical pixels around it, or EXEMPLAR_WINDOW centred on the point where no
    widget-sized box is found. Tight on purpose: what lies around a widget (its neighbours, the
    window's edge) is what a layout change moves, so it must not be what matching looks for.
    with_at: -> (crop, (x, y) of the point in the crop's pixels: where in a box that merged
    several widgets, a menu's entries, the click was; whether a box was found: the fixed window
    is what a list row or a menu entry gets)."""
    h, w = gray.shape[:2]
    box = box_at(widget_boxes(gray, scale), (x, y), (w / scale, h / scale), max_size=EXEMPLAR_MAX, largest=True)
    if box is None:
        ww, wh = round(EXEMPLAR_WINDOW[0] * scale), round(EXEMPLAR_WINDOW[1] * scale)
        cx, cy = x, y
    else:
        m = EXEMPLAR_MARGIN * scale
        ww, wh = round((box[2] - box[0]) * w + 2 * m), round((box[3] - box[1]) * h + 2 * m)
        cx, cy = float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2
    crop = native_crop(gray, cx, cy, (ww, wh))
    if not with_at:
        return crop
    return crop, (round(x * w - round(cx * w - ww / 2)), round(y * h - round(cy * h - wh / 2))), box is not None


# ----- augmentation ----------------------------------------------------------------------------
def random_affine(rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """A 2x3 map of normalised coordinates: a screen/window shift and a scale change (the
    resolution and theme-size changes a UI goes through)."""
    if rng.random() < 0.15 * strength + (1 - strength):
        return np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float64)
    s = np.exp(rng.uniform(np.log(0.8), np.log(1.25)) * strength)
    sx = s * np.exp(rng.uniform(-0.1, 0.1) * strength)
    sy = s * np.exp(rng.uniform(-0.1, 0.1) * strength)
    tx, ty = rng.uniform(-0.3, 0.3, size=2) * strength
    cx, cy = rng.uniform(0.2, 0.8, size=2)
    return np.array([[sx, 0, cx - sx * cx + tx], [0, sy, cy - sy * cy + ty]], dtype=np.float64)


def apply_affine_points(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """pts (..., 2) normalised -> transformed."""
    return pts @ m[:, :2].T + m[:, 2]


def invert_affine(m: np.ndarray) -> np.ndarray:
    """The 2x3 affine that undoes m."""
    return np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]


def warp_small(small: np.ndarray, m: np.ndarray) -> np.ndarray:
    import cv2

    if np.allclose(m, [[1, 0, 0], [0, 1, 0]]):
        return small
    W, H = codec.INPUT_W, codec.INPUT_H
    mp = m.copy()
    mp[0, 2] *= W
    mp[1, 2] *= H
    return cv2.warpAffine(small, mp, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


# Pixel noise is a random window of this fixed table: drawing fresh normals for every image took
# more time than all the rest of the colour augmentation.
_NOISE = np.random.default_rng(0).standard_normal(1 << 20, dtype=np.float32) * np.float32(0.015)


def content_box(img: np.ndarray, tol: int = 12) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) around what differs from the colour along the frame's edges (the desktop
    around the app's windows), or None when nothing does."""
    edges = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    ref = np.median(edges, axis=0)
    mask = (np.abs(img.astype(np.int16) - ref.astype(np.int16)) > tol).any(-1)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


TONE_LEVELS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def tone_curve(rng: np.random.Generator, dark: bool) -> np.ndarray:
    """Values at TONE_LEVELS of a random monotone curve over 0..1 (falling when dark): the
    greys of another theme, text keeping its contrast against its background."""
    v = np.sort(rng.uniform(0.0, 1.0, size=len(TONE_LEVELS)))
    v = 0.7 * TONE_LEVELS + 0.3 * (v - v[0]) / max(float(v[-1] - v[0]), 1e-6)  # bent, never flat
    lo, hi = rng.uniform(0.0, 0.3), rng.uniform(0.75, 1.0)
    v = lo + v * (hi - lo)
    return v[::-1] if dark else v


def window_theme(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) uint8 -> float32 0..1: the colours of a window under another theme, each
    channel through its own tone_curve (all light or all dark), so backgrounds, buttons,
    fields and text all change colour."""
    dark = rng.random() < 0.5
    out = np.empty(img.shape, np.float32)
    for c in range(3):
        lut = np.interp(np.arange(256) / 255.0, TONE_LEVELS, tone_curve(rng, dark)).astype(np.float32)
        out[..., c] = lut[img[..., c]]
    return out


def colour_jitter(img: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, H, W) float32 0..1 with theme-like colour changes: the app's
    windows recoloured (window_theme; the desktop around them stays), channel shuffle,
    inversion, grayscale, gain and bias, a little noise. Trained with whole-screen changes
    only, bundles met a dark or pastel window on the sandbox's black desktop with a dismissal
    (a dialog where there is none) or low scores for everything (docs/benchmarks.md,
    "Themed windows")."""
    x = img.astype(np.float32) * np.float32(1 / 255)
    if rng.random() < 0.8 * strength:
        if rng.random() < 0.3 and (box := content_box(img)) is not None:
            y0, y1, x0, x1 = box
            x[y0:y1, x0:x1] = window_theme(img[y0:y1, x0:x1], rng)
        if rng.random() < 0.5:
            x = x[..., rng.permutation(3)]
        if rng.random() < 0.15:
            x = 1.0 - x
        if rng.random() < 0.2:
            x = np.repeat(x.mean(-1, keepdims=True), 3, axis=-1)
        gain = rng.uniform(0.6, 1.4) * rng.uniform(0.85, 1.15, size=3)
        bias = rng.uniform(-0.15, 0.15) + rng.uniform(-0.05, 0.05, size=3)
        x = x * gain.astype(np.float32) + bias.astype(np.float32)
        start = int(rng.integers(len(_NOISE) - x.size + 1))
        x = x + _NOISE[start:start + x.size].reshape(x.shape)
        x = np.clip(x, 0.0, 1.0)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def rearrange_row(c: np.ndarray, rng: np.random.Generator, centre: int = 96, slide: int = 60) -> np.ndarray:
    """Layout-like augmentation of a row crop: what lies left and right of the widget under the
    pointer (its label, its neighbours) swaps sides and slides, the centre stays. A form's label
    may sit on either side of its field at any distance; without this the critic learns the one
    arrangement of the demonstrations and reads a moved label as a wrong target."""
    w = c.shape[1]
    a, b = (w - centre) // 2, (w + centre) // 2
    left, mid, right = c[:, :a], c[:, a:b], c[:, b:]
    if rng.random() < 0.5:
        left, right = right, left
    if rng.random() < 0.5:
        left = _slide(left, int(rng.integers(-slide, slide + 1)))
        right = _slide(right, int(rng.integers(-slide, slide + 1)))
    return np.concatenate([left, mid, right], axis=1)


def refill_widget(c: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Hover, press, focus and themes change the fill of the widget under the pointer (a person's
    demonstration shows the target hovered; the agent sees it before moving there): recolour the
    flat region around the crop's centre (flood fill) so the critic reads the widget's shape and
    text, not the state it was in when demonstrated. c: (h, w) float 0..1."""
    import cv2

    if rng.random() >= p:
        return c
    h, w = c.shape
    u8 = np.clip(c * 255 + 0.5, 0, 255).astype(np.uint8)
    for dx in (0, -6, 6, -14, 14, -24, 24):  # the centre may sit on a glyph of the widget's text
        mask = np.zeros((h + 2, w + 2), np.uint8)
        cv2.floodFill(u8, mask, (w // 2 + dx, h // 2), 0, loDiff=4, upDiff=4, flags=4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8))
        region = mask[1:-1, 1:-1] > 0
        if 40 <= region.sum() <= 0.5 * h * w:  # a widget's fill, not a glyph nor the window's background
            out = c.copy()
            fill = float(np.median(c[region]))
            shift = rng.uniform(0.1, 0.5) * (1 if rng.random() < 0.5 else -1)
            if not 0.0 <= fill + shift <= 1.0:
                shift = -shift
            out[region] = np.clip(fill + shift, 0.0, 1.0)
            return out
    return c


def _slide(x: np.ndarray, d: int) -> np.ndarray:
    """Move the columns of x by d (> 0: to the right), filling with the edge column."""
    if d > 0:
        return np.concatenate([np.repeat(x[:, :1], d, axis=1), x[:, :-d]], axis=1)
    if d < 0:
        return np.concatenate([x[:, -d:], np.repeat(x[:, -1:], -d, axis=1)], axis=1)
    return x


def crop_jitter(c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another theme's greys (tone_curve), inversion, contrast and noise of a critic crop."""
    if rng.random() < 0.3:
        c = np.interp(c, TONE_LEVELS, tone_curve(rng, rng.random() < 0.5)).astype(np.float32)
    if rng.random() < 0.3:
        c = 1.0 - c
    c = c * np.float32(rng.uniform(0.7, 1.3)) + np.float32(rng.uniform(-0.15, 0.15))
    return np.clip(c + rng.normal(0, 0.02, size=c.shape).astype(np.float32), 0, 1)


def shuffle_rows(step: Step, boxes: np.ndarray, rng: np.random.Generator):
    """Layout-like augmentation of a whole screen: the horizontal bands that hold its rows of
    widgets (detected boxes, labels included) are put in another order, as the layout change
    reorders a form's rows. Demos show one arrangement; without this the critic can learn where
    on the screen a right click lies instead of what it lands on. A band is only cut along a
    pixel row that crosses no more edges than the emptiest one (no text box, list or frame is
    cut through). -> (a copy of step with the new screen, ymap(normalised y) -> new y), or None."""
    g = step.gray
    h = g.shape[0]
    spans: list[list[int]] = []
    for y0, y1 in sorted((int(b[1] * h), int(np.ceil(b[3] * h))) for b in boxes if NegativeMaker.widget_sized(step, b)):
        if spans and y0 <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], y1)
        else:
            spans.append([y0, y1])
    if len(spans) < 2:
        return None
    e = np.abs(np.diff(g.astype(np.int16), axis=1)) > 24
    # like the emptiest row inside the window: its edges (the window's sides) and no other ones;
    # fewer is the desktop around it, others a dialog over it
    r0 = spans[0][0] + int(np.argmin(e[spans[0][0]:spans[-1][1]].sum(axis=1)))
    sides = np.convolve(e[r0], np.ones(5), mode="same") > 0
    even = (e.sum(axis=1) == e[r0].sum()) & ~(e & ~sides).any(axis=1)

    def cut_in(lo, hi, at=0.5):
        ys = np.flatnonzero(even[max(lo, 0):min(hi, h)]) + max(lo, 0)
        return int(ys[min(int(at * len(ys)), len(ys) - 1)]) if len(ys) else None

    cuts, top = [], cut_in(spans[0][0] - 40, spans[0][0], at=1.0)  # nearest the first row
    if top is not None:
        cuts.append(top)
    for a, b in zip(spans, spans[1:]):
        c = cut_in(a[1], b[0] + 1)
        if c is not None:
            cuts.append(c)
    bottom = cut_in(spans[-1][1], spans[-1][1] + 40, at=0.0)
    if bottom is not None:
        cuts.append(bottom)
    if len(cuts) < 3:
        return None
    cuts = np.array(cuts, dtype=np.float64) / h
    n = len(cuts) - 1
    order = rng.permutation(n)
    if (order == np.arange(n)).all():
        order = np.roll(order, 1)
    new_start = np.empty(n)
    new_start[order] = cuts[0] + np.concatenate([[0.0], np.cumsum(np.diff(cuts)[order])[:-1]])

    def permute(img):
        px = np.round(cuts * img.shape[0]).astype(int)
        out = img.copy()
        out[px[0]:px[-1]] = np.concatenate([img[px[i]:px[i + 1]] for i in order])
        return out

    def ymap(y):
        y = np.asarray(y, dtype=np.float64)
        i = np.clip(np.searchsorted(cuts, y, side="right") - 1, 0, n - 1)
        inside = (y >= cuts[0]) & (y < cuts[-1])
        return np.where(inside, y - cuts[i] + new_start[i], y).astype(np.float32)

    return dataclasses.replace(step, small=permute(step.small), gray=permute(step.gray), frame_path=None,
                               target=None), ymap


def rows_moved(step: Step, p: np.ndarray, ymap) -> np.ndarray:
    """A chunk's points (K, 4) on step's screen with its rows reordered by shuffle_rows: a point on
    a widget already on the screen moves with its row; one on a widget not there yet (a menu's
    entry, opened by the click before it) moves as the pointer action before it did, not with
    whatever row lies under it now."""
    q = p.copy()
    q[:, 1], q[:, 3] = ymap(p[:, 1]), ymap(p[:, 3])
    dy = 0.0
    for k in range(len(q)):
        if not step.visible(k):
            q[k, 1], q[k, 3] = p[k, 1] + dy, p[k, 3] + dy
        if step.kinds[k] in codec.POINTER_TOKENS:
            dy = float(q[k, 1] - p[k, 1])
    return q


def augmented_view(step: Step, rng: np.random.Generator, strength: float = 1.0, tries: int = 5):
    """One augmented (image (3,H,W) float32, cursor (2,), pos (K,4)) of a step; pointer labels move
    with the screen (an augmentation that would push one off screen is drawn again)."""
    ptr = np.isin(step.kinds, list(codec.POINTER_TOKENS))
    for _ in range(tries):
        m = random_affine(rng, strength)
        pos = step.pos.copy()
        pos[:, :2] = apply_affine_points(m, step.pos[:, :2])
        pos[:, 2:] = apply_affine_points(m, step.pos[:, 2:])
        pos[~ptr] = 0
        cur = apply_affine_points(m, step.cursor)
        if np.all((pos[ptr] > 0.004) & (pos[ptr] < 0.996)):
            return colour_jitter(warp_small(step.small, m), rng, strength), np.clip(cur, 0, 1).astype(np.float32), pos
    return colour_jitter(step.small, rng, strength), step.cursor.copy(), step.pos.copy()


# ----- critic negatives ------------------------------------------------------------------------
class NegativeMaker:
    """Negatives for a demonstrated step: a click moved onto another widget (detected boxes,
    other phases' click spots, the policy's own wrong peaks), onto a look-alike of its target, a
    wrong key or text, a wrong order, a chunk from another phase of the task, `done` too early,
    dismissing a dialog where there is none (models/interruptions.py). Dismissing gets two
    shares: with windows recoloured as other themes (colour_jitter), one left a D critic that
    took signin's Sign up for a dialog's button (docs/benchmarks.md, "Themed windows")."""

    KINDS = ("moved", "moved", "lookalike", "lookalike", "token", "order", "phase", "done", "dismiss", "dismiss")
    MERGED = 1.5  # a detected box this many times a recorded widget's area holds other widgets too

    def __init__(self, steps_by_episode: dict, vocab: codec.Vocab, tol_px: float = 12.0):
        self.by_ep = steps_by_episode
        self.vocab = vocab
        self.tol_px = tol_px
        self.boxes: dict[int, np.ndarray] = {}
        self.hard: dict[int, list] = {}  # id(step) -> wrong points the runtime would propose (policy peaks, exemplar matches)
        self._lookalikes: dict[tuple, list] = {}

    def lookalikes(self, step: Step, slot: int) -> list:
        """Widgets on the same screen that look like the target of a pointer slot (its exemplar
        crop matches them): the other entry field, "Sign up" beside "Sign in". Only what is
        around them (a label, a neighbour) tells them apart, which is what the critic must read."""
        key = (id(step), slot)
        if key not in self._lookalikes:
            x, y = float(step.pos[slot, 0]), float(step.pos[slot, 1])
            ex = [(exemplar_crop(step.gray, x, y, step.scale), {"scale": step.scale, "token": 0, "phase": 0})]
            found = match_exemplars(step.gray, ex, step.scale, per_exemplar=4, min_score=0.5)
            self._lookalikes[key] = [(m["x"], m["y"]) for m in found
                                     if self._outside_target(step, (m["x"], m["y"]), step.pos[slot, :2])]
        return self._lookalikes[key]

    def moved_to(self, step: Step, kinds, pos, slot: int, p, rng):
        """The chunk with pointer `slot` moved onto the widget at p (snapped to its centre, as the
        runtime does), or None when that is still the demonstrated target."""
        p = np.array(snap_point(self.boxes_on(step), p, step.screen))
        if not self._outside_target(step, p, step.pos[slot, :2]):
            return None
        pos[slot, :2] = np.clip(p + rng.uniform(-0.25, 0.25, 2) * step.tol(self.tol_px), 0, 1)
        if kinds[slot] != codec.DRAG:
            pos[slot, 2:] = pos[slot, :2]
        return kinds, pos

    def boxes_on(self, step: Step) -> np.ndarray:
        """The widget boxes of a screen, detected once per screen."""
        key = id(step.gray)
        if key not in self.boxes:
            self.boxes[key] = widget_boxes(step.gray, step.scale)
        return self.boxes[key]

    def _far(self, step: Step, p, q, factor: float = 2.0) -> bool:
        d = (np.asarray(p[:2]) - np.asarray(q[:2])) * np.array(step.screen)
        return float(np.hypot(*d)) > factor * self.tol_px

    def _outside_target(self, step: Step, p, truth) -> bool:
        """p is not on the widget at the true point: outside its recorded rectangle when the
        episode knows it (slot 0), else outside the smallest detected box around it. Detection
        sees a whole menu or list as one box, so without the rectangle no other entry or row of
        it ever became a negative, and critics scored "Delete" like "Rename…"."""
        rect = self._recorded_target(step, truth)
        if rect is not None:
            inside = rect[0] <= p[0] <= rect[2] and rect[1] <= p[1] <= rect[3]
            return not inside and self._far(step, p, truth, 1.0)
        b = self._box_around(step, truth)
        if b is not None and b[0] <= p[0] <= b[2] and b[1] <= p[1] <= b[3]:
            return False
        return self._far(step, p, truth)

    def _box_around(self, step: Step, xy) -> np.ndarray | None:
        """The smallest detected box that holds xy, if any."""
        boxes = self.boxes_on(step)
        inside = (boxes[:, 0] <= xy[0]) & (xy[0] <= boxes[:, 2]) & (boxes[:, 1] <= xy[1]) & (xy[1] <= boxes[:, 3])
        if not inside.any():
            return None
        return boxes[inside][np.argmin(((boxes[inside, 2:] - boxes[inside, :2]).prod(1)))]

    def _recorded_target(self, step: Step, truth) -> np.ndarray | None:
        """The recorded rectangle of slot 0's widget when `truth` is slot 0's point and inside it,
        and detection merged that widget with others (a box of more than MERGED times its area:
        a menu, a list). Where detection found the widget itself its box decides, as before
        rectangles were used: the signin critic of the end-to-end test, trained with rectangles
        everywhere, clicked the wrong field on both its seeds."""
        if step.target is None or not np.allclose(np.asarray(truth[:2], dtype=np.float64), step.pos[0, :2], atol=1e-6):
            return None
        t, xy = step.target, step.pos[0, :2]
        if not (t[0] <= xy[0] <= t[2] and t[1] <= xy[1] <= t[3]):
            return None
        b = self._box_around(step, xy)
        if b is not None and (b[2:] - b[:2]).prod() <= self.MERGED * (t[2:] - t[:2]).prod():
            return None
        return t

    def neighbours(self, step: Step, slot: int) -> list:
        """Where the widgets next to slot 0's recorded target would be: the entry above and below
        in a menu or list, the button left and right in a row. Detection merges these into one
        box with the target, so they are added as moved-click points explicitly."""
        rect = self._recorded_target(step, step.pos[slot, :2]) if slot == 0 else None
        if rect is None:
            return []
        (cx, cy), (w, h) = (rect[:2] + rect[2:]) / 2, rect[2:] - rect[:2]
        pts = [(cx, cy - h), (cx, cy + h), (cx - 1.1 * w, cy), (cx + 1.1 * w, cy)]
        return [p for p in pts if 0 <= p[0] <= 1 and 0 <= p[1] <= 1]

    def target_box(self, step: Step, xy) -> np.ndarray | None:
        """The smallest detected widget box around xy, if it is widget-sized (else None)."""
        b = self._box_around(step, xy)
        return b if b is not None and self.widget_sized(step, b) else None

    @staticmethod
    def widget_sized(step: Step, box) -> bool:
        """A normalised box at most 320x80 logical pixels (a button, a field, a row)."""
        w, h = (np.asarray(box[2:]) - np.asarray(box[:2])) * np.array(step.screen)
        return bool(w <= 320 and h <= 80)

    def positive_jitter(self, step: Step, rng: np.random.Generator) -> np.ndarray:
        """pos of the demonstrated chunk with each pointer moved within its widget (any click on the
        button is right; the runtime's candidates land on other spots of it than the demo did)."""
        pos = step.pos.copy()
        for k in range(len(step.kinds)):
            if step.kinds[k] not in codec.POINTER_TOKENS:
                continue
            # the runtime snaps candidates to the centre of the widget under them: so do positives
            p = np.array(snap_point(self.boxes_on(step), pos[k, :2], step.screen))
            p = p + rng.uniform(-0.25, 0.25, 2) * step.tol(self.tol_px)
            pos[k, :2] = np.clip(p, 0, 1)
            if step.kinds[k] != codec.DRAG:
                pos[k, 2:] = pos[k, :2]
        return pos

    def moved_points(self, step: Step, slot: int) -> list:
        truth = step.pos[slot, :2]
        pts = [tuple(((b[:2] + b[2:]) / 2).tolist()) for b in self.boxes_on(step)]
        for other in self.by_ep.get(step.episode, []):
            for k in range(len(other.kinds)):
                if other.kinds[k] in codec.POINTER_TOKENS:
                    pts.append(tuple(other.pos[k, :2].tolist()))
        pts += self.hard.get(id(step), []) * 3 + self.neighbours(step, slot) * 3
        return [p for p in pts if self._outside_target(step, p, truth)]

    def make(self, step: Step, rng: np.random.Generator, kind: str | None = None):
        """-> (kinds, pos) of a negative chunk for this step, or None if that kind does not apply."""
        kinds, pos = step.kinds.copy(), step.pos.copy()
        kind = kind or self.KINDS[rng.integers(len(self.KINDS))]
        ptr_slots = [k for k in range(len(kinds)) if kinds[k] in codec.POINTER_TOKENS]
        # a later action on a widget not on this screen yet (a menu's entry) cannot be judged from
        # it: this screen shows nothing that makes one place for it right and another wrong
        seen = [k for k in ptr_slots if step.visible(k)]
        if kind == "moved" and seen:
            slot = seen[0] if rng.random() < 0.8 else seen[rng.integers(len(seen))]
            hard = [p for p in self.hard.get(id(step), []) if self._outside_target(step, p, pos[slot, :2])]
            pts = hard if hard and slot == ptr_slots[0] and rng.random() < 0.6 else self.moved_points(step, slot)
            if pts and rng.random() < 0.85:
                p = pts[rng.integers(len(pts))]
                p = np.array(p) + rng.normal(0, 0.3, 2) * step.tol(self.tol_px)
            else:
                for _ in range(10):
                    p = rng.uniform(0.02, 0.98, 2)
                    if self._outside_target(step, p, pos[slot, :2]):
                        break
                else:
                    return None
            return self.moved_to(step, kinds, pos, slot, np.clip(p, 0, 1), rng)
        if kind == "lookalike" and seen:
            slot = seen[0] if rng.random() < 0.7 else seen[rng.integers(len(seen))]
            pts = self.lookalikes(step, slot)
            if not pts:
                return None
            return self.moved_to(step, kinds, pos, slot, np.asarray(pts[rng.integers(len(pts))]), rng)
        if kind == "token":
            slots = [k for k in range(len(kinds)) if kinds[k] != codec.DONE] or [0]
            slot = slots[rng.integers(len(slots))]
            alt = [t for t in range(len(self.vocab)) if t != kinds[slot]]
            same_family = [t for t in alt if self.vocab.tokens[t].split(":")[0] == self.vocab.tokens[kinds[slot]].split(":")[0]]
            pool = same_family if (same_family and rng.random() < 0.7) else alt
            if not pool:
                return None
            t = pool[rng.integers(len(pool))]
            kinds[slot] = t
            if t in codec.POINTER_TOKENS and not pos[slot].any():
                pos[slot] = np.tile(rng.uniform(0.05, 0.95, 2), 2)
            if t not in codec.POINTER_TOKENS:
                pos[slot] = 0
            return kinds, pos
        if kind == "order":
            n = int((kinds != codec.DONE).sum())
            pairs = [(a, b) for a in range(n) for b in range(a + 1, n) if kinds[a] != kinds[b] or self._far(step, pos[a], pos[b])]
            if not pairs:
                return None
            a, b = pairs[rng.integers(len(pairs))]
            kinds[[a, b]], pos[[a, b]] = kinds[[b, a]], pos[[b, a]]
            return kinds, pos
        if kind == "dismiss":
            # a `dismiss` on a screen with no dialog: at the demonstrated target or another widget
            boxes = self.boxes_on(step)
            if ptr_slots and (rng.random() < 0.5 or not len(boxes)):
                p = pos[ptr_slots[0], :2].copy()
            elif len(boxes):
                b = boxes[rng.integers(len(boxes))]
                p = (b[:2] + b[2:]) / 2
            else:
                return None
            return codec.prepend(kinds, pos, codec.DISMISS, p)
        if kind == "done":
            # stopping early: `done` on a screen where the workflow still has work to do (a last
            # click that changed nothing leaves such a screen; the agent must not call it done)
            if (kinds == codec.DONE).all():
                return None
            return np.full_like(kinds, codec.DONE), np.zeros_like(pos)
        if kind == "phase":
            others = [o for o in self.by_ep.get(step.episode, []) if o.index != step.index and not self._same(step, o)]
            if not others:
                return None
            o = others[rng.integers(len(others))]
            return o.kinds.copy(), o.pos.copy()
        return None

    def _same(self, a: Step, b: Step) -> bool:
        if not np.array_equal(a.kinds, b.kinds):
            return False
        ptr = np.isin(a.kinds, list(codec.POINTER_TOKENS))
        return not any(self._far(a, a.pos[k], b.pos[k], 1.0) for k in np.flatnonzero(ptr))

    def negatives(self, step: Step, rng: np.random.Generator, n: int) -> list:
        """-> [(kinds, pos, kind of negative)]"""
        out = []
        for _ in range(n * 4):
            kind = self.KINDS[rng.integers(len(self.KINDS))]
            r = self.make(step, rng, kind)
            if r is not None:
                out.append((*r, kind))
                if len(out) == n:
                    break
        return out
