#!/usr/bin/env python3
"""Benchmark the recorder on a private 1280x800 Xvfb.

The recorder runs as `deskact record` in a subprocess (so its CPU is its own); this process
injects real XTEST input and watches events.jsonl grow.

  1. idle CPU: recording, no input, 10 s
  2. sustained input: >= 500 events/s (moves, key presses/releases, button presses/releases)
     for 10 s; every injected event must be in events.jsonl (dropped = injected - recorded);
     event-to-disk latency of the moves (injected + XSync'd -> line visible in the file)
  3. latency at a calm rate (50 moves/s for 4 s)
  4. an active demonstration on a Tk app (pointer glides, clicks, typing, scrolls, about one
     action a second) for --active-seconds: recorder CPU and MB per minute, flat and busy screen

Usage: .venv/bin/python scripts/bench_recorder.py [--active-seconds 60] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sandbox.display import VirtualDisplay  # noqa: E402

TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TCK


def pct(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


class Recording:
    """`deskact record` in a subprocess on the given display."""

    def __init__(self, display: str, out: Path, name: str, fps: int = 10):
        env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "record", name, "--out", str(out), "--no-hotkeys", "--fps", str(fps)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline()
        if not first.startswith("Recording to "):
            raise SystemExit(f"recorder did not start: {first}{self.proc.stderr.read()}")
        self.path = Path(first[len("Recording to "):].strip())

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=120)
        if self.proc.returncode != 0:
            raise SystemExit(f"recorder failed: {err}")
        return out


class Tail(threading.Thread):
    """Reads events.jsonl as it grows; for move lines, notes when (x, y) became visible."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path = path
        self.seen: dict[tuple[int, int], float] = {}
        self.lines = 0
        self.stop_flag = threading.Event()

    def run(self):
        while not self.path.exists():
            time.sleep(0.001)
        buf = b""
        with open(self.path, "rb") as f:
            while not self.stop_flag.is_set():
                chunk = f.read()
                if not chunk:
                    time.sleep(0.0005)
                    continue
                now = time.monotonic()
                buf += chunk
                *done, buf = buf.split(b"\n")
                for line in done:
                    self.lines += 1
                    if b'"move"' in line:
                        ev = json.loads(line)
                        self.seen.setdefault((ev["x"], ev["y"]), now)


class Injector:
    """Raw XTEST on its own connection (pyautogui adds ~1 ms per call of Python overhead)."""

    def __init__(self, display: str):
        from Xlib import XK, X, display as xdisplay
        from Xlib.ext import xtest

        self.X, self.xtest = X, xtest
        self.d = xdisplay.Display(display)
        self.kc = self.d.keysym_to_keycode(XK.string_to_keysym("a"))

    def move(self, x, y):
        self.xtest.fake_input(self.d, self.X.MotionNotify, x=x, y=y)

    def key(self, down):
        self.xtest.fake_input(self.d, self.X.KeyPress if down else self.X.KeyRelease, self.kc)

    def button(self, down):
        self.xtest.fake_input(self.d, self.X.ButtonPress if down else self.X.ButtonRelease, 1)

    def sync(self):
        self.d.sync()


