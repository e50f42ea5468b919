#!/usr/bin/env python3
"""Trainer benchmark (docs/benchmarks.md, "Trainer").

1. Training: record demonstrations of a built-in task with the real recorder and the scripted
   demonstrator on private Xvfb displays (layout perturbation, seeds 0..N-1, plus a few fumbled
   runs as failures), train a bundle with a fixed seed, then evaluate it on demonstrations of
   UNSEEN seeds (1000..) under the same perturbation: click accuracy (policy alone; policy +
   exemplar candidates + critic, which is what the agent does), kind accuracy, critic AUC.
   A click is right when it lands on the widget the demonstrator acted on (its rectangle, as the
   app published it, is stored in the episode's meta "action_targets") or within 12 px of the
   demonstrated click.
2. Decision latency: policy + critic for 16 candidates from a 1280x800 frame, preprocessing and
   crops included, ONNX Runtime on one thread; median of many runs.

    .venv/bin/python scripts/bench_train.py --task signin --demos 10 --test 20 --steps 300
    .venv/bin/python scripts/bench_train.py --synthetic ...   (no X server: PIL-drawn episodes)
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def record(task: str, seed: int, perturb: str, folder: Path, fumble: float = 0.0, speed: float = 3.0) -> dict:
    """One scripted demonstration recorded by the real recorder (sandbox.demos.record_demo: it
    also stores the rectangle of each target acted on, "action_targets", and for fumbled runs
    the index of the wrong action, "fumble_action")."""
    from sandbox.demos import record_demo

    return record_demo(task, seed, perturb, folder, fumble=fumble, speed=speed)


def record_set(task, seeds, perturb, root: Path, fumble=0.0, want_outcome="success") -> list[Path]:
    out = []
    for seed in seeds:
        folder = root / f"{task}-s{seed:05d}"
        if (folder / "meta.json").exists():
            if json.loads((folder / "meta.json").read_text()).get("outcome") == want_outcome:
                out.append(folder)
            continue
        t0 = time.monotonic()
        res = record(task, seed, perturb, folder, fumble=fumble)
        print(f"  recorded {folder.name}: {res['outcome']} in {time.monotonic() - t0:.1f} s", flush=True)
        if res["outcome"] == want_outcome:
            out.append(folder)
    return out


def latency(bundle_path, frame_rgb, runs: int = 60, threads: int = 1) -> dict:
    import numpy as np

    from models import bundle as bm
    from models import codec
    from models.candidates import Decider, policy_candidates

    b = bm.load(bundle_path)
    d = Decider(b, threads=threads)
    times, times_ex = [], []
    for i in range(runs + 5):
        t0 = time.perf_counter()
        image = codec.preprocess(frame_rgb)
        gray = codec.to_gray(frame_rgb)
        start = codec.history([], b.vocab.start)
        _, out = d.propose(image, (0.5, 0.5), start)
        cands = policy_candidates([o[0] for o in out], k_points=16)
        while len(cands) < 16:
            cands.append(cands[len(cands) % max(1, len(cands))])
        d.score(image, gray, start, cands[:16], 1.0)
        t1 = time.perf_counter()
        from models.candidates import match_exemplars

        match_exemplars(gray, d.exemplars_for(0), 1.0)
        t2 = time.perf_counter()
        if i >= 5:
            times.append((t1 - t0) * 1000)
            times_ex.append((t2 - t1) * 1000)
    return {"decision_ms_median": round(statistics.median(times), 2), "decision_ms_p90": round(sorted(times)[int(0.9 * len(times))], 2),
            "exemplar_match_ms_median": round(statistics.median(times_ex), 2), "threads": threads, "runs": runs,
            "n_exemplars_phase0": len(d.exemplars_for(0)), "np": np.__version__}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="signin")
    p.add_argument("--perturb", default="layout")
    p.add_argument("--demos", type=int, default=10)
    p.add_argument("--failures", type=int, default=3, help="fumbled runs recorded for the critic")
    p.add_argument("--test", type=int, default=20)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--critic-steps", type=int, default=None, help="default: --steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default=str(ROOT / "runs" / "bench_train"))
    p.add_argument("--synthetic", action="store_true", help="PIL-drawn episodes instead of recorded ones")
    a = p.parse_args()

    import numpy as np

    from models import codec
    from models.train import TrainConfig, evaluate_bundle, summary_lines, train

    work = Path(a.work)
    demos_dir, fail_dir, test_dir = work / "demos", work / "failures", work / "test"
    t0 = time.monotonic()
    if a.synthetic:
        from models.synthetic import make_episodes

        make_episodes(demos_dir, range(a.demos), size=(1280, 800))
        make_episodes(fail_dir, range(100, 100 + a.failures), size=(1280, 800), fumble=True)
        make_episodes(test_dir, range(1000, 1000 + a.test), size=(1280, 800))
        source = "synthetic (models/synthetic.py)"
    else:
        print(f"Recording {a.demos} demos, {a.failures} fumbled runs and {a.test} test demos of {a.task} "
              f"({a.perturb})...", flush=True)
        record_set(a.task, range(a.demos), a.perturb, demos_dir)
        fails = []
        s = 200
        while len(fails) < a.failures and s < 260:
            fails += record_set(a.task, [s], a.perturb, fail_dir, fumble=0.5, want_outcome="failure")
            s += 1
        record_set(a.task, range(1000, 1000 + a.test), a.perturb, test_dir)
        source = f"recorded: real recorder + scripted demonstrator on Xvfb, task {a.task}, perturb {a.perturb}"
    rec_s = time.monotonic() - t0
    demos = sorted(p for p in demos_dir.iterdir() if (p / "meta.json").exists()
                   and json.loads((p / "meta.json").read_text()).get("outcome") == "success")[:a.demos]
    bundle_dir = work / "bundle"
    t0 = time.monotonic()
    meta = train(demos, bundle_dir, TrainConfig(steps=a.steps, critic_steps=a.critic_steps, seed=a.seed, threads=2), failures=[fail_dir])
    train_s = time.monotonic() - t0
    print("\n".join(summary_lines(meta)))
    test_ev = evaluate_bundle(bundle_dir, [test_dir])
    frame = codec.load_frame(sorted((test_dir.iterdir()))[0] / "frames" / json.loads(
        (sorted(test_dir.iterdir())[0] / "actions.jsonl").read_text().splitlines()[0])["frame"])
    if frame.shape[:2] != (800, 1280):
        import cv2

        frame = cv2.resize(frame, (1280, 800))
    lat = latency(bundle_dir, np.ascontiguousarray(frame))
    res = {"source": source, "demos": len(demos), "failures": len(meta["training"]["failures"]) + len(meta["training"]["held_out_failures"]),
           "steps": a.steps, "critic_steps": a.critic_steps or a.steps, "train_seconds": round(train_s, 1),
           "policy_seconds": meta["training"]["policy_seconds"], "critic_seconds": meta["training"]["critic_seconds"], "record_seconds": round(rec_s, 1),
           "held_out": meta["evaluation"], "unseen_seeds": test_ev, "latency": lat,
           "parity": meta["onnx_parity_max_abs_diff"], "abstain_threshold": meta["abstain_threshold"]}
    (work / "result.json").write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k != "held_out"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
