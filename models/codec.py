"""Actions <-> tensors, the vocabulary tables and the image preprocessing shared by training and
the runtime. numpy + OpenCV only: `pip install deskact` (no torch) imports this.

Everything the runtime must do exactly as training did lives here, in one place:
`preprocess` (screen -> policy/critic image), `cut_crop` / `chunk_crops` (native-resolution
crops the critic checks), `encode_chunk` / `decode_chunk`, and the cell grid of the pointer head.

Vocabulary (action tokens, one flat list; saved in bundle.json as "vocab"):

    0 done   1 click   2 double_click   3 right_click   4 middle_click   5 drag
    6 scroll_up   7 scroll_down   8 dismiss   then "key:<combo>" for each key combo of the
    demos, then "type:<text>" for each typed text (by index: typed texts may become run-time
    variables).

    `dismiss` is a click that closes an interruption (a notice dialog over the workflow); it is
    not a step of the workflow, so the runtime keeps it out of the history the models see.
    Demonstrations never contain it: the trainer learns it from synthetic dialogs
    (models/interruptions.py).

    START = len(vocab) pads `prev_actions` (the last HISTORY executed tokens, most recent first)
    before anything was done: see `history`.

Coordinates are normalised to the screen (0..1). A chunk is `chunk_size` consecutive actions
(padded with `done`): kinds (K,) int64 token ids and pos (K, 4) float32 = (x, y, x2, y2); x2, y2
is the drop point of a drag and equals x, y otherwise; non-pointer actions have pos = 0.

ONNX signatures (B is dynamic; K = chunk_size, V = len(vocab), N = GRID_H * GRID_W cells,
P = crop_slots; every float is float32, every id int64):

policy.onnx
    inputs   image        (B, 3, 160, 256)  RGB 0..1 from `preprocess`
             cursor       (B, 2)            pointer position, normalised (where the agent left it)
             prev_actions (B, 3)            the last 3 executed tokens, most recent first,
                                            START-padded (`history`)
    outputs  kind_logits  (B, K, V)         action token scores per chunk slot
             point_logits (B, K, N)         pointer scores over image cells (row-major 20x32)
             point_offset (B, K, N, 2)      where in each cell, in cell units (-0.5..0.5)
             end_logits   (B, K, N)         drag drop point scores
             end_offset   (B, K, N, 2)
    A pointer position = cell centre + offset: see `cell_to_xy`.

critic.onnx
    inputs   image        (1 or B, 3, 160, 256)  the same preprocessed screen (1 = shared by all)
             prev_actions (B, 3)
             kinds        (B, K)            candidate chunk tokens
             pos          (B, K, 4)         candidate positions (x, y, x2, y2), normalised
             crops        (M, 1, 32, 448)   grayscale 0..1 native-resolution crops around the
                                            pointers of slots 0..P-1 of all candidates, only where
                                            a slot is a pointer action; crops[0] is blank
             crop_index   (B, P)            which crop each slot has (0: none) (`chunk_crops`)
    outputs  score        (B,)              probability that the chunk keeps the workflow on
                                            track; abstain when the best is under
                                            bundle.json "abstain_threshold"
"""
from __future__ import annotations

import numpy as np

# ----- fixed sizes (stored in bundle.json too; the runtime reads them from there) -------------
INPUT_W, INPUT_H = 256, 160  # policy/critic image size (1280x800 / 5)
HISTORY = 3  # executed tokens the models see (prev_actions)
CELL = 8  # pixels of the input per pointer cell
GRID_W, GRID_H = INPUT_W // CELL, INPUT_H // CELL  # 32 x 20 cells
CROP_WINDOW = (448, 32)  # logical pixels around a pointer action the critic looks at closely (its row)
CROP_SIZE = (448, 32)  # (w, h) of that crop: native resolution, labels readable

FIXED_TOKENS = ("done", "click", "double_click", "right_click", "middle_click", "drag", "scroll_up", "scroll_down",
                "dismiss")
DONE = 0
POINTER_TOKENS = frozenset(range(1, 9))  # contiguous: the models test 1 <= token <= max
DRAG = FIXED_TOKENS.index("drag")
CLICK = FIXED_TOKENS.index("click")
DISMISS = FIXED_TOKENS.index("dismiss")


