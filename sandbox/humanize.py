"""Human-like motion and timing for the scripted demonstrator.

Demonstrations are training data: a pointer that teleports, or keys that arrive every 0 ms,
would teach the recorder-derived actions (and the frames just before them) a rhythm no person
has. So pointer paths curve, speed up and slow down, sometimes overshoot and correct, and keys
come at an uneven pace. Everything is drawn from one seeded random.Random, so a (seed, task,
perturbation) demonstration is reproducible. `speed` divides every duration (tests use 4+).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

Point = tuple[float, float]


@dataclass
class Humanizer:
    rng: random.Random
    speed: float = 1.0
    rate_hz: float = 90.0  # pointer samples per second of motion

    def __post_init__(self):
        if not self.speed > 0:
            raise ValueError(f"Humanizer.speed must be > 0, got {self.speed!r}")

    # ----- where ------------------------------------------------------------------------------
    def aim(self, rect, inner: float = 0.6) -> Point:
        """A point in the inner `inner` fraction of rect (x, y, w, h), nearer the centre more often."""
        x, y, w, h = rect
        fx = 0.5 + (self.rng.random() + self.rng.random() - 1.0) * inner / 2
        fy = 0.5 + (self.rng.random() + self.rng.random() - 1.0) * inner / 2
        return x + fx * w, y + fy * h

    # ----- how long ---------------------------------------------------------------------------
    def move_seconds(self, dist: float) -> float:
        """About 0.25 s for a short hop to 0.9 s across the screen (Fitts-like, with noise)."""
        base = 0.22 + 0.11 * math.log2(1.0 + dist / 40.0)
        return min(0.9, max(0.25, base * self.rng.uniform(0.85, 1.2))) / self.speed

    def think(self, lo: float = 0.25, hi: float = 0.8) -> float:
        """A short pause between steps (reading the screen, deciding)."""
        return self.rng.uniform(lo, hi) / self.speed

    def key_delays(self, text: str) -> list[float]:
        """Seconds to wait before each character: 40-160 ms with jitter, slower for non-ASCII,
        a little longer after a space (word boundary)."""
        out = []
        prev = ""
        for ch in text:
            d = self.rng.triangular(0.04, 0.16, 0.075)
            if not ch.isascii():
                d *= self.rng.uniform(1.3, 1.8)
            if prev == " ":
                d += self.rng.uniform(0.0, 0.06)
            out.append(d / self.speed)
            prev = ch
        return out

    def hold(self) -> float:
        """How long a button or key stays down (a real press is never 0 ms)."""
        return self.rng.uniform(0.05, 0.11) / self.speed

    # ----- the path ---------------------------------------------------------------------------
    def path(self, start: Point, end: Point, screen: tuple[int, int] | None = None,
             steer: bool = False) -> list[tuple[float, float, float]]:
        """[(x, y, seconds to wait before moving there)], ending exactly at `end`.

        A cubic Bezier with control points pushed sideways (a curved stroke), minimum-jerk
        timing (ease in and out), small jitter along the way, and on longer moves sometimes an
        overshoot past the target followed by a short correction. steer=True moves the way
        people enter a cascading submenu: straight across first, then to the item (a curve
        would brush the neighbouring entry and close the submenu)."""
        dist = math.dist(start, end)
        if dist < 1.0:
            return [(end[0], end[1], 0.0)]
        pts: list[tuple[float, float, float]] = []
        if steer:
            corner = (end[0], start[1])
            for a, b in ((start, corner), (corner, end)):
                if math.dist(a, b) >= 1.0:
                    pts += self._stroke(a, b, self.move_seconds(math.dist(a, b)) * 0.8, jitter=False, bend=0.0)
            pts[-1] = (end[0], end[1], pts[-1][2])
            return pts
        overshoot = dist > 80 and self.rng.random() < 0.35
        if overshoot:
            ux, uy = (end[0] - start[0]) / dist, (end[1] - start[1]) / dist
            over = min(14.0, dist * self.rng.uniform(0.03, 0.07))
            side = self.rng.uniform(-0.4, 0.4) * over
            mid = (end[0] + ux * over - uy * side, end[1] + uy * over + ux * side)
            pts += self._stroke(start, mid, self.move_seconds(dist) * 0.85, jitter=True)
            pts += self._stroke(mid, end, self.move_seconds(over) * 0.5, jitter=False,
                                pause=self.rng.uniform(0.02, 0.08) / self.speed)
        else:
            pts += self._stroke(start, end, self.move_seconds(dist), jitter=True)
        if screen:
            w, h = screen
            # stay off the corners: pyautogui's fail-safe fires there
            pts = [(min(max(x, 1), w - 2), min(max(y, 1), h - 2), dt) for x, y, dt in pts]
        pts[-1] = (end[0], end[1], pts[-1][2])
        return pts

    def _stroke(self, a: Point, b: Point, seconds: float, jitter: bool, pause: float = 0.0, bend: float = 0.18):
        dist = math.dist(a, b)
        n = max(4, int(seconds * self.rate_hz * min(1.0, self.speed)))
        nx, ny = (-(b[1] - a[1]) / dist, (b[0] - a[0]) / dist) if dist else (0.0, 0.0)
        bend = self.rng.uniform(-bend, bend) * dist
        c1 = (a[0] + (b[0] - a[0]) * 0.3 + nx * bend, a[1] + (b[1] - a[1]) * 0.3 + ny * bend)
        bend2 = bend * self.rng.uniform(0.3, 1.0)
        c2 = (a[0] + (b[0] - a[0]) * 0.7 + nx * bend2, a[1] + (b[1] - a[1]) * 0.7 + ny * bend2)
        out = []
        for i in range(1, n + 1):
            tau = i / n
            s = tau ** 3 * (10 - 15 * tau + 6 * tau * tau)  # minimum-jerk: ease in and out
            x, y = _bezier(a, c1, c2, b, s)
            if jitter and i < n:
                amp = 0.8 * math.sin(math.pi * s)
                x += self.rng.gauss(0, amp)
                y += self.rng.gauss(0, amp)
            dt = seconds / n
            if i == 1:
                dt += pause
            out.append((x, y, dt))
        return out


def _bezier(p0: Point, p1: Point, p2: Point, p3: Point, s: float) -> Point:
    u = 1.0 - s
    x = u ** 3 * p0[0] + 3 * u * u * s * p1[0] + 3 * u * s * s * p2[0] + s ** 3 * p3[0]
    y = u ** 3 * p0[1] + 3 * u * u * s * p1[1] + 3 * u * s * s * p2[1] + s ** 3 * p3[1]
    return x, y
