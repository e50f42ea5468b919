"""A self-contained HTML report of a run or a replay: each step's screenshot with the chosen
chunk drawn on it, the other candidates with their critic scores, timings, and why it ended.
Images are embedded (base64 JPEG), so the one file can be mailed or attached to a bug."""
from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path

import cv2
import numpy as np

from .executor import describe

CHOSEN = (40, 170, 40)  # BGR
OTHER = (0, 140, 255)
RECORDED = (200, 80, 0)


def draw_chunk(frame: np.ndarray, actions: list[dict], colour=CHOSEN, scale: float = 1.0,
               thickness: int = 2, label_prefix: str = "") -> np.ndarray:
    """Draw a chunk's actions (numbered, in order) on a BGR frame in place; returns it.
    `scale` maps normalised coordinates of the logical screen onto this frame's pixels."""
    h, w = frame.shape[:2]
    for i, a in enumerate(actions, 1):
        tag = f"{label_prefix}{i}"
        if "x" in a and a.get("x") is not None:
            x, y = int(a["x"] * w), int(a["y"] * h)
            cv2.circle(frame, (x, y), max(6, int(10 * scale)), colour, thickness, cv2.LINE_AA)
            cv2.drawMarker(frame, (x, y), colour, cv2.MARKER_CROSS, 8, 1)
            if a["kind"] == "drag":
                x2, y2 = int(a["x2"] * w), int(a["y2"] * h)
                cv2.arrowedLine(frame, (x, y), (x2, y2), colour, thickness, cv2.LINE_AA, tipLength=0.05)
            _text(frame, f"{tag} {a['kind'].replace('_', '-')}", (x + 12, y - 8), colour)
        else:
            _text(frame, f"{tag} {describe(a)}", (10, 24 + 22 * (i - 1)), colour)
    return frame


def _text(frame, text, org, colour):
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 3, cv2.LINE_AA)
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)


def _jpeg_b64(frame: np.ndarray, max_width: int = 960) -> str:
    h, w = frame.shape[:2]
    if w > max_width:
        frame = cv2.resize(frame, (max_width, round(h * max_width / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return base64.b64encode(buf.tobytes()).decode()


class Report:
    """Collects steps; `write()` renders DIR/report.html (and report.json with the raw data)."""

    def __init__(self, out_dir: str | Path, title: str, subtitle: str = "", size: tuple[int, int] | None = None):
        """size: the logical screen size, to describe positions in pixels."""
        self.size = size
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.title, self.subtitle = title, subtitle
        self.steps: list[dict] = []
        self.end_reason: str | None = None
        self.started = time.strftime("%Y-%m-%d %H:%M:%S")
        self.annotate = None  # () -> dict stored with each step in report.json (the sandbox: where its targets were)

    def add_step(self, frame: np.ndarray, chosen: list[dict] | None, candidates: list[dict] = (),
                 timings: dict | None = None, note: str = "", compare: list[dict] | None = None,
                 chosen_label: str = "chosen", compare_label: str = "recorded") -> None:
        """chosen: the chunk acted on (or None on abstain); candidates: [{"actions", "score",
        "source"}] best first; compare: another chunk to draw (e.g. the person's action)."""
        img = frame.copy()
        for c in list(candidates)[1:4]:
            draw_chunk(img, c["actions"][:1], OTHER, thickness=1, label_prefix="alt ")
        if compare:
            draw_chunk(img, compare, RECORDED, label_prefix="rec ")
        if chosen:
            draw_chunk(img, chosen, CHOSEN)
        self.steps.append({
            "image": _jpeg_b64(img), "chosen": chosen, "chosen_label": chosen_label,
            "compare": compare, "compare_label": compare_label,
            "candidates": [{"actions": c["actions"], "score": c.get("score"), "source": c.get("source", "")}
                           for c in candidates],
            "timings": timings or {}, "note": note,
        })
        if self.annotate is not None:
            self.steps[-1]["sandbox"] = self.annotate()

    def finish(self, reason: str) -> Path:
        self.end_reason = reason
        return self.write()

    def write(self) -> Path:
        path = self.dir / "report.html"
        path.write_text(self._html(), encoding="utf-8")
        raw = [{k: v for k, v in s.items() if k != "image"} for s in self.steps]
        (self.dir / "report.json").write_text(json.dumps(
            {"title": self.title, "started": self.started, "end_reason": self.end_reason, "steps": raw},
            indent=1, ensure_ascii=False, default=str))
        return path

    def _html(self) -> str:
        e = html.escape
        parts = [f"""<!doctype html><html><head><meta charset="utf-8"><title>{e(self.title)}</title>
<style>body{{font-family:sans-serif;margin:24px;background:#fafafa;color:#222}}
.step{{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px;margin:16px 0}}
.step img{{max-width:100%;border:1px solid #ccc}} table{{border-collapse:collapse}}
td,th{{padding:2px 10px;border-bottom:1px solid #eee;text-align:left;font-size:14px}}
.end{{font-size:18px;padding:10px;background:#fff3cd;border:1px solid #e0c97f;border-radius:6px}}
.chosen{{color:#1e7e1e}} .rec{{color:#0050c8}}</style></head><body>
<h1>{e(self.title)}</h1><p>{e(self.subtitle)} &middot; started {e(self.started)} &middot; {len(self.steps)} steps</p>
<p class="end" id="end-reason">Ended: {e(self.end_reason or "still running")}</p>"""]
        for i, s in enumerate(self.steps, 1):
            chosen = "; ".join(describe(a, self.size) for a in s["chosen"]) if s["chosen"] else "nothing (abstained)"
            rows = "".join(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                    j, "" if c["score"] is None else f"{c['score']:.3f}", e(c["source"]),
                    e("; ".join(describe(a, self.size) for a in c["actions"])))
                for j, c in enumerate(s["candidates"][:8], 1))
            timing = ", ".join(f"{k} {v * 1000:.0f} ms" if isinstance(v, float) else f"{k} {v}"
                               for k, v in s["timings"].items())
            compare = (f"<p class='rec'>{e(s['compare_label'])}: {e('; '.join(describe(a, self.size) for a in s['compare']))}</p>"
                       if s["compare"] else "")
            parts.append(f"""<div class="step" id="step-{i}"><h2>Step {i}</h2>
<p class="chosen">{e(s['chosen_label'])}: {e(chosen)}</p>{compare}
{f"<p>{e(s['note'])}</p>" if s['note'] else ""}
<img alt="step {i}" src="data:image/jpeg;base64,{s['image']}">
{f"<table><tr><th>#</th><th>critic score</th><th>source</th><th>candidate</th></tr>{rows}</table>" if rows else ""}
<p><small>{e(timing)}</small></p></div>""")
        parts.append("</body></html>")
        return "\n".join(parts)
