#!/usr/bin/env python3
"""Training speed of code checkouts, side by side (docs/benchmarks.md, "All seven tasks: faster training steps").

Each checkout trains, in its own one-thread process and at the same time as the others (as the
bench's two training processes do), a C-like bundle from a bench folder's demos and then a
D-like critic fine-tune from that bundle's practice rollouts. Run two checkouts at once on
2 cores: the machine is noisy, only times measured together compare.

    .venv/bin/python scripts/bench_train_speed.py --bench /tmp/b20 --task signin OLD_CHECKOUT NEW_CHECKOUT
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ONE = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from models.train import TrainConfig, train
task, out, steps, n = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
d = json.load(open(f"{task}/bundle-D/bundle.json"))["training"]
demos = sorted(str(p) for p in Path(task, "demos").iterdir())[:n]
t0 = time.monotonic()
c = train(demos, out + "/C", TrainConfig(steps=steps, critic_steps=2 * steps, seed=0, threads=1))
t1 = time.monotonic()
train(d["episodes"] + d["held_out"], out + "/D", TrainConfig(steps=steps, seed=0, threads=1),
      failures=d["failures"] + d["held_out_failures"], policy_from=out + "/C")
t2 = time.monotonic()
print(json.dumps({"C policy s": c["training"]["policy_seconds"], "C critic s": c["training"]["critic_seconds"],
                  "C all s": round(t1 - t0, 1), "D all s": round(t2 - t1, 1)}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkouts", nargs="+", help="folders of deskact checkouts to compare")
    ap.add_argument("--bench", required=True, help="a finished `deskact bench --out` folder")
    ap.add_argument("--task", default="signin")
    ap.add_argument("--steps", type=int, default=100, help="policy steps (critic: twice; D: as many)")
    ap.add_argument("--demos", type=int, default=8)
    a = ap.parse_args()
    task = Path(a.bench) / a.task
    if not (task / "bundle-D" / "bundle.json").exists():
        sys.exit(f"bench_train_speed: {task}/bundle-D/bundle.json not found (needs a finished bench folder)")
    with tempfile.TemporaryDirectory() as tmp:
        procs = [subprocess.Popen([sys.executable, "-c", ONE, str(Path(c).resolve()), str(task), f"{tmp}/{i}",
                                   str(a.steps), str(a.demos)], stdout=subprocess.PIPE, text=True)
                 for i, c in enumerate(a.checkouts)]
        for c, p in zip(a.checkouts, procs):
            out, _ = p.communicate()
            print(c, out.strip().splitlines()[-1] if p.returncode == 0 and out.strip() else f"failed ({p.returncode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
