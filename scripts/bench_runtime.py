"""Runtime benchmark (issue 5): decision latency, peak memory of `deskact run`, and the agent's
wall time against the person's.

    .venv/bin/python scripts/bench_runtime.py [--bundle B] [--task signin] [--runs 100]

Without --bundle it records 8 scripted demos (seeds 1000..1007, at human pace) and trains a
bundle first; with --bundle, the person's time is read from the demonstrations it was trained on. Latency = screen grab (mss) to chosen chunk (preprocess, policy, candidates incl.
exemplar matches, one batched critic call), K=16, on the task's 1280x800 private display.
Peak RSS = the highest VmRSS of the `deskact run` process, sampled every 20 ms. Wall time =
`deskact run --sandbox` seconds from start to the app's outcome vs the recorded demonstration's
duration (human pace), same task, evaluation seeds 900000.. (never used in training).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_bundle(task: str, root: Path) -> tuple[Path, list[float]]:
    from models.train import TrainConfig, train
    from sandbox.demos import record_demo

    durations = []
    for s in range(1000, 1008):
        folder = root / "demos" / f"{task}-{s}"
        r = record_demo(task, s, "none", folder, speed=1.0)
        if r["outcome"] == "success":
            durations.append(json.loads((folder / "meta.json").read_text())["recorder"]["summary"]["duration"])
    train([str(root / "demos")], root / "bundle", TrainConfig(seed=0))
    return root / "bundle", durations


def demo_durations(bundle: Path) -> list[float]:
    """Recorded durations of the demonstrations a bundle was trained on (those still on disk)."""
    tr = json.loads((bundle / "bundle.json").read_text()).get("training", {})
    out = []
    for ep in tr.get("episodes", []) + tr.get("held_out", []):
        meta = Path(ep) / "meta.json"
        if meta.exists():
            d = json.loads(meta.read_text()).get("recorder", {}).get("summary", {}).get("duration")
            if d:
                out.append(float(d))
    return out


def latency(bundle: Path, task: str, runs: int) -> dict:
    from agent.decide import Agent
    from agent.screen import Screen
    from sandbox.harness import TaskSession

    agent = Agent.load(bundle, candidates=16)
    with TaskSession(task, seed=900000) as s:
        os.environ["DISPLAY"] = s.display
        screen = Screen(display=s.display)
        times = []
        for i in range(runs + 5):
            t0 = time.perf_counter()
            frame = screen.grab()
            d = agent.decide(frame, (0.5, 0.5), [])
            dt = time.perf_counter() - t0
            if i >= 5:  # warm-up
                times.append(dt)
    times.sort()
    return {"runs": runs, "candidates": len(d.candidates), "p50_ms": 1000 * statistics.median(times),
            "p99_ms": 1000 * times[min(len(times) - 1, int(0.99 * len(times)))], "max_ms": 1000 * times[-1]}


def run_and_watch(bundle: Path, task: str, seed: int) -> dict:
    out = Path(tempfile.mkdtemp()) / "r.json"
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-m", "agent", "run", str(bundle), "--sandbox", task, "--seed", str(seed),
                          "--json", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    peak = 0
    while p.poll() is None:
        try:
            for line in open(f"/proc/{p.pid}/status"):
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]))
        except FileNotFoundError:
            break
        time.sleep(0.02)
    r = json.loads(out.read_text()) if out.exists() else {}
    return {"peak_rss_mb": peak / 1024, "wall_s": time.monotonic() - t0, "agent_s": r.get("seconds"),
            "outcome": (r.get("app_outcome") or {}).get("outcome"), "steps": r.get("steps")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle")
    ap.add_argument("--task", default="signin")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--json")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    durations = []
    bundle = Path(a.bundle) if a.bundle else None
    if bundle is None:
        bundle, durations = make_bundle(a.task, work)
    else:
        durations = demo_durations(bundle)
    lat = latency(bundle, a.task, a.runs)
    runs = [run_and_watch(bundle, a.task, 900010 + i) for i in range(3)]
    res = {"latency": lat, "runs": runs, "demo_seconds": durations,
           "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}
    if durations:
        ok = [r["agent_s"] for r in runs if r["outcome"] == "success" and r["agent_s"]]
        res["agent_vs_person"] = (statistics.median(ok) / statistics.median(durations)) if ok else None
    print(json.dumps(res, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
