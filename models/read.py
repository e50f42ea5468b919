"""Reading the words at a point of the screen: what the label check compares where another theme
draws the demos' labels in another font, which no template of them matches.

Two ONNX models of PaddleOCR (PP-OCRv6 small: text detection, then recognition; Apache-2.0),
taken from the `rapidocr` wheel on PyPI, run here with onnxruntime on a small window around the
point only: the whole screen costs 1.5 s, a 480 x 64 window about 40 ms, and reading the phrase
found there about 20 ms more. The phrase is the detector's: "Sign in" and "Sign in as guest" in
two buttons side by side are two phrases, so a look-alike does not pass for its target.
"""
from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path

import numpy as np

from recorder.errors import DeskactError

WINDOW = (480, 64)  # logical px around a point where the phrase at it is looked for
REACH = (24, 10)  # logical px the nearest phrase may lie beside / above or below the point
DET_MODEL, REC_MODEL = "PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"
MEAN, STD = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)


class ReadError(DeskactError):
    pass


def model_dir() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise ReadError("the text models come with the package rapidocr: pip install rapidocr")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def normal(text: str | None) -> str:
    """Case and spacing do not tell labels apart; a space read into a word or lost is common."""
    return re.sub(r"\s+", "", (text or "").casefold())


def same(a: str | None, b: str | None) -> bool:
    """Do two readings name the same label? At most one character misread in eight. "Save" and
    "Save all", "invoice_march.pdf" and "invoice_march (1).pdf" are not the same."""
    a, b = normal(a), normal(b)
    if not a or not b:
        return False
    if a == b:
        return True
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    edits = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")
    return edits <= len(max(a, b, key=len)) // 8


class Reader:
    """The detector and recogniser sessions (one thread each: the runtime's budget). The Decider
    loads one only when a screen first needs it."""

    def __init__(self, threads: int = 1):
        import onnxruntime as ort

        d = model_dir()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = threads
        opts.log_severity_level = 3
        try:
            self.det = ort.InferenceSession(str(d / DET_MODEL), opts, providers=["CPUExecutionProvider"])
            self.rec = ort.InferenceSession(str(d / REC_MODEL), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - a missing or broken model file: say which
            raise ReadError(f"cannot load the text models in {d}: {e}") from None
        self.chars = [""] + self.rec.get_modelmeta().custom_metadata_map["character"].splitlines() + [" "]

    def phrases(self, rgb: np.ndarray, thresh: float = 0.3) -> list[tuple[int, int, int, int]]:
        """Boxes (x, y, w, h) of the phrases the detector finds in a small RGB image."""
        import cv2

        h, w = rgb.shape[:2]
        x = np.zeros(((h + 31) // 32 * 32, (w + 31) // 32 * 32, 3), np.float32)
        x[:h, :w] = rgb
        x = (x / 255.0 - MEAN) / STD
        p = self.det.run(None, {"x": x.transpose(2, 0, 1)[None].astype(np.float32)})[0][0, 0][:h, :w]
        n, _, stats, _ = cv2.connectedComponentsWithStats((p > thresh).astype(np.uint8))
        return [tuple(int(v) for v in s[:4]) for s in stats[1:] if s[4] >= 10]

    def text(self, rgb: np.ndarray) -> str:
        """The line of text an RGB crop holds (CTC, greedy)."""
        import cv2

        h, w = rgb.shape[:2]
        if h < 2 or w < 2:
            return ""
        width = max(8, round(w * 48 / h))
        x = (cv2.resize(rgb, (width, 48), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0 - 0.5) / 0.5
        p = self.rec.run(None, {"x": x.transpose(2, 0, 1)[None]})[0][0]
        out, prev = [], 0
        for i in p.argmax(1).tolist():
            if i != prev and i:
                out.append(self.chars[i] if i < len(self.chars) else "")
            prev = i
        return "".join(out).strip()

    def text_at(self, gray: np.ndarray, xy, scale: float = 1.0) -> str:
        """The phrase at native pixel xy of a grayscale screen (or the nearest within REACH), or
        "" where none is: a window around the point, the detector's phrase there, read."""
        import cv2

        H, W = gray.shape
        x, y = float(xy[0]), float(xy[1])
        hw, hh = WINDOW[0] * scale / 2, WINDOW[1] * scale / 2
        x0, y0 = max(0, round(x - hw)), max(0, round(y - hh))
        x1, y1 = min(W, round(x + hw)), min(H, round(y + hh))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return ""
        win = cv2.cvtColor(np.ascontiguousarray(gray[y0:y1, x0:x1]), cv2.COLOR_GRAY2RGB)
        px, py = x - x0, y - y0
        best, dist = None, None
        for bx, by, bw, bh in self.phrases(win):
            dx = max(bx - px, 0.0, px - (bx + bw))
            dy = max(by - py, 0.0, py - (by + bh))
            if dx > REACH[0] * scale or dy > REACH[1] * scale:
                continue
            d = dx * dx + 4 * dy * dy
            if dist is None or d < dist:
                best, dist = (bx, by, bw, bh), d
        if best is None:
            return ""
        bx, by, bw, bh = best
        pad = max(2, round(0.5 * bh))  # the detector's boxes are shrunk text kernels
        crop = win[max(0, by - pad):by + bh + pad, max(0, bx - pad):bx + bw + pad]
        return self.text(crop)
