"""The benchmark behind our claim, run end to end: for each built-in task, scripted demos are
recorded by the real recorder, bundles are trained, the agent practises, and every method is
run on the same fresh evaluation seeds under each UI change. Nothing in the table comes from
anything but those runs.

Methods (see README "Benchmark"):
  A macro      replay of demo 0 at its recorded pixels
  B policy     the policy alone (its best chunk, no critic; only the runner's own stops apply)
  C critic     policy + critic trained on synthetic negatives only
  D practised  policy + critic retrained with practice (failed rollouts as negatives, successful
               ones as demonstrations on changed screens; practice also meets the removed target)
  E 2N demos   a policy trained on twice the demonstrations, no critic
  F N+fails    the policy on N demos + a critic trained on N failed practice runs

Seeds never overlap: demos 1000.., practice 20000.., evaluation 900000.. (the same evaluation
seeds for every method, so methods are compared on the same screens). Nothing is tuned on
evaluation seeds.

Schedule (2 cores): every task's demos first, on an idle machine; then per task C and E side by
side, practice, D and F side by side (two one-thread processes do more than one two-thread
one); a task's evaluation runs in the background while the next task trains.
"""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from recorder.errors import DeskactError

DEMO_SEED, PRACTICE_SEED, EVAL_SEED = 1000, 20000, 900000
CHANGES = ("none", "layout", "theme", "window", "resolution", "popup", "decoy", "all")
METHODS = {"A": "macro replay", "B": "policy alone", "C": "policy + critic (synthetic negatives)",
           "D": "policy + critic after practice", "E": "policy on 2N demos, no critic",
           "F": "policy on N demos + critic on N failed practice runs"}


@dataclass
class BenchConfig:
    out: Path
    tasks: list[str] = field(default_factory=list)  # default: every built-in task
    perturbations: list[str] = field(default_factory=lambda: list(CHANGES))
    demos: int = 8  # N
    eval_episodes: int = 3  # per task x change x method
    practice_episodes: int = 24  # exploring rollouts per task, spread over the changes
    explore: float = 1.0
    steps: int = 300  # training steps per model
    parallel: int = 3  # runs mostly wait for screens to settle: three at once still fit 2 cores
    impossible_episodes: int = 3  # D on the task with its target removed
    methods: str = "ABCDEF"
    demo_speed: float = 3.0

    def __post_init__(self):
        from sandbox import perturb, tasks

        self.out = Path(self.out)
        self.tasks = list(self.tasks) or list(tasks.TASKS)
        for t in self.tasks:
            tasks.get(t)
        for p in self.perturbations:
            perturb.parse(p)
        for name in ("demos", "eval_episodes", "steps", "parallel"):
            if getattr(self, name) < 1:
                raise DeskactError(f"bench: {name} must be at least 1, got {getattr(self, name)}")
        bad = set(self.methods) - set(METHODS)
        if bad:
            raise DeskactError(f"bench: unknown methods {''.join(sorted(bad))} (choose from {''.join(METHODS)})")

    @classmethod
    def quick(cls, out, **kw) -> "BenchConfig":
        """About five minutes on 2 cores: one task, three changes, tiny training."""
        base = dict(tasks=["signin"], perturbations=["none", "layout", "decoy"], demos=4, eval_episodes=2,
                    practice_episodes=6, steps=100, impossible_episodes=2)
        base.update({k: v for k, v in kw.items() if v is not None})
        return cls(out=out, **base)


def run_bench(cfg: BenchConfig, log=print) -> dict:
    t_start = time.monotonic()
    cfg.out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = defaultdict(float)  # evaluation overlaps the next task's phases
    background = ThreadPoolExecutor(max_workers=1)  # one task's evaluation at a time
    cancel = threading.Event()
    try:
        results = _run_tasks(cfg, background, cancel, timings, log)
    except BaseException:
        cancel.set()  # Ctrl+C or an error: the background runs stop too, leaving nothing behind
        raise
    finally:
        background.shutdown(wait=True)
    total = time.monotonic() - t_start
    report = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
              "seeds": {"demos": DEMO_SEED, "practice": PRACTICE_SEED, "evaluation": EVAL_SEED},
              "seconds": total, "timings": dict(timings), "results": results}
    (cfg.out / "results.json").write_text(json.dumps(report, indent=1, default=str))
    (cfg.out / "table.md").write_text(table(results, cfg))
    return report


