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

Schedule (2 cores): demos, trainings (two one-thread processes at a lower priority, most
urgent first), practice and evaluation all overlap, each started as soon as what it needs is
there (see _Schedule).
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
        for name in ("demos", "eval_episodes", "steps", "parallel", "practice_episodes"):
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
    timings: dict[str, float] = defaultdict(float)  # seconds per phase, summed over tasks (phases overlap)
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
    return _Schedule(cfg, background, cancel, timings, log).run()


def _record_demos(task: str, cfg: BenchConfig) -> tuple[list[Path], float]:
    """A task's demonstrations (2N: E trains on all of them, everything else on the first N)
    and the seconds they took; the ones already there are kept."""
    from sandbox.demos import record_demo

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
    return demos, time.monotonic() - t0


TRAINING_NICE = 10  # trainings yield the CPU to recordings and rollouts, which must keep a
# person's pace (a rollout on a starved machine also polls its screen for longer, which costs CPU)


class _Schedule:
    """Every task's demos, bundles, practice and evaluation on 2 cores, each started as soon as
    what it needs is there. Demos are recorded one at a time in their own process. Trainings run
    in two processes of one torch thread each (two such runs do more than one run on two
    threads), at a lower priority, and a free process takes the most urgent training that can
    start: every task's C first (practice, D, F and their evaluations wait for it), then D and F,
    then E (only its own evaluation waits for it), earliest task first. So the run ends on E
    trainings and their short evaluations, not on a chain of C, practice, D and F. Practice and
    evaluation run in threads: their runs mostly wait for screens to settle. Per task: C and E
    from the demos; practice with C; D and F from C and practice; each bundle's methods are
    evaluated as soon as it is there (A and B with C). A bundle already there is reused."""

    RANK = {"C": 0, "D": 1, "F": 1, "E": 2}
    EVALUATES = {"C": "ABC", "D": "D", "E": "E", "F": "F"}  # the methods a bundle's arrival lets run

    def __init__(self, cfg: BenchConfig, background, cancel, timings: dict, log):
        self.cfg, self.background, self.cancel = cfg, background, cancel
        self.timings, self.log = timings, log
        self.demos_of: dict[str, list[Path]] = {}
        self.bundles: dict[str, dict[str, Path]] = {t: {} for t in cfg.tasks}
        self.ready: list[tuple] = []  # (rank, task index, method, training spec)
        self.running: dict = {}  # future -> (what, task, method, start time)
        self.evaluations: dict = {t: {} for t in cfg.tasks}  # task -> bundle -> future of its results
        self.practising = ThreadPoolExecutor(max_workers=1)  # practice, one task at a time

    def run(self) -> list[dict]:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, wait

        from .practice import in_worker, stop_pool, worker_init

        spawn = mp.get_context("spawn")
        recorder = ProcessPoolExecutor(max_workers=1, mp_context=spawn, initializer=worker_init)
        pool = ProcessPoolExecutor(max_workers=2, mp_context=spawn, initializer=worker_init, initargs=(TRAINING_NICE,))
        try:
            for task in self.cfg.tasks:
                self.running[recorder.submit(in_worker, _record_demos, task, self.cfg)] = ("demos", task, None, 0.0)
            while self.ready or self.running:
                while self.ready and sum(w == "train" for w, *_ in self.running.values()) < 2:
                    self.ready.sort(key=lambda r: r[:2])
                    _, i, m, spec = self.ready.pop(0)
                    f = pool.submit(in_worker, _train, cfg=self.cfg, threads=1, **spec)
                    self.running[f] = ("train", self.cfg.tasks[i], m, time.monotonic())
                done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
                for f in done:
                    what, task, m, started = self.running.pop(f)
                    if what == "demos":
                        self._recorded(task, *f.result())
                    elif what == "train":
                        self._trained(task, m, f.result(), time.monotonic() - started)
                    else:
                        self._practised(task, *f.result())
        except BaseException:
            self.cancel.set()  # the practice and evaluation threads stop at their next finished run
            stop_pool(recorder)
            stop_pool(pool)
            raise
        finally:
            self.practising.shutdown(wait=True)
        recorder.shutdown(wait=True)
        pool.shutdown(wait=True)
        return [r for task in self.cfg.tasks for m in "CDEF" if m in self.evaluations[task]
                for r in self.evaluations[task][m].result()]

    def _recorded(self, task: str, demos: list[Path], seconds: float) -> None:
        self.demos_of[task] = demos
        self.timings["demos"] += seconds
        self.log(f"[{task}] {len(demos)} demos recorded ({seconds:.0f} s)")
        root = self.cfg.out / task
        self._want(task, "C", dict(episodes=demos[:self.cfg.demos], out=root / "bundle-C"))
        if "E" in self.cfg.methods:  # E runs without its critic: it trains only a token one
            self._want(task, "E", dict(episodes=demos, out=root / "bundle-E", critic_steps=max(10, self.cfg.steps // 10)))

    def _want(self, task: str, m: str, spec: dict) -> None:
        if (Path(spec["out"]) / "bundle.json").exists():
            self._trained(task, m, Path(spec["out"]), 0.0)
        else:
            self.ready.append((self.RANK[m], self.cfg.tasks.index(task), m, spec))

    def _trained(self, task: str, m: str, bundle: Path, seconds: float) -> None:
        self.bundles[task][m] = bundle
        if seconds:
            self.timings["training"] += seconds
            self.log(f"[{task}] bundle {m} trained ({seconds:.0f} s)")
        if m == "C" and set("DF") & set(self.cfg.methods):
            self.running[self.practising.submit(self._practise, task, bundle)] = ("practice", task, m, 0.0)
        methods = "".join(x for x in self.EVALUATES[m] if x in self.cfg.methods)
        if methods:
            self.evaluations[task][m] = self.background.submit(
                _evaluate, task, *_evaluation_jobs(task, methods, self.bundles[task],
                                                   self.demos_of[task][:self.cfg.demos], self.cfg),
                self.cfg, self.timings, self.log, self.cancel)

    def _practise(self, task: str, bundle: Path) -> tuple[list[Path], list[Path]]:
        """Exploring rollouts of C over the changes (and the removed target); (failed, successful)."""
        from sandbox.perturb import IMPOSSIBLE

        from .practice import Target, run_many

        t0 = time.monotonic()
        cfg, root = self.cfg, self.cfg.out / task
        changes = [p for p in cfg.perturbations if p != "all"] or ["none"]
        if cfg.impossible_episodes:
            # practice meets a removed target too (its own seeds): a look-alike clicked where
            # the target is gone is the failure that teaches the critic to stop
            changes.append(IMPOSSIBLE)
        jobs = [dict(bundle=str(bundle), target=Target(task=task, perturb=changes[i % len(changes)]),
                     seed=PRACTICE_SEED + i, folder=str(root / "practice" / f"{task}-p{PRACTICE_SEED + i:05d}"),
                     explore=cfg.explore) for i in range(cfg.practice_episodes)]
        run_many([j for j in jobs if not Path(j["folder"]).exists()], cfg.parallel, cancel=self.cancel)
        outcomes = {p.parent: json.loads(p.read_text())["outcome"] for p in (root / "practice").glob("*/meta.json")}
        # D and F keep C's tables of keys and texts: a rollout that typed something else (two
        # texts run together) cannot be written in them
        fails = _same_vocab(sorted(p for p, o in outcomes.items() if o == "failure"), bundle)
        wins = _same_vocab(sorted(p for p, o in outcomes.items() if o == "success"), bundle)
        self.timings["practice"] += time.monotonic() - t0
        self.log(f"[{task}] practice: {len(fails)} failed and {len(wins)} successful rollouts of {cfg.practice_episodes}")
        return fails, wins

    def _practised(self, task: str, fails: list[Path], wins: list[Path]) -> None:
        # D and F keep C's policy (trained on the same N demos) and retrain only the critic. D
        # learns from all of practice: failed rollouts are negatives, successful ones are
        # demonstrations on changed screens. F gets exactly N failures and nothing else, so that
        # E (2N demos) and F (N demos + N failures) have the same amount of data.
        root, first, c = self.cfg.out / task, self.demos_of[task][:self.cfg.demos], self.bundles[task]["C"]
        if "D" in self.cfg.methods:
            self._want(task, "D", dict(episodes=first + wins, out=root / "bundle-D", failures=fails, policy_from=c))
        if "F" in self.cfg.methods:
            self._want(task, "F", dict(episodes=first, out=root / "bundle-F", failures=fails[:self.cfg.demos],
                                       policy_from=c))


def _evaluation_jobs(task: str, methods: str, bundles: dict[str, Path], first: list[Path],
                     cfg: BenchConfig) -> tuple[list, list]:
    """These methods on the evaluation seeds (the same for every method), and D on the removed
    target; (jobs, labels)."""
    from sandbox.perturb import IMPOSSIBLE

    from .practice import Target

    jobs, labels = [], []
    for change in cfg.perturbations:
        for e in range(cfg.eval_episodes):
            seed = EVAL_SEED + e
            target = Target(task=task, perturb=change)
            for m in methods:
                if m == "A":
                    jobs.append(dict(macro=True, episode=str(first[0]), target=target, seed=seed))
                else:
                    b = bundles["C" if m == "B" else m]
                    jobs.append(dict(bundle=str(b), target=target, seed=seed, critic=m not in "BE"))
                labels.append((m, change))
    if "D" in methods:
        for e in range(cfg.impossible_episodes):
            jobs.append(dict(bundle=str(bundles["D"]), target=Target(task=task, perturb=IMPOSSIBLE),
                             seed=EVAL_SEED + e))
            labels.append(("D", "impossible"))
    return jobs, labels


def _evaluate(task: str, jobs: list[dict], labels: list, cfg: BenchConfig, timings: dict, log, cancel) -> list[dict]:
    from .practice import run_many

    t0 = time.monotonic()
    results = []
    for (m, change), r in zip(labels, run_many(jobs, cfg.parallel, cancel=cancel)):
        r.update(method=m, change=change)
        results.append(r)
    timings["evaluation"] += time.monotonic() - t0
    log(f"[{task}] {len(jobs)} evaluation runs of {''.join(sorted({m for m, _ in labels}))} "
        f"({time.monotonic() - t0:.0f} s)")
    return results


def _train(episodes, out: Path, cfg: BenchConfig, failures=(), policy_from=None, critic_steps=None,
           threads: int = 2) -> Path:
    """A bundle (reused when already there)."""
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
    lines += ["", "Targets (issue 6), from the same runs:", ""] + [f"- {t}" for t in targets(results)]
    return "\n".join(lines) + "\n"


def targets(results: list[dict]) -> list[str]:
    """The claim's numbers, each with whether it is met: D >= 95 % under each UI change and above
    A and B there; F's failure rate under UI changes (every change but none) at most a quarter of
    E's, counted both as runs that did not succeed and as runs with a wrong action; D on the
    impossible task abstaining in >= 95 % of runs with no wrong action."""
    by = defaultdict(list)
    for r in results:
        by[(r["method"], r["change"])].append(r)
    changes = [c for c in CHANGES if by.get(("D", c))]
    out = []
    if changes:
        rate = {(m, c): summarise(by[(m, c)])["success"] for m in "ABD" for c in changes if by.get((m, c))}
        low = [f"{c} {rate['D', c]:.2f}" for c in changes if c != "none" and rate["D", c] < 0.95]
        out.append("D >= 0.95 under each UI change: " + ("met" if not low else "not met (" + ", ".join(low) + ")"))
        behind = [c for c in changes if c != "none" and any(rate.get((m, c), -1) >= rate["D", c] for m in "AB")]
        out.append("D above A and B under each UI change: "
                   + ("met" if not behind else "not under " + ", ".join(behind)))
    e = [r for c in CHANGES if c != "none" for r in by.get(("E", c), [])]
    f = [r for c in CHANGES if c != "none" for r in by.get(("F", c), [])]
    if e and f:
        for what, bad in (("runs that did not succeed", lambda r: r["outcome"] != "success"),
                          ("runs with a wrong action", lambda r: bool(r.get("wrong_action")))):
            ne, nf = sum(map(bad, e)), sum(map(bad, f))
            ratio = nf / len(f) / (ne / len(e)) if ne else float("inf") if nf else 0.0
            out.append(f"F/E failure ratio under UI changes, {what}: F {nf}/{len(f)}, E {ne}/{len(e)}, ratio "
                       f"{ratio:.2f} ({'met' if ratio <= 0.25 else 'not met'}: at most 0.25)")
    imp = by.get(("D", "impossible"), [])
    if imp:
        ab, wrong = sum(bool(r.get("abstained")) for r in imp), sum(bool(r.get("wrong_action")) for r in imp)
        ok = ab >= 0.95 * len(imp) and not wrong
        out.append(f"impossible task: D abstained in {ab} of {len(imp)} runs, {wrong} with a wrong action "
                   f"({'met' if ok else 'not met'})")
    return out
