"""Look at why a bundle fails: run it on diagnosis seeds with a report per run.

    .venv/bin/python scripts/diagnose.py BUNDLE --task signin --perturb popup layout --runs 10 --out DIR

Each run is `agent.practice.rollout` (the path the benchmark takes), by default on seeds
700000.. (the benchmark's demos use 1000.., practice 20000..); seeds that reach the evaluation
seeds 900000.. are refused. Each run leaves DIR/<task>-<change>-<seed>/report.html: every
screen, the candidates and the critic's scores. Prints, per change, how the
runs ended: success, wrong action (the app reported a failure an action caused), abstain, `done`
without success, other; and, over the decisions taken on track before a click (the sandbox
knows where its target is), whether the right click was among the candidates, ranked first by
the critic, and over the bundle's threshold: candidates or critic, which one failed.
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


def right_click(task: str, step: dict) -> tuple[int, float] | None | bool:
    """For one report step: (rank, score) of the first candidate whose first action is the task's
    next click (on the popup's Close while it is up), None if no candidate is, False when the
    decision is not judged (off track, the next step is no click, the target is not shown)."""
    from agent.practice import CLICK_KINDS
    from sandbox import tasks

    sb = step.get("sandbox")
    if not sb:
        return False
    steps = tasks.get(task).steps
    # the workflow's steps so far (a scroll step may take several bursts of the wheel)
    so_far = [k for i, k in enumerate(sb["executed"]) if not (k == "scroll" and i and sb["executed"][i - 1] == "scroll")]
    clicks = [c for c in sb["clicks"] if c != "popup_close"]
    if so_far != [s.kind for s in steps][:len(so_far)] or clicks != [s.target for s in steps if s.kind in CLICK_KINDS][:len(clicks)]:
        return False
    if "popup_close" in sb["targets"]:
        kind, name = "click", "popup_close"
    elif len(so_far) < len(steps) and steps[len(so_far)].kind in CLICK_KINDS:
        kind, name = steps[len(so_far)].kind, steps[len(so_far)].target
    else:
        return False
    if name not in sb["targets"]:
        return False
    x0, y0, w, h = sb["targets"][name]
    W, H = sb["size"]
    for i, c in enumerate(step["candidates"]):
        a = c["actions"][0] if c["actions"] else {}
        if a.get("kind") == kind and x0 <= a["x"] * W <= x0 + w and y0 <= a["y"] * H <= y0 + h:
            return i, c["score"]
    return None


def judged(task: str, folders, threshold: float) -> str:
    """One line on the decisions before a click, over the run reports in `folders`."""
    n = found = first = passed = 0
    for folder in folders:
        rep = json.loads((Path(folder) / "report.json").read_text(encoding="utf-8"))
        for step in rep["steps"]:
            r = right_click(task, step)
            if r is False:
                continue
            n += 1
            found += r is not None
            first += r is not None and r[0] == 0
            passed += r is not None and r[0] == 0 and r[1] >= threshold
    return (f"{n} decisions before a click, on track: the right click among the candidates in {found}, "
            f"ranked first in {first}, and over the threshold {threshold:.2f} in {passed}")


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
    from sandbox import perturb
    try:
        for p in a.perturb:
            perturb.parse(p)
    except perturb.PerturbError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 2
    out = Path(a.out)
    jobs = [dict(bundle=a.bundle, target=Target(task=a.task, perturb=p), seed=a.seed + i,
                 report=str(out / f"{a.task}-{p}-{a.seed + i}")) for p in a.perturb for i in range(a.runs)]
    results = run_many(jobs, a.parallel)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    threshold = float(json.loads((Path(a.bundle) / "bundle.json").read_text())["abstain_threshold"])
    for p in a.perturb:
        counts = Counter(ending(r) for j, r in zip(jobs, results) if j["target"].perturb == p)
        print(f"{a.task} {p}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()) + f" (of {a.runs})")
        mine = [j["report"] for j in jobs if j["target"].perturb == p and (Path(j["report"]) / "report.json").exists()]
        print("  " + judged(a.task, mine, threshold))
    return 0


if __name__ == "__main__":
    sys.exit(main())