class CodecError(ValueError):
    """An action or table that cannot be encoded."""


# ----- vocabulary ------------------------------------------------------------------------------
class Vocab:
    """The flat token list: fixed kinds, then key combos, then typed texts (see module doc)."""

    def __init__(self, keys=(), texts=()):
        self.keys = list(dict.fromkeys(keys))
        self.texts = list(dict.fromkeys(texts))
        self.tokens = list(FIXED_TOKENS) + [f"key:{k}" for k in self.keys] + [f"type:{t}" for t in self.texts]
        self._index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.tokens == other.tokens

    @property
    def start(self) -> int:
        """Pads `prev_actions` before anything was done."""
        return len(self.tokens)

    @classmethod
    def build(cls, actions) -> "Vocab":
        keys, texts = [], []
        for a in actions:
            if a.get("kind") == "key" and a.get("combo"):
                keys.append(str(a["combo"]))
            elif a.get("kind") == "type" and a.get("text") is not None:
                texts.append(str(a["text"]))
        return cls(sorted(set(keys)), sorted(set(texts)))

    def to_json(self) -> dict:
        return {"tokens": self.tokens, "keys": self.keys, "texts": self.texts}

    @classmethod
    def from_json(cls, d: dict) -> "Vocab":
        v = cls(d.get("keys", ()), d.get("texts", ()))
        if "tokens" in d and list(d["tokens"]) != v.tokens:
            raise CodecError("vocabulary tokens do not match its key and text tables")
        return v

    def token(self, action: dict) -> int | None:
        """Token id of an episode action (actions.jsonl row), or None if it has none (a
        horizontal-only scroll, a key or text not in the tables)."""
        kind = action.get("kind")
        if action.get("dismiss"):
            return DISMISS
        if kind == "scroll":
            dy = float(action.get("dy", 0) or 0)
            if dy == 0:
                return None
            return FIXED_TOKENS.index("scroll_up" if dy > 0 else "scroll_down")
        if kind == "key":
            return self._index.get(f"key:{action.get('combo')}")
        if kind == "type":
            return self._index.get(f"type:{action.get('text')}")
        if kind in FIXED_TOKENS and kind not in ("done", "dismiss"):
            return FIXED_TOKENS.index(kind)
        if kind == "done":
            return DONE
        return None

    def name(self, token: int) -> str:
        return "start" if token == self.start else self.tokens[int(token)]

    def is_pointer(self, token: int) -> bool:
        return int(token) in POINTER_TOKENS

    def action(self, token: int, pos=(0.0, 0.0, 0.0, 0.0), scroll_clicks: int = 3) -> dict:
        """Token + position -> an action dict in the episode's vocabulary (normalised x, y)."""
        name = self.tokens[int(token)]
        x, y, x2, y2 = (float(v) for v in pos)
        if name.startswith("key:"):
            return {"kind": "key", "combo": name[4:]}
        if name.startswith("type:"):
            return {"kind": "type", "text": name[5:], "text_id": self.texts.index(name[5:])}
        if name == "done":
            return {"kind": "done"}
        if name == "dismiss":  # executed as a plain click; the flag keeps it out of the history
            return {"kind": "click", "x": x, "y": y, "dismiss": True}
        if name in ("scroll_up", "scroll_down"):
            return {"kind": "scroll", "x": x, "y": y, "dx": 0, "dy": scroll_clicks if name == "scroll_up" else -scroll_clicks}
        a = {"kind": name, "x": x, "y": y}
        if name == "drag":
            a.update(x2=x2, y2=y2)
        return a


def history(done_tokens, start: int, n: int = HISTORY) -> np.ndarray:
    """Tokens executed so far (oldest first) -> (n,) int64, most recent first, START-padded."""
    last = [int(t) for t in list(done_tokens)[-n:]][::-1]
    return np.array(last + [start] * (n - len(last)), dtype=np.int64)


# ----- chunks ------------------------------------------------------------------------------------
def action_pos(action: dict) -> tuple[float, float, float, float]:
    """(x, y, x2, y2) normalised, clipped to 0..1; zeros for actions without a position."""
    if action.get("x") is None or action.get("y") is None:
        return (0.0, 0.0, 0.0, 0.0)
    x, y = float(action["x"]), float(action["y"])
    x2 = float(action["x2"]) if action.get("x2") is not None else x
    y2 = float(action["y2"]) if action.get("y2") is not None else y
    return tuple(float(np.clip(v, 0.0, 1.0)) for v in (x, y, x2, y2))


