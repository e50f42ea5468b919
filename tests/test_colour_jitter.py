"""The theme augmentation (dataset.colour_jitter) on a drawn screen: a light window with dark text
on a black desktop. Another theme recolours the window, not the desktop, and text stays
readable; a whole screen is sometimes inverted too."""
from __future__ import annotations

import cv2
import numpy as np

from models import dataset

H, W = 160, 256
WINDOW = (20, 10, 110, 70)  # x0, y0, x1, y1


def _screen():
    img = np.zeros((H, W, 3), np.uint8)
    x0, y0, x1, y1 = WINDOW
    img[y0:y1, x0:x1] = 230
    cv2.putText(img, "Sign in", (30, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 2)
    return img


def test_content_box_is_the_window():
    x0, y0, x1, y1 = WINDOW
    assert dataset.content_box(_screen()) == (y0, y1, x0, x1)
    assert dataset.content_box(np.zeros((H, W, 3), np.uint8)) is None


def _masks(img):
    x0, y0, x1, y1 = WINDOW
    text = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) < 128
    text[:y0] = text[y1:] = False
    text[:, :x0] = text[:, x1:] = False
    fill = np.zeros((H, W), bool)
    fill[y0 + 2:y0 + 12, x0 + 2:x1 - 2] = True  # above the text
    desk = np.zeros((H, W), bool)
    desk[y1 + 10:, :] = True
    return text, fill, desk


def test_another_theme_keeps_text_readable():
    img = _screen()
    text, fill, _ = _masks(img)
    x0, y0, x1, y1 = WINDOW
    for seed in range(200):
        win = np.zeros(img.shape, np.float32)
        win[y0:y1, x0:x1] = dataset.window_theme(img[y0:y1, x0:x1], np.random.default_rng(seed))
        g = win.mean(-1)
        assert abs(g[text].mean() - g[fill].mean()) >= 0.2, seed


def test_dark_windows_on_the_desktop_and_inverted_screens():
    img = _screen()
    text, fill, desk = _masks(img)
    rng = np.random.default_rng(0)
    seen = {"window": 0, "screen": 0, "none": 0}
    for _ in range(300):
        g = dataset.colour_jitter(img, rng).mean(0)
        t, f, d = g[text].mean(), g[fill].mean(), g[desk].mean()
        if t > f + 0.1 and d < f - 0.03:
            seen["window"] += 1  # light text on a dark window, the desktop still darker
        elif t > f + 0.1 and d > f + 0.03:
            seen["screen"] += 1
        elif t < f - 0.1:
            seen["none"] += 1
    assert seen["window"] >= 10 and seen["screen"] >= 10 and seen["none"] >= 150, seen
