"""Look at why a bundle fails: run it on diagnosis seeds with a report per run.

    .venv/bin/python scripts/diagnose.py BUNDLE --task signin --perturb popup layout --runs 10 --out DIR

Each run is `agent.practice.rollout` (the path the benchmark takes), by default on seeds
700000.. (the benchmark's demos use 1000.., practice 20000..); seeds that reach the evaluation
seeds 900000.. are refused. Each run leaves DIR/<task>-<change>-<seed>/report.html: every
screen, the candidates and the critic's scores. Prints, per change, how the
runs ended: success, wrong action (the app reported a failure an action caused), abstain, `done`
without success, other.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIAGNOSIS_SEED = 700000


def ending(r: dict) -> str:
    if r["outcome"] == "success":
        return "success"
    if r.get("wrong_action"):
        return "wrong"
    if r.get("abstained"):
        return "abstain"
    return "done" if r.get("status") == "done" else r.get("status") or "other"


def main(argv=None) -> int:
    from agent.bench import EVAL_SEED
    from agent.practice import Target, run_many

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--task", required=True)
    ap.add_argument("--perturb", nargs="+", default=["none"], help="UI changes, one set of runs each")
    ap.add_argument("--runs", type=int, default=6, help="runs per change")
    ap.add_argument("--seed", type=int, default=DIAGNOSIS_SEED, help="first seed (default 700000)")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--out", required=True, help="folder for the reports and results.json")
    a = ap.parse_args(argv)
    if a.seed + a.runs > EVAL_SEED:
        print(f"Error: seeds {a.seed}..{a.seed + a.runs - 1} reach the evaluation seeds ({EVAL_SEED}..): "
              "nothing may be tuned on those", file=sys.stderr)
        return 1
    out = Path(a.out)
    jobs = [dict(bundle=a.bundle, target=Target(task=a.task, perturb=p), seed=a.seed + i,
                 report=str(out / f"{a.task}-{p}-{a.seed + i}")) for p in a.perturb for i in range(a.runs)]
    results = run_many(jobs, a.parallel)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    for p in a.perturb:
        counts = Counter(ending(r) for r in results if r["perturb"] == p)
        print(f"{a.task} {p}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()) + f" (of {a.runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
