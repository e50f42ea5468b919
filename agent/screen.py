"""The live screen: grabs with mss (physical pixels), knows the logical size input uses, and
waits for the screen to settle after an action instead of a recorded sleep."""
from __future__ import annotations

import threading
import time

import numpy as np

from recorder.errors import DisplayError


class Screen:
    """One mss instance per thread (mss is not thread-safe); frames are (H, W, 3) uint8 BGR."""

    def __init__(self, display: str | None = None, monitor: int = 1):
        self.display = display
        self.monitor_index = monitor
        self._local = threading.local()
        shot = self.grab()
        self.pixel_size = (shot.shape[1], shot.shape[0])  # (W, H) physical
        from recorder.platform import backend

        lw, lh = backend().screen_size()
        self.logical_size = (int(lw), int(lh))
        self.scale = self.pixel_size[0] / max(1, self.logical_size[0])

    def _mss(self):
        m = getattr(self._local, "mss", None)
        if m is None:
            import mss

            try:
                m = mss.MSS(display=self.display) if self.display else mss.MSS()
            except Exception as e:  # mss raises its own XError-based exceptions without a display
                raise DisplayError(f"cannot grab the screen ({type(e).__name__}: {e})") from None
            self._local.mss = m
        return m

    def grab(self) -> np.ndarray:
        m = self._mss()
        shot = m.grab(m.monitors[self.monitor_index])
        return np.asarray(shot)[:, :, :3]  # BGRA -> BGR view, no copy of pixel data

    def to_logical(self, nx: float, ny: float) -> tuple[float, float]:
        """Normalised (0..1) screen coordinates -> logical input coordinates of this screen."""
        w, h = self.logical_size
        return min(nx * w, w - 1), min(ny * h, h - 1)

    def settle(self, timeout: float = 2.0, quiet: float = 0.12, threshold: float = 0.5,
               stop: threading.Event | None = None) -> tuple[np.ndarray, float]:
        """Wait until the screen stops changing: no mean absolute change above `threshold`
        (grey levels, on a 1/4-subsampled frame) for `quiet` seconds, or `timeout`.
        Returns (the last frame, seconds waited)."""
        t0 = time.monotonic()
        frame = self.grab()
        prev = frame[::4, ::4, 1].astype(np.int16)
        still_since = t0
        while True:
            if stop is not None and stop.wait(0.02):
                break
            elif stop is None:
                time.sleep(0.02)
            frame = self.grab()
            cur = frame[::4, ::4, 1].astype(np.int16)
            now = time.monotonic()
            if float(np.abs(cur - prev).mean()) > threshold:
                still_since = now
            prev = cur
            if now - still_since >= quiet or now - t0 >= timeout:
                break
        return frame, time.monotonic() - t0
