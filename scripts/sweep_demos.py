#!/usr/bin/env python3
"""Run the scripted demonstrator over every task × perturbation (each alone, then all at once)
× seed, each on a private Xvfb, and print success rates, plus one fully fumbled run per task
and seed (which the app must report as a failure with a reason).

    .venv/bin/python scripts/sweep_demos.py [--seeds 3] [--speed 4] [--tasks signin,rename]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recorder.errors import DeskactError  # noqa: E402
from sandbox import perturb  # noqa: E402
from sandbox.demonstrator import demonstrate  # noqa: E402
from sandbox.harness import TaskSession  # noqa: E402
from sandbox.tasks import TASKS  # noqa: E402


def run(task: str, pert: str, seed: int, speed: float, fumble: float = 0.0) -> dict:
    try:
        with TaskSession(task, seed=seed, perturb_spec=pert) as s:
            return demonstrate(s, random.Random(seed), fumble=fumble, speed=speed)
    except DeskactError as e:
        return {"outcome": "error", "reason": str(e), "seconds": 0.0}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--speed", type=float, default=4.0)
    p.add_argument("--tasks", default=",".join(TASKS))
    a = p.parse_args(argv)
    tasks = [t.strip() for t in a.tasks.split(",") if t.strip()]
    perts = ("none",) + perturb.NAMES + ("all",)
    t0 = time.monotonic()
    table: dict[tuple[str, str], list[dict]] = {}
    fumbles: dict[str, list[dict]] = {}
    problems = []
    for task in tasks:
        for pert in perts:
            for seed in range(a.seeds):
                r = run(task, pert, seed, a.speed)
                table.setdefault((task, pert), []).append(r)
                if r["outcome"] != "success":
                    problems.append(f"{task} {pert} seed={seed}: {r['outcome']}: {r.get('reason')}")
        for seed in range(a.seeds):
            fumbles.setdefault(task, []).append(run(task, "decoy", seed, a.speed, fumble=1.0))
    w = max(len(t) for t in tasks) + 2
    print(f"{'task':<{w}}" + "".join(f"{p:>11}" for p in perts) + f"{'fumble=1':>11}  fumble reasons")
    for task in tasks:
        cells = []
        for pert in perts:
            rs = table[(task, pert)]
            cells.append(f"{sum(r['outcome'] == 'success' for r in rs)}/{len(rs):<2}".rjust(11))
        fr = fumbles[task]
        n_fail = sum(r["outcome"] == "failure" and r.get("reason") and "did not finish" not in r["reason"] for r in fr)
        reasons = Counter(r.get("reason") for r in fr).most_common(2)
        print(f"{task:<{w}}" + "".join(cells) + f"{n_fail}/{len(fr)} failed".rjust(11) + "  "
              + "; ".join(f"{reason} ×{n}" for reason, n in reasons))
    runs = [r for rs in table.values() for r in rs]
    ok = sum(r["outcome"] == "success" for r in runs)
    mean = sum(r["seconds"] for r in runs) / max(1, len(runs))
    print(f"\n{ok}/{len(runs)} demonstrations succeeded; mean {mean:.2f} s per demonstration at speed "
          f"{a.speed:g}; wall time {time.monotonic() - t0:.0f} s")
    for line in problems:
        print("  " + line)
    return 0 if ok == len(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
