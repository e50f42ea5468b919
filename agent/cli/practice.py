"""`deskact practice`: the agent practises in a sandbox and keeps every rollout as an episode."""
from __future__ import annotations

from collections import Counter


def add_parser(sub) -> None:
    p = sub.add_parser(
        "practice", help="run the agent many times in a sandbox to collect labelled failures",
        description="Runs the agent on private virtual displays, exploring (sampling candidates instead of "
                    "always taking the best) so that it makes mistakes. Every rollout is recorded as an "
                    "episode with the outcome the app reported; retrain the critic on them with "
                    "`deskact train DEMOS --failures OUT`.")
    p.add_argument("bundle", help="a trained bundle")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--task", help="a built-in task (see `deskact sandbox list`)")
    g.add_argument("--app", metavar="COMMAND", help="your own app: the command that starts it")
    p.add_argument("--success-image", metavar="PNG", help="with --app: the run succeeded if this is on screen at the end")
    p.add_argument("--success-cmd", metavar="COMMAND", help="with --app: the run succeeded if this exits 0")
    p.add_argument("--perturb", default="none", help="UI changes for built-in tasks, e.g. layout,theme or all")
    p.add_argument("--episodes", "-n", type=int, default=10, help="rollouts (default 10)")
    p.add_argument("--out", required=True, help="folder for the rollout episodes")
    p.add_argument("--parallel", "-p", type=int, default=1, help="rollouts at once, each on its own display (default 1)")
    p.add_argument("--explore", type=float, default=1.0,
                   help="sampling temperature over the critic's scores (default 1.0; 0 = always the best)")
    p.add_argument("--seed", type=int, default=20000, help="seed of the first rollout (default 20000)")
    p.add_argument("--max-steps", type=int, default=20, help="actions per rollout at most (default 20)")
    p.set_defaults(func=run)


def run(args) -> int:
    from recorder.errors import DeskactError
    from sandbox import perturb, tasks

    from ..practice import Target, practice

    if args.episodes < 1 or args.parallel < 1:
        raise DeskactError("--episodes and --parallel must be at least 1")
    if args.explore < 0:
        raise DeskactError(f"--explore must be >= 0, got {args.explore}")
    if args.task:
        tasks.get(args.task)
        perturb.parse(args.perturb)
    elif bool(args.success_image) == bool(args.success_cmd):
        raise DeskactError("with --app, give exactly one of --success-image PNG or --success-cmd COMMAND")
    target = Target(task=args.task, perturb=args.perturb, app=args.app, success_image=args.success_image,
                    success_cmd=args.success_cmd)
    from tqdm import tqdm

    bar = tqdm(total=args.episodes, desc="practice", unit="run", mininterval=1.0)
    counts: Counter = Counter()

    def progress(r):
        counts[r["outcome"]] += 1
        bar.set_postfix(success=counts["success"], failure=counts["failure"], refresh=False)
        bar.update(1)

    try:
        results = practice(args.bundle, target, args.episodes, args.out, seed=args.seed, parallel=args.parallel,
                           explore=args.explore, max_steps=args.max_steps, progress=progress)
    finally:
        bar.close()
    errors = [r for r in results if r["outcome"] == "error"]
    print(f"{len(results)} rollouts into {args.out}: {counts['success']} success, {counts['failure']} failure"
          + (f", {len(errors)} could not run ({errors[0]['reason']})" if errors else "") + ".")
    print(f"Retrain the critic with them: deskact train DEMOS --failures {args.out} --out BUNDLE")
    return 1 if errors and len(errors) == len(results) else 0