def encode_chunk(tokens, positions, chunk_size: int):
    """The next `chunk_size` (token, pos) pairs, padded with done -> kinds (K,), pos (K, 4)."""
    kinds = np.full((chunk_size,), DONE, dtype=np.int64)
    pos = np.zeros((chunk_size, 4), dtype=np.float32)
    for k, (t, p) in enumerate(zip(tokens[:chunk_size], positions[:chunk_size])):
        kinds[k] = int(t)
        if int(t) in POINTER_TOKENS:
            pos[k] = p
    return kinds, pos


def prepend(kinds, pos, token: int, xy) -> tuple[np.ndarray, np.ndarray]:
    """The chunk with a pointer action `token` at normalised xy put first (its last slot drops
    off): a dismissal, then what the chunk was going to do."""
    k = np.concatenate([[token], np.asarray(kinds)[:-1]]).astype(np.int64)
    p = np.concatenate([np.zeros((1, 4), np.float32), np.asarray(pos, np.float32)[:-1]]).astype(np.float32)
    p[0] = (xy[0], xy[1], xy[0], xy[1])
    return k, p


def decode_chunk(kinds, pos, vocab: Vocab, scroll_clicks: int = 3) -> list[dict]:
    """kinds (K,), pos (K, 4) -> actions, stopping after the first done (included)."""
    out = []
    for t, p in zip(np.asarray(kinds).tolist(), np.asarray(pos, dtype=np.float64)):
        out.append(vocab.action(t, p, scroll_clicks))
        if t == DONE:
            break
    return out


# ----- the pointer grid --------------------------------------------------------------------------
def xy_to_cell(x: float, y: float) -> tuple[int, float, float]:
    """Normalised (x, y) -> (cell index, offset x, offset y) with offsets in cell units (-0.5..0.5)."""
    gx = float(np.clip(x, 0.0, 1.0 - 1e-6)) * GRID_W
    gy = float(np.clip(y, 0.0, 1.0 - 1e-6)) * GRID_H
    c, r = int(gx), int(gy)
    return r * GRID_W + c, gx - c - 0.5, gy - r - 0.5


def cell_to_xy(cell, offset=(0.0, 0.0)) -> tuple[float, float]:
    """Cell index (+ offset in cell units) -> normalised (x, y)."""
    r, c = divmod(int(cell), GRID_W)
    return (c + 0.5 + float(offset[0])) / GRID_W, (r + 0.5 + float(offset[1])) / GRID_H


def top_cells(logits, k: int = 5, min_dist: int = 2) -> list[int]:
    """The k best cells of (N,) pointer scores with non-maximum suppression: cells closer than
    `min_dist` (Chebyshev, in cells) to a better one are skipped."""
    order = np.argsort(-np.asarray(logits, dtype=np.float64), kind="stable")
    picked: list[int] = []
    for n in order.tolist():
        r, c = divmod(n, GRID_W)
        if all(max(abs(r - pr), abs(c - pc)) >= min_dist for pr, pc in (divmod(p, GRID_W) for p in picked)):
            picked.append(n)
            if len(picked) == k:
                break
    return picked


# ----- images ------------------------------------------------------------------------------------
def to_rgb(frame: np.ndarray, channel_order: str = "RGB") -> np.ndarray:
    """(H, W, 3|4) uint8 in RGB, BGR or BGRA (mss) -> (H, W, 3) uint8 RGB."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
        raise CodecError(f"a frame must be (H, W, 3|4) uint8, got {frame.shape} {frame.dtype}")
    if channel_order.upper().startswith("BGR"):
        import cv2

        base = frame.base if frame.shape[2] == 3 and frame.strides[1] == 4 else None
        if isinstance(base, np.ndarray) and base.shape == frame.shape[:2] + (4,) and base.flags.c_contiguous:
            frame = base  # mss's BGRA screenshot seen through a BGR view: converting it whole is 50x faster
        if frame.flags.c_contiguous:
            return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB if frame.shape[2] == 4 else cv2.COLOR_BGR2RGB)
        return np.ascontiguousarray(frame[..., 2::-1])
    return np.ascontiguousarray(frame[..., :3])


def load_frame(path) -> np.ndarray:
    """A PNG/JPEG screenshot -> (H, W, 3) uint8 RGB. Raises CodecError if unreadable."""
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise CodecError(f"{path}: not a readable image")
    return np.ascontiguousarray(img[..., ::-1])


def resize_input(frame_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB screen of any size -> (INPUT_H, INPUT_W, 3) uint8 (OpenCV INTER_AREA;
    the aspect ratio is not kept: coordinates are normalised)."""
    import cv2

    return cv2.resize(frame_rgb, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA)


