"""Synthetic episodes in the real episode format, for tests and for benchmarks when no recorded
demos exist: PIL-drawn screens of a small app (a window with labelled widgets at seeded
positions) and a 5-action workflow:

    click the "Name" field, type "alice", click "Export", (a dialog opens) click "OK", key enter

`layout` > 0 moves the window and shuffles and shifts the widgets (the look-alike wrong
choices "Import" beside "Export" and "Cancel" beside "OK" are always there); `fumble` makes a
failure episode: one step is done wrong (wrong button, wrong text) and the outcome is failure,
with `meta["fumble_action"]` = the index of the wrong action.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from recorder.episode import FORMAT_VERSION

FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)


def _font(size: int):
    from PIL import ImageFont

    for p in FONT_PATHS:
        try:
            return ImageFont.truetype(p, size)
        except OSError:
            pass
    return ImageFont.load_default()


def _widget(draw, rect, text, kind, theme, font):
    x, y, w, h = rect
    if kind == "entry":
        draw.rectangle([x, y, x + w, y + h], fill=theme["entry"], outline=theme["fg"])
    elif kind == "button":
        draw.rectangle([x, y, x + w, y + h], fill=theme["button"], outline=theme["fg"], width=2)
        tw = draw.textlength(text, font=font)
        draw.text((x + (w - tw) / 2, y + h / 2 - 7), text, fill=theme["fg"], font=font)
    elif kind == "label":
        draw.text((x, y + h / 2 - 7), text, fill=theme["fg"], font=font)


def make_episode(folder, seed: int, size=(640, 400), layout: float = 1.0, theme: bool = False,
                 fumble: bool = False, fps_frames: bool = False) -> Path:
    """Write one synthetic episode folder; returns its path."""
    from PIL import Image, ImageDraw

    folder = Path(folder)
    (folder / "frames").mkdir(parents=True, exist_ok=True)
    r = random.Random(f"synthetic:{seed}")
    W, H = size
    s = W / 640.0
    font = _font(max(8, round(13 * s)))
    th = {"bg": (236, 236, 236), "fg": (20, 20, 20), "button": (210, 210, 210), "entry": (255, 255, 255),
          "desk": (40, 60, 90), "title": (58, 110, 165)}
    if theme:
        dark = r.random() < 0.5
        base = 40 if dark else 215
        th = {"bg": (base,) * 3, "fg": (235,) * 3 if dark else (10,) * 3,
              "button": tuple(r.randint(60, 110) if dark else r.randint(150, 230) for _ in range(3)),
              "entry": (25,) * 3 if dark else (250,) * 3, "desk": tuple(r.randint(0, 255) for _ in range(3)),
              "title": tuple(r.randint(40, 200) for _ in range(3))}
    ww, wh = round(360 * s), round(220 * s)
    wx = round((40 + layout * r.randint(-30, 200)) * s)
    wy = round((30 + layout * r.randint(-20, 120)) * s)
    bw, bh = round(80 * s), round(26 * s)
    # rows: [label, entry], [export, import] (order shuffled under layout)
    row_y = [round(50 * s), round(110 * s)]
    if layout and r.random() < 0.5 * layout:
        row_y.reverse()
    dx = round(layout * r.randint(0, 60) * s)
    name_rect = [wx + round(90 * s) + dx, wy + row_y[0], round(160 * s), bh]
    label_rect = [wx + round(20 * s) + dx, wy + row_y[0], round(60 * s), bh]
    pair = [[wx + round(40 * s) + dx, wy + row_y[1], bw, bh], [wx + round(140 * s) + dx, wy + row_y[1], bw, bh]]
    if layout and r.random() < 0.5 * layout:
        pair.reverse()
    export_rect, import_rect = pair
    dlg = [wx + round(60 * s), wy + round(60 * s) + round(layout * r.randint(0, 30) * s), round(240 * s), round(110 * s)]
    ok_cancel = [[dlg[0] + round(30 * s), dlg[1] + round(65 * s), bw, bh], [dlg[0] + round(130 * s), dlg[1] + round(65 * s), bw, bh]]
    if layout and r.random() < 0.5 * layout:
        ok_cancel.reverse()
    ok_rect, cancel_rect = ok_cancel

    def centre(rect, jitter=True):
        x, y, w, h = rect
        jx = r.uniform(-0.25, 0.25) * w if jitter else 0
        jy = r.uniform(-0.2, 0.2) * h if jitter else 0
        return x + w / 2 + jx, y + h / 2 + jy

    def screen(name_text: str, dialog: bool, cursor):
        img = Image.new("RGB", (W, H), th["desk"])
        d = ImageDraw.Draw(img)
        d.rectangle([wx, wy, wx + ww, wy + wh], fill=th["bg"], outline=th["fg"])
        d.rectangle([wx, wy, wx + ww, wy + round(20 * s)], fill=th["title"])
        d.text((wx + 6, wy + 3), "Exporter", fill=(255, 255, 255), font=font)
        _widget(d, label_rect, "Name", "label", th, font)
        _widget(d, name_rect, "", "entry", th, font)
        if name_text:
            d.text((name_rect[0] + 4, name_rect[1] + name_rect[3] / 2 - 7), name_text, fill=th["fg"], font=font)
        _widget(d, export_rect, "Export", "button", th, font)
        _widget(d, import_rect, "Import", "button", th, font)
        if dialog:
            d.rectangle([dlg[0], dlg[1], dlg[0] + dlg[2], dlg[1] + dlg[3]], fill=th["bg"], outline=th["fg"], width=2)
            d.text((dlg[0] + 12, dlg[1] + 14), "Export the file?", fill=th["fg"], font=font)
            _widget(d, ok_rect, "OK", "button", th, font)
            _widget(d, cancel_rect, "Cancel", "button", th, font)
        return img  # no pointer drawn: mss frames hold none

    text = "alice"
    steps = [("click", name_rect), ("type", text), ("click", export_rect), ("click", ok_rect), ("key", "enter")]
    fumble_at, right = None, None
    if fumble:
        fumble_at = r.choice([0, 1, 2, 3])
        right = steps[fumble_at][1] if steps[fumble_at][0] == "click" else None  # as practice marks it
        wrong = {0: ("click", export_rect), 1: ("type", "alcie"), 2: ("click", import_rect), 3: ("click", cancel_rect)}
        steps[fumble_at] = wrong[fumble_at]
        steps = steps[:fumble_at + 1]
    events, actions, frames = [], [], []
    t = 0.3
    cursor = (W * 0.5, H * 0.9)
    typed, dialog = "", False
    for i, (kind, arg) in enumerate(steps):
        x = y = None
        if kind == "click":
            x, y = centre(arg)
            if fps_frames:  # a frame with the pointer on its way, as a continuous capture would have
                mid = ((cursor[0] + x) / 2, (cursor[1] + y) / 2)
                fname = f"{len(frames):06d}.png"
                screen(typed, dialog, mid).save(folder / "frames" / fname)
                frames.append({"file": fname, "t": round(t - 0.1, 3)})
        fname = f"{len(frames):06d}.png"
        screen(typed, dialog, (x, y) if x is not None else cursor).save(folder / "frames" / fname)
        frames.append({"file": fname, "t": round(t, 3)})
        row = {"i": i, "t": round(t, 3), "kind": kind, "frame": fname}
        if kind == "click":
            row.update(x=x / W, y=y / H, button="left", count=1)
            events += [{"t": round(t - 0.05, 3), "kind": "move", "x": round(x), "y": round(y)},
                       {"t": round(t, 3), "kind": "button", "x": round(x), "y": round(y), "button": "left", "pressed": True},
                       {"t": round(t + 0.08, 3), "kind": "button", "x": round(x), "y": round(y), "button": "left", "pressed": False}]
            cursor = (x, y)
            if arg is export_rect:
                dialog = True
            elif arg in (ok_rect, cancel_rect):
                dialog = False
        elif kind == "type":
            row["text"] = arg
            for ch in arg:
                events += [{"t": round(t, 3), "kind": "key", "key": ch, "keycode": None, "pressed": p, "char": ch if p else None}
                           for p in (True, False)]
            typed = arg
        else:
            row["combo"] = arg
            events += [{"t": round(t, 3), "kind": "key", "key": arg, "keycode": None, "pressed": p, "char": None}
                       for p in (True, False)]
        actions.append(row)
        t += 0.9
    fname = f"{len(frames):06d}.png"
    screen(typed, dialog, cursor).save(folder / "frames" / fname)
    frames.append({"file": fname, "t": round(t, 3)})
    meta = {"format_version": FORMAT_VERSION, "screen": {"width": W, "height": H}, "pixel_scale": 1.0,
            "os": "linux", "started_at": "2026-01-01T00:00:00+0000", "ended_at": "2026-01-01T00:00:09+0000",
            "outcome": "failure" if fumble else "success", "outcome_reason": "fumbled" if fumble else None,
            "recorder": {"fps": 10}, "app_hint": "synthetic", "task": "synthetic-export", "seed": seed,
            "layout": layout, "fumble_action": fumble_at, "failed_at_action": fumble_at,
            **({"right_target": list(right)} if right else {}),
            "action_targets": {str(i): list(arg) for i, (kind, arg) in enumerate(steps) if kind == "click"},
            "targets": {"name": name_rect, "export": export_rect, "import": import_rect, "ok": ok_rect,
                        "cancel": cancel_rect}}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    for name, rows in (("events.jsonl", events), ("actions.jsonl", actions), ("frames.jsonl", frames)):
        (folder / name).write_text("".join(json.dumps(x) + "\n" for x in rows))
    return folder


def make_episodes(root, seeds, **kw) -> list[Path]:
    root = Path(root)
    return [make_episode(root / f"ep-{'f' if kw.get('fumble') else 's'}{seed:04d}", seed, **kw) for seed in seeds]


def frame_array(folder, name) -> np.ndarray:
    from .codec import load_frame

    return load_frame(Path(folder) / "frames" / name)