def unique_xy(i: int) -> tuple[int, int]:
    return 1 + i % 1200, 1 + (i // 1200) % 780


def bench_throughput(display: str, tmp: Path, rate: int, seconds: float, idle_s: float) -> dict:
    rec = Recording(display, tmp, "throughput")
    tail = Tail(rec.path / "events.jsonl")
    tail.start()
    inj = Injector(display)
    time.sleep(1.0)
    c0, t0 = rec.cpu(), time.monotonic()
    time.sleep(idle_s)
    idle_cpu = (rec.cpu() - c0) / (time.monotonic() - t0) * 100

    # sustained: per 10 ms tick, rate/100 events: 2/3 moves, 1/6 key events, 1/6 button events
    per_tick = max(6, rate // 100)
    n_moves = n_keys = n_buttons = 0
    sent: dict[tuple[int, int], float] = {}
    key_down = button_down = False
    i = 0
    c0, t0 = rec.cpu(), time.monotonic()
    next_t = t0
    while time.monotonic() - t0 < seconds:
        for j in range(per_tick):
            slot = j % 6
            if slot < 4:
                xy = unique_xy(i)
                i += 1
                inj.move(*xy)
                n_moves += 1
                sent[xy] = None
            elif slot == 4:
                key_down = not key_down
                inj.key(key_down)
                n_keys += 1
            else:
                button_down = not button_down
                inj.button(button_down)
                n_buttons += 1
        inj.sync()
        now = time.monotonic()
        for xy, v in sent.items():
            if v is None:
                sent[xy] = now
        next_t += 0.01
        time.sleep(max(0.0, next_t - time.monotonic()))
    if key_down:
        inj.key(False)
        n_keys += 1
    if button_down:
        inj.button(False)
        n_buttons += 1
    inj.sync()
    elapsed = time.monotonic() - t0
    time.sleep(0.2)  # let the recorder finish the backlog (p99 latency is a few ms)
    busy_cpu = (rec.cpu() - c0) / (time.monotonic() - t0) * 100
    time.sleep(0.8)
    loaded_lat = [(tail.seen[xy] - t) * 1000 for xy, t in sent.items() if xy in tail.seen]

    # calm: 50 moves/s
    calm: dict[tuple[int, int], float] = {}
    t1 = time.monotonic()
    while time.monotonic() - t1 < 4.0:
        xy = unique_xy(i)
        i += 1
        inj.move(*xy)
        inj.sync()
        calm[xy] = time.monotonic()
        n_moves += 1
        time.sleep(0.02)
    time.sleep(1.0)
    calm_lat = [(tail.seen[xy] - t) * 1000 for xy, t in calm.items() if xy in tail.seen]
    tail.stop_flag.set()
    report = rec.stop()

    counts: dict[str, int] = {}
    with open(rec.path / "events.jsonl") as f:
        for line in f:
            kind = json.loads(line)["kind"]
            counts[kind] = counts.get(kind, 0) + 1
    injected = n_moves + n_keys + n_buttons
    recorded = counts.get("move", 0) + counts.get("key", 0) + counts.get("button", 0)
    return {
        "rate_events_per_s": round((n_moves - len(calm) + n_keys + n_buttons) / elapsed, 1),
        "sustained_s": round(elapsed, 1),
        "injected": injected, "recorded": recorded, "dropped": injected - recorded,
        "recorded_by_kind": counts,
        "injected_by_kind": {"move": n_moves, "key": n_keys, "button": n_buttons},
        "latency_loaded_ms": {"p50": round(pct(loaded_lat, 50), 2), "p99": round(pct(loaded_lat, 99), 2),
                              "n": len(loaded_lat)},
        "latency_calm_ms": {"p50": round(pct(calm_lat, 50), 2), "p99": round(pct(calm_lat, 99), 2),
                            "n": len(calm_lat)},
        "cpu_idle_pct": round(idle_cpu, 1), "cpu_sustained_pct": round(busy_cpu, 1),
        "fidelity_report": report.strip().splitlines()[-8:],
    }


def bench_active(display: str, tmp: Path, seconds: float, busy: bool) -> dict:
    """About one action a second, as a person works: glide, click, type, scroll."""
    from recorder.platform.x11 import Injector as PagInjector
    from recorder_app import ProbeApp

    env = dict(os.environ, DISPLAY=display)
    rnd = random.Random(7)
    app_dir = tmp / ("busy" if busy else "flat")
    app_dir.mkdir()
    with ProbeApp(app_dir, busy=busy, env=env) as app:
        inj = PagInjector(display)
        p = inj._p
        w = app.widgets
        rec = Recording(display, tmp, "active-busy" if busy else "active-flat")
        time.sleep(0.5)
        c0, t0 = rec.cpu(), time.monotonic()
        n_actions = 0
        words = "export report quarterly numbers invoice draft final review".split()
        while time.monotonic() - t0 < seconds:
            choice = rnd.random()
            target = rnd.choice(["entry", "entry2", "button"] + (["text"] if busy else []))
            x, y = w[target]
            p.moveTo(x + rnd.randint(-30, 30), y + rnd.randint(-5, 5), duration=rnd.uniform(0.2, 0.5))
            if choice < 0.5:
                p.click()
                n_actions += 1
                if target != "button":
                    time.sleep(0.3)
                    for ch in rnd.choice(words) + " ":
                        inj.type_text(ch)
                        time.sleep(rnd.uniform(0.05, 0.12))
                    n_actions += 1
            elif choice < 0.7:
                cx, cy = w["canvas"]
                p.moveTo(cx, cy, duration=0.3)
                direction = rnd.choice([-1, 1])  # one burst, one direction: one scroll action
                for _ in range(rnd.randint(2, 5)):
                    inj.scroll(direction)
                    time.sleep(0.06)
                n_actions += 1
            elif choice < 0.85:
                p.click()
                inj.hotkey(rnd.choice(["ctrl+a", "ctrl+s", "end", "home"]))
                n_actions += 2
            else:
                cx, cy = w["canvas"]
                p.moveTo(cx - 100, cy, duration=0.2)
                p.dragTo(cx + 100, cy + 50, duration=0.4, button="left")
                n_actions += 1
            time.sleep(rnd.uniform(0.3, 0.8))
        elapsed = time.monotonic() - t0
        cpu = (rec.cpu() - c0) / elapsed * 100
        report = rec.stop()
    size = sum(f.stat().st_size for f in rec.path.rglob("*") if f.is_file())
    frames = len(list((rec.path / "frames").glob("*.png")))
    actions = sum(1 for _ in open(rec.path / "actions.jsonl"))
    return {"screen": "busy (text + colour)" if busy else "flat form", "seconds": round(elapsed, 1),
            "actions": actions, "actions_performed": n_actions, "frames": frames,
            "mb": round(size / 1e6, 2), "mb_per_min": round(size / 1e6 / (elapsed / 60), 2),
            "kb_per_frame": round(size / 1e3 / max(1, frames), 1), "cpu_pct": round(cpu, 1),
            "fidelity_report": report.strip().splitlines()[-8:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=int, default=600, help="injected events per second (default 600)")
    ap.add_argument("--seconds", type=float, default=10, help="sustained input duration (default 10)")
    ap.add_argument("--idle-seconds", type=float, default=10)
    ap.add_argument("--active-seconds", type=float, default=60)
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="deskact-bench-") as tmp, VirtualDisplay(1280, 800) as vd:
        tmp = Path(tmp)
        results["throughput"] = bench_throughput(vd.display, tmp, a.rate, a.seconds, a.idle_seconds)
        print(json.dumps(results["throughput"], indent=1), flush=True)
        for busy in (False, True):
            key = "active_busy" if busy else "active_flat"
            results[key] = bench_active(vd.display, tmp, a.active_seconds, busy)
            print(json.dumps(results[key], indent=1), flush=True)
    results["machine"] = {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
