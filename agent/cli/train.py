"""`deskact train EPISODES... --out BUNDLE`: learn a policy and a critic from demonstrations.

Thin: parses arguments, imports torch lazily (so `deskact --help` works without it) and shows
progress; the work is in models/train.py."""
from __future__ import annotations

import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train a policy and a critic from recorded episodes into a bundle",
        description="Train the policy (proposes action chunks) and the critic (tells a good chunk from a "
                    "harmful one) from episode folders, export both to ONNX and write a bundle folder. "
                    "Episodes whose outcome is failure train only the critic. Some demonstrations are held "
                    "out: the offline evaluation printed at the end (and stored in bundle.json) is on them.")
    p.add_argument("episodes", nargs="+", metavar="EPISODES", help="episode folders, or folders holding them")
    p.add_argument("--out", required=True, metavar="BUNDLE", help="bundle folder to write (replaced if it is a bundle)")
    p.add_argument("--chunk-size", type=int, default=4, metavar="K", help="actions per chunk (default 4)")
    p.add_argument("--steps", type=int, default=300, metavar="N", help="policy optimiser steps (default 300)")
    p.add_argument("--critic-steps", type=int, metavar="N", help="critic optimiser steps (default 3 x --steps)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0): same seed, same data, same bundle")
    p.add_argument("--failures", nargs="+", default=[], metavar="DIR",
                   help="folders of failed episodes (fumbled demos, practice runs): critic negatives only")
    p.add_argument("--policy-from", metavar="BUNDLE",
                   help="keep this bundle's policy and fine-tune its critic (after practice: much faster; "
                        "--critic-steps then defaults to --steps)")
    p.add_argument("--holdout", type=float, default=0.2, help="share of demonstrations held out for evaluation (default 0.2)")
    p.add_argument("--skip-bad", action="store_true", help="train on the good episodes and list the bad ones")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch (default 2)")
    p.set_defaults(func=run)


def run(args) -> int:
    from recorder.errors import DeskactError

    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise DeskactError("training needs the train extra: pip install 'deskact[train]'") from None
    from tqdm import tqdm

    from models.train import TrainConfig, summary_lines, train

    try:
        cfg = TrainConfig(chunk_size=args.chunk_size, steps=args.steps, critic_steps=args.critic_steps, seed=args.seed, holdout=args.holdout,
                          skip_bad=args.skip_bad, threads=args.threads)
    except ValueError as e:
        raise DeskactError(str(e).replace("TrainConfig.", "--").replace("_", "-")) from None

    bars: dict = {}

    def progress(stage, step, total, info):
        if stage not in ("policy", "critic", "evaluate") and not stage.startswith("check"):
            if stage == "load" and step == total:
                tqdm.write(f"Loaded {info['episodes']} demonstrations, {info['failures']} failed episodes"
                           + (f", skipped {info['skipped']} bad ones" if info.get("skipped") else "") + ".")
            return
        bar = bars.get(stage)
        if bar is None:
            # a log file (not a terminal) gets an update every 10 s, not one per step
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="step", dynamic_ncols=True, leave=True,
                                     mininterval=0.2 if sys.stderr.isatty() else 10.0)
        post = {k: f"{v:.3f}" for k, v in info.items() if isinstance(v, float)}
        if post:
            bar.set_postfix(post, refresh=False)
        bar.update(step - bar.n)  # redraws at most every mininterval
        if step >= total:
            bar.close()

    try:
        meta = train(args.episodes, args.out, cfg, failures=args.failures, progress=progress,
                     policy_from=args.policy_from)
    finally:
        for bar in bars.values():
            bar.close()
    for line in summary_lines(meta):
        print(line)
    print(f"Bundle written to {args.out}")
    return 0