def _run_tasks(cfg: BenchConfig, background, cancel, timings: dict, log) -> list[dict]:
    from sandbox.demos import record_demo
    from sandbox.perturb import IMPOSSIBLE

    from .practice import Target, run_many

    # 1. demonstrations of every task first, on an otherwise idle machine (2N: E trains on all
    # of them, everything else on the first N)
    demos_of = {}
    for task in cfg.tasks:
        t0 = time.monotonic()
        demos = []
        for i in range(2 * cfg.demos if "E" in cfg.methods else cfg.demos):
            folder = cfg.out / task / "demos" / f"{task}-s{DEMO_SEED + i:05d}"
            if not (folder / "meta.json").exists():
                record_demo(task, DEMO_SEED + i, "none", folder, speed=cfg.demo_speed)
            if json.loads((folder / "meta.json").read_text())["outcome"] == "success":
                demos.append(folder)
        if len(demos) < 2:
            raise DeskactError(f"bench: fewer than 2 successful demonstrations of {task}")
        demos_of[task] = demos
        timings["demos"] += time.monotonic() - t0
        log(f"[{task}] {len(demos)} demos recorded ({time.monotonic() - t0:.0f} s)")

    results: list[dict] = []
    evaluating = None
    for task in cfg.tasks:
        root = cfg.out / task
        first, all_demos = demos_of[task][:cfg.demos], demos_of[task]
        # 2. bundles. E needs nothing but the demos: it trains beside C
        t0 = time.monotonic()
        specs = {"C": dict(episodes=first, out=root / "bundle-C")}
        if "E" in cfg.methods:
            specs["E"] = dict(episodes=all_demos, out=root / "bundle-E", critic_steps=max(10, cfg.steps // 10))
        bundles = _train_side_by_side(specs, cfg)
        timings["training"] += time.monotonic() - t0
        fails: list[Path] = []
        if set("DF") & set(cfg.methods):
            t0 = time.monotonic()
            changes = [p for p in cfg.perturbations if p != "all"] or ["none"]
            if cfg.impossible_episodes:
                # practice meets a removed target too (its own seeds): a look-alike clicked where
                # the target is gone is the failure that teaches the critic to stop
                changes.append(IMPOSSIBLE)
            jobs = [dict(bundle=str(bundles["C"]), target=Target(task=task, perturb=changes[i % len(changes)]),
                         seed=PRACTICE_SEED + i, folder=str(root / "practice" / f"{task}-p{PRACTICE_SEED + i:05d}"),
                         explore=cfg.explore) for i in range(cfg.practice_episodes)]
            jobs = [j for j in jobs if not Path(j["folder"]).exists()]
            run_many(jobs, cfg.parallel)
            outcomes = {p.parent: json.loads(p.read_text())["outcome"] for p in (root / "practice").glob("*/meta.json")}
            # D and F keep C's tables of keys and texts: a rollout that typed something else
            # (two texts run together) cannot be written in them
            fails = _same_vocab(sorted(p for p, o in outcomes.items() if o == "failure"), bundles["C"])
            wins = _same_vocab(sorted(p for p, o in outcomes.items() if o == "success"), bundles["C"])
            timings["practice"] += time.monotonic() - t0
            log(f"[{task}] practice: {len(fails)} failed and {len(wins)} successful rollouts of {cfg.practice_episodes}")
            t0 = time.monotonic()
            # D and F keep C's policy (trained on the same N demos) and retrain only the critic.
            # D learns from all of practice: failed rollouts are negatives, successful ones are
            # demonstrations on changed screens. F gets exactly N failures and nothing else, so
            # that E (2N demos) and F (N demos + N failures) have the same amount of data.
            specs = {}
            if "D" in cfg.methods:
                specs["D"] = dict(episodes=first + wins, out=root / "bundle-D", failures=fails, policy_from=bundles["C"])
            if "F" in cfg.methods:
                specs["F"] = dict(episodes=first, out=root / "bundle-F", failures=fails[:cfg.demos], policy_from=bundles["C"])
            bundles.update(_train_side_by_side(specs, cfg))
            timings["training"] += time.monotonic() - t0
        log(f"[{task}] bundles trained")

        # 3. evaluation: every method on the same evaluation seeds. The runs mostly wait for
        # screens to settle, so they go on in the background while the next task trains
        jobs, labels = [], []
        for change in cfg.perturbations:
            for e in range(cfg.eval_episodes):
                seed = EVAL_SEED + e
                target = Target(task=task, perturb=change)
                for m in cfg.methods:
                    if m == "A":
                        jobs.append(dict(macro=True, episode=str(first[0]), target=target, seed=seed))
                    else:
                        b = bundles["C" if m == "B" else m]
                        jobs.append(dict(bundle=str(b), target=target, seed=seed, critic=m not in "BE"))
                    labels.append((m, change))
        if "D" in cfg.methods:
            for e in range(cfg.impossible_episodes):
                jobs.append(dict(bundle=str(bundles["D"]), target=Target(task=task, perturb=IMPOSSIBLE),
                                 seed=EVAL_SEED + e))
                labels.append(("D", "impossible"))
        if evaluating is not None:
            results.extend(evaluating.result())
        evaluating = background.submit(_evaluate, task, jobs, labels, cfg, timings, log, cancel)
    if evaluating is not None:
        results.extend(evaluating.result())
    return results


def _evaluate(task: str, jobs: list[dict], labels: list, cfg: BenchConfig, timings: dict, log, cancel) -> list[dict]:
    from .practice import run_many

    t0 = time.monotonic()
    results = []
    for (m, change), r in zip(labels, run_many(jobs, cfg.parallel, cancel=cancel)):
        r.update(method=m, change=change)
        results.append(r)
    timings["evaluation"] += time.monotonic() - t0
    log(f"[{task}] {len(jobs)} evaluation runs ({time.monotonic() - t0:.0f} s)")
    return results


def _train_side_by_side(specs: dict[str, dict], cfg: BenchConfig) -> dict[str, Path]:
    """Bundles that do not depend on each other, trained at once in two processes of one torch
    thread each: on 2 cores two such runs took 62 s together, one run on two threads 46 s
    (docs/benchmarks.md). A bundle already there is reused."""
    todo = {m: s for m, s in specs.items() if not (Path(s["out"]) / "bundle.json").exists()}
    if len(todo) < 2:
        for s in todo.values():
            _train(cfg=cfg, **s)
        return {m: Path(s["out"]) for m, s in specs.items()}
    import multiprocessing as mp

    from .practice import stop_pool

    pool = ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn"))
    try:
        for f in [pool.submit(_train, cfg=cfg, threads=1, **s) for s in todo.values()]:
            f.result()
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return {m: Path(s["out"]) for m, s in specs.items()}


def _train(episodes, out: Path, cfg: BenchConfig, failures=(), policy_from=None, critic_steps=None,
           threads: int = 2) -> Path:
    """A bundle (reused when already there). E runs without its critic, so E trains only a token one."""
    from models.train import TrainConfig, train

    if (out / "bundle.json").exists():
        return out
    train([str(p) for p in episodes], out, TrainConfig(steps=cfg.steps, critic_steps=critic_steps, seed=0, threads=threads),
          failures=[str(p) for p in failures], policy_from=policy_from)
    return out


def _same_vocab(episodes: list[Path], bundle: Path) -> list[Path]:
    """The episodes whose keys and texts are all in the bundle's tables (D keeps C's policy, whose
    outputs are those tables)."""
    from models import bundle as bundle_mod
    from recorder.episode import Episode

    vocab = bundle_mod.load(bundle).vocab
    keep = []
    for p in episodes:
        acts = Episode.load(p).actions
        if all(vocab.token(a) is not None or a.get("kind") not in ("key", "type") for a in acts):
            keep.append(p)
    return keep


def summarise(rows: list[dict]) -> dict:
    n = len(rows)
    if not n:
        return {}
    return {"n": n,
            "success": sum(r["outcome"] == "success" for r in rows) / n,
            "wrong": sum(bool(r.get("wrong_action")) for r in rows) / n,
            "abstain": sum(bool(r.get("abstained")) for r in rows) / n,
            "steps": sum(r.get("steps", 0) for r in rows) / n,
            "seconds": sum(r.get("seconds", 0.0) for r in rows) / n}


def table(results: list[dict], cfg: BenchConfig) -> str:
    """Markdown: success rate per method (rows) and UI change (columns), then the details."""
    by = defaultdict(list)
    for r in results:
        by[(r["method"], r["change"])].append(r)
    changes = [c for c in cfg.perturbations] + (["impossible"] if any(r["change"] == "impossible" for r in results) else [])
    lines = ["Success rate (runs) per UI change; tasks: " + ", ".join(cfg.tasks), "",
             "| method | " + " | ".join(changes) + " |", "|---|" + "---|" * len(changes)]
    for m in cfg.methods:
        cells = []
        for c in changes:
            s = summarise(by.get((m, c), []))
            cells.append(f"{s['success']:.2f} ({s['n']})" if s else "")
        lines.append(f"| {m} {METHODS[m]} | " + " | ".join(cells) + " |")
    lines += ["", "| method | change | runs | success | wrong action | abstain | mean steps | mean time (s) |",
              "|---|---|---|---|---|---|---|---|"]
    for m in cfg.methods:
        for c in changes:
            s = summarise(by.get((m, c), []))
            if s:
                lines.append(f"| {m} | {c} | {s['n']} | {s['success']:.2f} | {s['wrong']:.2f} | {s['abstain']:.2f} "
                             f"| {s['steps']:.1f} | {s['seconds']:.1f} |")
    return "\n".join(lines) + "\n"
