"""Synthetic interruptions: dialogs drawn over demonstrated screens.

A few demonstrations rarely contain the notice that pops up over a workflow ("a new version is
available", "tip of the day"); the runtime meets them all the time. The trainer draws such
dialogs over demo screens so that
- the policy learns to dismiss a notice (one button) with the `dismiss` token and then carry on
  with the demonstrated chunk;
- the critic learns that dismissing a notice is right, and that clicking through a dialog,
  dismissing where there is no notice, or answering a question (a dialog with two buttons: a
  choice a person must make) is wrong. With only wrong candidates, the agent abstains.

Dialogs are drawn generically (random size, place, colours, fonts, words and labels), not as
any one app draws them. numpy, OpenCV and Pillow only.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import codec

NOTICE_LABELS = ("OK", "Close", "Dismiss", "Got it", "Continue", "Not now", "Later", "Skip", "No thanks",
                 "Remind me later", "Ok", "Done reading")
QUESTIONS = (("Yes", "No"), ("Save", "Don't save"), ("Install", "Cancel"), ("Delete", "Keep"), ("Allow", "Deny"),
             ("Restart now", "Cancel"), ("Replace", "Skip"), ("Sign out", "Stay"), ("Discard", "Go back"))
WORDS = ("a new version of this app is available it will be installed the next time you start update your "
         "settings were saved connection lost tip of the day did you know that you can press keep working "
         "changes synced storage is almost full license expires soon please restart to finish installing "
         "backup completed unsaved documents reminder meeting in minutes").split()
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf")


@dataclass
class Dialog:
    box: tuple  # normalised (x0, y0, x1, y1) on the screen
    buttons: list  # normalised (x, y) centres of its buttons, left to right
    notice: bool  # one button: dismissing is safe; else a question a person must answer
    text: tuple  # normalised (x, y) on its message: not a place to click


def _font(rng, px: int):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(str(rng.choice(FONTS)), px)
    except OSError:  # no DejaVu on this machine: Pillow's own scalable font
        return ImageFont.load_default(px)


def _colour(rng, lo, hi, tint: int = 12):
    base = int(rng.integers(lo, hi + 1))
    return tuple(int(np.clip(base + rng.integers(-tint, tint + 1), 0, 255)) for _ in range(3))


def _shift(c, d):
    return tuple(int(np.clip(v + d, 0, 255)) for v in c)


def draw(rng: np.random.Generator, screen, scale: float = 1.0, near=None, notice: bool | None = None):
    """A dialog as (patch (h, w, 3) uint8 RGB at native resolution, (x0, y0) native pixels, Dialog).
    screen: logical (w, h); near: normalised point the dialog is placed around (where the
    workflow acts next), else anywhere."""
    from PIL import Image, ImageDraw

    notice = bool(rng.random() < 0.8) if notice is None else notice
    fs = int(rng.integers(10, 16))  # logical px
    font, bold = _font(rng, max(6, round(fs * scale))), _font(rng, max(6, round((fs + 1) * scale)))
    dark = rng.random() < 0.3
    bg = _colour(rng, 30, 70) if dark else _colour(rng, 205, 250)
    fg = _colour(rng, 215, 255, 4) if dark else _colour(rng, 0, 45, 4)
    btn_bg = _shift(bg, int(rng.integers(12, 40)) * (1 if dark else -1))
    edge = _shift(bg, int(rng.integers(60, 140)) * (1 if dark else -1))
    s = scale
    pad, gap = round(rng.integers(12, 26) * s), round(rng.integers(6, 14) * s)
    line_h = round(fs * s * rng.uniform(1.4, 1.9))
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = lambda t, f=font: int(measure.textlength(t, font=f))  # noqa: E731
    lines = [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 8)))).capitalize() + rng.choice([".", "", "!"])
             for _ in range(int(rng.integers(1, 4)))]
    labels = [str(rng.choice(NOTICE_LABELS))] if notice else list(QUESTIONS[int(rng.integers(len(QUESTIONS)))])
    bpad, bh = round(rng.integers(10, 22) * s), round(fs * s * rng.uniform(1.7, 2.3))
    bws = [width(t) + 2 * bpad for t in labels]
    title = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 4)))).title() if rng.random() < 0.4 else None
    title_h = round(rng.integers(20, 30) * s) if title else 0
    w = max([width(t) for t in lines] + [sum(bws) + gap * (len(bws) - 1), round(rng.integers(180, 300) * s)]) + 2 * pad
    h = title_h + pad + line_h * len(lines) + gap + bh + pad
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    border = max(1, round(rng.integers(1, 4) * s))
    d.rectangle([0, 0, w - 1, h - 1], outline=edge, width=border)
    if title:
        d.rectangle([border, border, w - 1 - border, title_h], fill=_shift(edge, 30 if dark else -10))
        d.text((pad, title_h // 2), title, fill=(255, 255, 255) if not dark else fg, font=bold, anchor="lm")
    y = title_h + pad
    centred = rng.random() < 0.5
    for t in lines:
        d.text((w // 2 if centred else pad, y + line_h // 2), t, fill=fg, font=font, anchor="mm" if centred else "lm")
        y += line_h
    text_at = (w // 2 if centred else pad + width(lines[0]) // 2, title_h + pad + line_h // 2)
    y += gap
    total = sum(bws) + gap * (len(bws) - 1)
    x = (w - total) // 2 if rng.random() < 0.5 else w - pad - total
    centres = []
    for label, bw in zip(labels, bws):
        d.rectangle([x, y, x + bw, y + bh], fill=btn_bg, outline=_shift(btn_bg, -70 if not dark else 70),
                    width=max(1, round(s)))
        d.text((x + bw // 2, y + bh // 2), label, fill=fg, font=font, anchor="mm")
        centres.append((x + bw / 2, y + bh / 2))
        x += bw + gap
    # where: around `near` (a dialog opens over the window being worked in), inside the screen
    W, H = round(screen[0] * s), round(screen[1] * s)
    w, h = min(w, W), min(h, H)
    cx, cy = (near[0] * W, near[1] * H) if near is not None else (rng.uniform(0, W), rng.uniform(0, H))
    x0 = int(np.clip(cx - rng.uniform(0.1, 0.9) * w + rng.normal(0, 60 * s), 0, W - w))
    y0 = int(np.clip(cy - rng.uniform(0.1, 0.9) * h + rng.normal(0, 40 * s), 0, H - h))
    patch = np.asarray(img, dtype=np.uint8)[:h, :w]
    dialog = Dialog(box=(x0 / W, y0 / H, (x0 + w) / W, (y0 + h) / H),
                    buttons=[((x0 + bx) / W, (y0 + by) / H) for bx, by in centres],
                    notice=notice, text=((x0 + text_at[0]) / W, (y0 + text_at[1]) / H))
    return patch, (x0, y0), dialog


def interrupt(step, rng: np.random.Generator, notice: bool | None = None):
    """A copy of a dataset Step with a dialog drawn over its screen (policy image and native
    grayscale alike) -> (step, Dialog). Its kinds and pos stay the demonstrated chunk."""
    import cv2

    ptr = [k for k in range(len(step.kinds)) if step.kinds[k] in codec.POINTER_TOKENS]
    target = step.pos[ptr[0], :2] if ptr else None
    # half the dialogs cover where the workflow acts next, half open elsewhere over the screen
    # (then only the whole screen, not the crop around a click, shows that something is in the way)
    near = target if target is not None and rng.random() < 0.5 else None
    for _ in range(8):
        patch, (x0, y0), dialog = draw(rng, step.screen, step.scale, near, notice)
        b = dialog.box
        if near is not None or target is None or not (b[0] <= target[0] <= b[2] and b[1] <= target[1] <= b[3]):
            break
    gray = step.gray.copy()
    ph, pw = patch.shape[:2]
    gray[y0:y0 + ph, x0:x0 + pw] = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
    H, W = step.gray.shape
    small = step.small.copy()
    sx, sy = small.shape[1] / W, small.shape[0] / H
    a, b = round(x0 * sx), round(y0 * sy)
    sw, sh = max(1, round((x0 + pw) * sx) - a), max(1, round((y0 + ph) * sy) - b)
    small[b:b + sh, a:a + sw] = cv2.resize(patch, (sw, sh), interpolation=cv2.INTER_AREA)[:small.shape[0] - b, :small.shape[1] - a]
    return dataclasses.replace(step, small=small, gray=gray, frame_path=None), dialog


def dismissing(step, dialog: Dialog, button: int = 0):
    """(kinds, pos): dismiss the dialog with one of its buttons, then the demonstrated chunk."""
    return codec.prepend(step.kinds, step.pos, codec.DISMISS, dialog.buttons[button])
