"""Screen frames: a continuous cheap capture into a small ring, and a background PNG writer.

The ring is why a saved frame shows the screen *before* an action: by the time an input event
reaches us the app may already have redrawn, so we never grab on demand; we pick the newest
ring frame whose grab finished before the event happened. Only frames picked that way are
encoded (lossless PNG, off the input thread) and saved.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from pathlib import Path

from .episode import FILE_MODE, JsonlWriter
from .errors import DisplayError, RecorderError


class Frame:
    """One grab: BGRA bytes, size in pixels, capture-finished time (monotonic), sequence number."""

    __slots__ = ("seq", "t", "raw", "width", "height")

    def __init__(self, seq: int, t: float, raw, width: int, height: int):
        self.seq, self.t, self.raw, self.width, self.height = seq, t, raw, width, height


class FrameRing:
    """Grabs the whole screen with mss at `fps` in a thread; keeps the last `seconds` of frames,
    but never more than `max_mb` of them (a 4K frame is 33 MB), and at least 3."""

    def __init__(self, display: str | None, fps: float = 10.0, seconds: float = 1.0, max_mb: float = 200):
        if not 1 <= fps <= 60:
            raise ValueError(f"fps must be between 1 and 60, got {fps}")
        self.display = display
        self.period = 1.0 / fps
        self.want = max(3, int(fps * seconds) + 1)
        self.max_bytes = max_mb * 1e6
        self.frames: deque[Frame] = deque(maxlen=self.want)
        self.lock = threading.Lock()
        self.grabbed = 0
        self.monitor: dict | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.grab_seconds = 0.0

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="deskact-frames", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RecorderError("screen capture did not start in time")
        if self.error is not None:
            raise DisplayError(f"cannot capture the screen with mss ({type(self.error).__name__}: {self.error})")

    def _run(self) -> None:
        try:
            import mss

            kwargs = {"display": self.display} if self.display else {}
            sct = mss.MSS(**kwargs)
            self.monitor = dict(sct.monitors[0])  # the whole (virtual) screen
            frame_bytes = self.monitor["width"] * self.monitor["height"] * 4
            self.frames = deque(maxlen=max(3, min(self.want, int(self.max_bytes // frame_bytes))))
        except BaseException as e:  # XError, no display, ...
            self.error = e
            self._ready.set()
            return
        try:
            next_t = time.monotonic()
            while not self._stop.is_set():
                t0 = time.monotonic()
                shot = sct.grab(self.monitor)
                t1 = time.monotonic()
                self.grab_seconds += t1 - t0
                frame = Frame(self.grabbed, t1, shot.raw, shot.width, shot.height)
                with self.lock:
                    self.frames.append(frame)
                self.grabbed += 1
                self._ready.set()
                next_t += self.period
                delay = next_t - time.monotonic()
                if delay < 0:  # fell behind (busy machine): do not try to catch up
                    next_t = time.monotonic()
                    delay = 0
                self._stop.wait(delay)
        except BaseException as e:
            self.error = e
            self._ready.set()
        finally:
            sct.close()

    def before(self, t: float) -> Frame | None:
        """The newest frame whose grab finished strictly before monotonic time t."""
        with self.lock:
            for frame in reversed(self.frames):
                if frame.t < t:
                    return frame
        return None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


class FrameWriter:
    """Encodes chosen frames to frames/NNNNNN.png in a thread, then appends {"file", "t"} to
    frames.jsonl (so a listed frame is always complete). Skips a frame identical to the last
    one written: the older one then stands for it (it is also "before" the action)."""

    def __init__(self, episode_dir: Path, t0: float, exclude_regions=(), scale: float = 1.0,
                 compress_level: int = 3):
        self.dir = Path(episode_dir)
        self.t0 = t0
        self.regions = [tuple(int(round(v * scale)) for v in r) for r in exclude_regions]
        self.compress_level = compress_level
        self.queue: queue.Queue = queue.Queue()
        self.index = JsonlWriter(self.dir / "frames.jsonl")
        self.written: dict[str, float] = {}
        self.bytes = 0
        self.skipped_same = 0
        self.skipped_backlog = 0
        self.max_backlog = 30
        self.errors = 0
        self.error: str | None = None
        self._last_raw = None
        self._queued_seq = -1
        self._thread = threading.Thread(target=self._run, name="deskact-png", daemon=True)
        self._thread.start()

    def submit(self, frame: Frame) -> None:
        """Queue a frame for saving (a frame already queued is ignored). Called from the input
        thread: only a reference is passed, the encoding happens in the writer thread. If the
        encoder is far behind (huge screen, slow machine) the frame is skipped and counted:
        the action then gets the latest earlier frame, rather than memory growing unbounded."""
        if frame.seq <= self._queued_seq:
            return
        self._queued_seq = frame.seq
        if self.queue.qsize() >= self.max_backlog:
            self.skipped_backlog += 1
            return
        self.queue.put(frame)

    def _run(self) -> None:
        while True:
            frame = self.queue.get()
            if frame is None:
                return
            try:
                self._write(frame)
            except Exception as e:  # disk full, ...: count it, keep recording events
                self.errors += 1
                self.error = f"{type(e).__name__}: {e}"

    def _write(self, frame: Frame) -> None:
        raw = frame.raw
        if self._last_raw is not None and raw == self._last_raw:
            self.skipped_same += 1
            return
        from PIL import Image

        data = raw
        if self.regions:
            data = bytearray(raw)
            _black_out(data, frame.width, frame.height, self.regions)
        img = Image.frombuffer("RGB", (frame.width, frame.height), bytes(data), "raw", "BGRX", 0, 1)
        name = f"{frame.seq:06d}.png"
        path = self.dir / "frames" / name
        tmp = path.with_name(name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            img.save(f, "PNG", compress_level=self.compress_level)
        os.replace(tmp, path)
        self.bytes += path.stat().st_size
        t = round(frame.t - self.t0, 4)
        self.index.write({"file": name, "t": t, "w": frame.width, "h": frame.height})
        self.written[name] = t
        self._last_raw = raw

    def close(self) -> None:
        self.queue.put(None)
        self._thread.join()
        try:
            self.index.close()
        except OSError:  # disk full: the frames it could not list do not count as saved
            pass


def _black_out(data: bytearray, width: int, height: int, regions) -> None:
    """Zero the pixels of each (x, y, w, h) region (in frame pixels) of a BGRA buffer."""
    stride = width * 4
    for x, y, w, h in regions:
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        if x1 <= x0 or y1 <= y0:
            continue
        row = bytes((x1 - x0) * 4)
        for yy in range(y0, y1):
            start = yy * stride + x0 * 4
            data[start:start + len(row)] = row
