"""`deskact bench`: the end-to-end benchmark (macro vs policy vs policy + critic, per UI change)."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench", help="run the whole pipeline per task and UI change and tabulate success rates",
        description="For each built-in task: record scripted demos with the real recorder, train bundles, "
                    "practise, then run every method (A macro replay, B policy alone, C policy + critic, "
                    "D after practice, E policy on 2N demos, F policy on N demos + critic on N failures) on "
                    "the same evaluation seeds under each UI change. Writes OUT/table.md and OUT/results.json.")
    p.add_argument("--tasks", nargs="+", help="tasks (default: all built-in tasks)")
    p.add_argument("--perturb", nargs="+", dest="perturbations", help="UI changes (default: none layout theme "
                   "window resolution popup decoy all)")
    p.add_argument("--episodes", type=int, dest="eval_episodes", help="evaluation runs per task, change and method")
    p.add_argument("--demos", type=int, help="N demonstrations per task (E gets 2N)")
    p.add_argument("--steps", type=int, help="training steps per model")
    p.add_argument("--practice", type=int, dest="practice_episodes",
                   help="practice rollouts per task, spread over the changes (default 24)")
    p.add_argument("--methods", help="which methods, e.g. ABCD (default ABCDEF)")
    p.add_argument("--parallel", type=int, help="runs at once, each on its own display (default 3)")
    p.add_argument("--out", default="bench-out", help="output folder (default bench-out); reused parts are kept")
    p.add_argument("--quick", action="store_true", help="a small version that runs in about five minutes")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..bench import BenchConfig, run_bench

    kw = {k: getattr(args, k) for k in ("tasks", "perturbations", "eval_episodes", "demos", "steps", "methods",
                                        "parallel", "practice_episodes") if getattr(args, k) is not None}
    cfg = BenchConfig.quick(args.out, **kw) if args.quick else BenchConfig(out=args.out, **kw)
    report = run_bench(cfg)
    print((cfg.out / "table.md").read_text())
    print(f"Raw results: {cfg.out / 'results.json'} ({report['seconds'] / 60:.1f} min)")
    return 0
