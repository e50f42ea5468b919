"""`deskact demo`: record scripted demonstrations of a built-in task.

Each episode runs the task app on its own private Xvfb, the scripted demonstrator drives it
through real XTEST input, and the real recorder records it exactly as it would a person."""
from __future__ import annotations

import time
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo", help="record scripted demonstrations of a built-in task",
        description="Open a built-in task on a private virtual display, perform it with a scripted "
                    "'person' (real X input, human-like motion and typing) and record each run with "
                    "the real recorder: one episode folder per run, outcome as the app reported it.")
    p.add_argument("task", help="built-in task name (see `deskact sandbox list`)")
    p.add_argument("--episodes", "-n", type=int, default=5, help="how many runs to record (default 5)")
    p.add_argument("--out", required=True, help="folder to write episode folders into")
    p.add_argument("--seed", type=int, default=0, help="seed of the first run; run i uses seed+i (default 0)")
    p.add_argument("--perturb", default="none", help="UI changes, e.g. 'layout:0.5,theme' or 'all' (default none)")
    p.add_argument("--fumble", type=float, default=0.0,
                   help="probability per step of a plausible wrong action (default 0): failures are data too")
    p.add_argument("--speed", type=float, default=1.0, help="demonstrator speed factor (default 1: human pace)")
    p.set_defaults(func=run)


def run(args) -> int:
    from recorder.errors import DeskactError
    from sandbox import perturb, tasks
    from sandbox.demos import record_demo

    if args.episodes < 1:
        raise DeskactError(f"--episodes must be at least 1, got {args.episodes}")
    if not 0.0 <= args.fumble <= 1.0:
        raise DeskactError(f"--fumble must be within 0..1, got {args.fumble}")
    tasks.get(args.task)
    perturb.parse(args.perturb)  # fail on a bad spec before starting anything
    out = Path(args.out)
    counts = {"success": 0, "failure": 0}
    for i in range(args.episodes):
        seed = args.seed + i
        folder = out / f"{args.task}-s{seed:05d}"
        t0 = time.monotonic()
        result = record_demo(args.task, seed, args.perturb, folder, fumble=args.fumble, speed=args.speed)
        counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
        why = f" ({result['reason']})" if result.get("reason") else ""
        print(f"[{i + 1}/{args.episodes}] {folder}: {result['outcome']}{why}, "
              f"{result['actions']} actions, {time.monotonic() - t0:.1f} s", flush=True)
    print(f"Recorded {args.episodes} episodes into {out}: {counts.get('success', 0)} success, "
          f"{counts.get('failure', 0)} failure.")
    return 0