def to_input(small_rgb: np.ndarray) -> np.ndarray:
    """(INPUT_H, INPUT_W, 3) uint8 -> (3, INPUT_H, INPUT_W) float32 0..1."""
    return np.ascontiguousarray(small_rgb.transpose(2, 0, 1), dtype=np.float32) * np.float32(1 / 255)


def preprocess(frame_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB screen -> (3, INPUT_H, INPUT_W) float32 0..1: the policy's and the
    critic's `image` (add the batch axis)."""
    return to_input(resize_input(frame_rgb))


def to_gray(frame_rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY)


def cut_crop(gray: np.ndarray, x: float, y: float, scale: float = 1.0, window=CROP_WINDOW, size=CROP_SIZE,
             jitter=None) -> np.ndarray:
    """Native-resolution crop around normalised (x, y) of a grayscale frame -> (size[1], size[0])
    float32 0..1. `scale` is the frame's pixels per logical pixel (2.0 on Retina): the window is
    `window` logical pixels. Outside the frame is filled with the border. `jitter` (dx, dy, s) in
    logical pixels / factor is for augmentation only."""
    import cv2

    h, w = gray.shape[:2]
    cx, cy = x * w, y * h
    ww, wh = window[0] * scale, window[1] * scale
    if jitter is not None:
        cx += jitter[0] * scale
        cy += jitter[1] * scale
        ww, wh = ww * jitter[2], wh * jitter[2]
    x0, y0 = int(round(cx - ww / 2)), int(round(cy - wh / 2))
    x1, y1 = x0 + max(1, int(round(ww))), y0 + max(1, int(round(wh)))
    region = gray[max(0, y0):max(0, min(h, y1)), max(0, x0):max(0, min(w, x1))]
    if region.size == 0:  # entirely outside the frame
        region = np.zeros((y1 - y0, x1 - x0), dtype=gray.dtype)
    top, left = min(max(0, -y0), y1 - y0 - region.shape[0]), min(max(0, -x0), x1 - x0 - region.shape[1])
    bottom, right = y1 - y0 - region.shape[0] - top, x1 - x0 - region.shape[1] - left
    if top or bottom or left or right:
        region = np.pad(region, ((top, bottom), (left, right)), mode="edge")
    out = cv2.resize(region, tuple(size), interpolation=cv2.INTER_AREA)
    return out.astype(np.float32) * np.float32(1 / 255)


BLANK_CROP = np.zeros((1, CROP_SIZE[1], CROP_SIZE[0]), dtype=np.float32)


def chunk_crops(gray: np.ndarray, chunks, slots: int, scale: float = 1.0, cut=None):
    """Crops of the pointer slots 0..slots-1 of chunks [(kinds, pos)] -> crops (M, 1, h, w)
    float32 with a blank crops[0], and crop_index (B, slots) int64 (0: no crop). Only pointer
    slots are cut and looked at: most slots of a chunk are keys and texts.
    cut(kinds, pos, k) -> (h, w) crop replaces cutting from `gray` (training augments them)."""
    crops, index = [BLANK_CROP], np.zeros((len(chunks), slots), dtype=np.int64)
    for b, (kinds, pos) in enumerate(chunks):
        for k in range(min(slots, len(kinds))):
            if int(kinds[k]) in POINTER_TOKENS:
                c = cut(kinds, pos, k) if cut is not None else cut_crop(gray, float(pos[k][0]), float(pos[k][1]), scale)
                index[b, k] = len(crops)
                crops.append(c[None])
    return np.stack(crops).astype(np.float32, copy=False), index


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
