"""Practice: the agent runs a task many times on private virtual displays, exploring so that it
makes mistakes, and every rollout is recorded by the real recorder as an episode with the
outcome the app reported. Failed rollouts are what the critic learns judgment from
(`deskact train ... --failures DIR`).

Labelling rule (the trainer applies it, models/dataset.py): a failed rollout marks in
meta.json "failed_at_action", the first wrong action: on a built-in task the first click that
missed the task's next named target (and "right_target", where that target was), else the action
after which the app reported the failure; the chunk that starts with that action is the
negative, the earlier chunks are not used. With right_target the same chunk clicking the right
target is a positive on the same screen, so the critic learns what was wrong, not which screens
practice failed on. Without an app signal (a user's own
app judged only at the end) the trainer takes the first action where the rollout leaves the
demonstrations' common sequence. A successful rollout is a demonstration like any other.

`rollout()` is also the one way the benchmark runs any agent on a task.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from recorder.errors import DeskactError


@dataclass
class Target:
    """What a rollout runs on: a built-in task, or a user's own app (see AppSession)."""

    task: str | None = None
    perturb: str = "none"
    app: str | None = None
    success_image: str | None = None
    success_cmd: str | None = None
    screen: tuple[int, int] = (1280, 800)

    def session(self, seed: int):
        if self.task:
            from sandbox.harness import TaskSession

            return TaskSession(self.task, seed=seed, perturb_spec=self.perturb)
        from sandbox.app_session import AppSession

        return AppSession(self.app, success_image=self.success_image, success_cmd=self.success_cmd,
                          screen=self.screen)

    @property
    def name(self) -> str:
        return self.task or "app"


_AGENTS: dict = {}  # per worker process: bundle path -> Agent (loading costs ~100 ms)


def _agent(bundle: str, critic: bool, candidates: int):
    from .decide import Agent

    key = (bundle, critic, candidates)
    if key not in _AGENTS:
        _AGENTS[key] = Agent.load(bundle, candidates=candidates, critic=critic)
    return _AGENTS[key]


def rollout(bundle: str, target: Target, seed: int, folder: str | Path | None = None, explore: float = 0.0,
            critic: bool = True, candidates: int = 16, max_steps: int = 20, timeout: float = 60.0,
            report: str | Path | None = None) -> dict:
    """Run the agent once on a fresh private display. With `folder`, the rollout is recorded
    as an episode there (outcome from the app); with `report`, a run report (every screen, the
    candidates and their scores) is written to that folder. Returns a result dict (JSON-able)."""
    from recorder.platform.x11 import Injector, driving

    from .executor import LiveExecutor
    from .runner import run_loop
    from .safety import Limits
    from .screen import Screen

    agent = _agent(bundle, critic, candidates)
    agent.explore = explore
    agent.rng = __import__("numpy").random.default_rng(seed)
    t_start = time.monotonic()
    with target.session(seed) as session, driving(session.display):
        injector = Injector(display=session.display)
        screen = Screen(display=session.display)
        agent.pixel_scale = screen.scale
        executor = LiveExecutor(screen.logical_size, injector)
        if target.task:
            executor = _TargetWitness(executor, session)
        rec = None
        if folder is not None:
            from recorder.capture import Recorder

            rec = Recorder(folder, display=session.display, hotkeys=False,
                           meta_extra={"task": target.name, "seed": seed, "perturb": target.perturb,
                                       "source": "practice", "explore": explore, "app_hint": f"sandbox:{target.name}",
                                       "bundle": str(bundle)})
            rec.start()
        failed_at: list[float] = []

        def watch():
            if target.task:
                executor.look()
            out = session.outcome()
            if out:
                if out["outcome"] == "failure":
                    failed_at.append(time.monotonic())
                return f"the app reported {out['outcome']}" + (f" ({out['reason']})" if out.get("reason") else "")
            return None

        rep = None
        if report is not None:
            from .report import Report

            rep = Report(report, f"{target.name} under {target.perturb}, seed {seed}", str(bundle),
                         size=screen.logical_size)
            if target.task:  # for scripts/diagnose.py: was the right click among the candidates?
                rep.annotate = lambda: {"targets": session.targets(), "size": list(screen.logical_size),
                                        "executed": [a["kind"] for a in executor.log if not a.get("dismiss")],
                                        "clicks": [name for _, name, _ in executor.landed]}
        try:
            res = run_loop(agent, screen, executor, Limits(max_steps, timeout), notify=lambda m: None, watch=watch,
                           report=rep, out_dir=report)
            outcome = session.wait_outcome(timeout=1.0)
            if rep is not None:
                rep.finish(f"{res.reason}; the app: {outcome['outcome']}"
                           + (f" ({outcome['reason']})" if outcome.get("reason") else ""))
        except BaseException:
            if rec is not None:
                rec.stop(outcome="unknown", reason="the rollout was interrupted")
            raise
        if rec is not None:
            t0 = time.monotonic() - rec.elapsed()
            rec.stop(outcome=outcome["outcome"], reason=outcome.get("reason"))
            off = _first_off_target(executor, target)
            wrong = failed_at[:1] + ([off[0]] if off else [])
            closed = getattr(executor, "closed_popup", [])
            if closed:
                _mark_dismissed(Path(folder), [t - t0 for t in closed])
            if outcome["outcome"] == "failure" and wrong:
                # the right action is known only when the off-target click is the first wrong action
                first = off is not None and off[0] <= min(wrong)
                _mark_failed_action(Path(folder), min(wrong) - t0, off[1] if first else None, off[2] if first else None)
    wrong_action = outcome["outcome"] == "failure" and bool(failed_at)
    return {"task": target.name, "perturb": target.perturb, "seed": seed, "outcome": outcome["outcome"],
            "reason": outcome.get("reason"), "status": res.status, "end": res.reason, "steps": res.steps,
            "decisions": res.decisions, "replans": res.replans, "wrong_action": wrong_action,
            "abstained": res.status == "abstain", "seconds": time.monotonic() - t_start,
            "agent_seconds": res.seconds, "episode": str(folder) if folder else None}


def macro_rollout(episode: str, target: Target, seed: int, timeout: float = 60.0) -> dict:
    """Replay a recorded demonstration as a plain macro (recorded pixels) on a fresh display:
    the benchmark's macro baseline, judged exactly like the agent."""
    from recorder.episode import Episode
    from recorder.platform.x11 import Injector, driving

    from .executor import LiveExecutor
    from .replay import replay_live
    from .screen import Screen

    ep = Episode.load(episode)
    t_start = time.monotonic()
    with target.session(seed) as session, driving(session.display):
        screen = Screen(display=session.display)
        executor = LiveExecutor(screen.logical_size, Injector(display=session.display))
        failed = []

        def watch():
            out = session.outcome()
            if out and out["outcome"] == "failure":
                failed.append(True)
            return out

        n = replay_live(ep, executor, screen, notify=lambda m: None, watch=watch)
        outcome = session.wait_outcome(timeout=1.0)
    return {"task": target.name, "perturb": target.perturb, "seed": seed, "outcome": outcome["outcome"],
            "reason": outcome.get("reason"), "status": "macro", "end": "end of the recording", "steps": n,
            "decisions": 0, "replans": 0, "wrong_action": outcome["outcome"] == "failure" and bool(failed),
            "abstained": False, "seconds": time.monotonic() - t_start, "episode": None}


CLICK_KINDS = ("click", "double_click", "right_click", "drag")


class _TargetWitness:
    """The live executor, noting which of the task app's named targets each click-like action
    lands on (the sandbox knows them; the agent never sees them)."""

    def __init__(self, inner, session):
        self._inner, self._session = inner, session
        self.landed: list[tuple[float, str | None, dict]] = []  # (time just after it, target hit, targets shown)
        self.closed_popup: list[float] = []  # time just before each dismissal that closed the distracting popup
        self.popup_seen: bool | None = None  # was the popup up when the agent last looked (None: not known)
        self.blind: list[float] = []  # clicks made while a popup was up that the agent had not seen

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def look(self) -> None:
        """The runner has settled the screen the agent decides on next (rollout's watch): was the
        distracting popup on it?"""
        self.popup_seen = "popup_close" in self._session.targets()

    def execute(self, action: dict) -> None:
        targets = self._session.targets() if action.get("kind") in CLICK_KINDS else None
        t0 = time.monotonic()
        self._inner.execute(action)
        if targets is not None:
            x, y = self._inner.point(action["x"], action["y"])
            hit = [(r[2] * r[3], n) for n, r in targets.items() if r[0] <= x <= r[0] + r[2] and r[1] <= y <= r[1] + r[3]]
            self.landed.append((time.monotonic(), min(hit)[1] if hit else None, targets))
            if "popup_close" in targets and self.popup_seen is False:
                self.blind.append(self.landed[-1][0])
            if action.get("dismiss") and self.landed[-1][1] == "popup_close":
                self.closed_popup.append(t0)


def _first_off_target(executor, target: Target) -> tuple[float, list | None, list | None] | None:
    """(when, where the right target was, where the popup's Close was) for the rollout's first
    click-like action that missed the task's next target, or None if every one hit. Many apps
    report a failure only at the end (signin says "wrong user name" when Sign in is pressed): this
    finds the click into the wrong field before it, and a click behind the modal popup (it reaches
    nothing). Where: [x, y, w, h] in logical pixels. A click behind the popup has no right target;
    the right action was closing the popup, and the click itself is the step after that when it
    was on the next target (then Close's rectangle is given, else None)."""
    if not isinstance(executor, _TargetWitness):
        return None
    from sandbox import tasks

    expected = [s.target for s in tasks.get(target.task).steps if s.kind in CLICK_KINDS]
    landed = [e for e in executor.landed if e[1] != "popup_close"]  # closing the dialog: not a workflow step
    for j, (t, name, shown) in enumerate(landed):
        if "popup_close" in shown:
            # a modal dialog was up and this click did not close it: it could not reach the window
            # behind, the right action was closing the dialog. Unless the dialog opened after the
            # agent last looked: then this click says nothing about its judgment.
            if t in executor.blind:
                return None
            return t, None, (list(shown["popup_close"]) if j < len(expected) and name == expected[j] else None)
        if j < len(expected) and expected[j] not in shown:
            return None  # the app does not publish where that target is: cannot judge
        if j >= len(expected):
            return t, None, None
        if name != expected[j]:
            return t, list(shown[expected[j]]), None
    return None


def _mark_failed_action(folder: Path, t_fail: float, right: list | None = None, dismiss: list | None = None) -> None:
    """failed_at_action = the last recorded action that began before the app reported failure;
    right_target = where that action should have clicked ([x, y, w, h] logical px), when known;
    right_dismiss = the popup's Close button, when that action was the next step made behind it
    (dismissing there first was right)."""
    from recorder.episode import read_jsonl, write_json_atomic

    acts = [a for a in read_jsonl(folder / "actions.jsonl") if float(a["t"]) <= t_fail]
    if not acts:
        return
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta["failed_at_action"] = int(acts[-1]["i"])
    if right is not None:
        meta["right_target"] = [int(v) for v in right]
    if dismiss is not None:
        meta["right_dismiss"] = [int(v) for v in dismiss]
    write_json_atomic(folder / "meta.json", meta)


def _mark_dismissed(folder: Path, times: list[float]) -> None:
    """dismissed_actions = the recorded actions that closed the sandbox's distracting popup with
    `dismiss` (the first click at or after each time, in recorder time): not steps of the
    workflow, the trainer leaves them out (models/dataset.py). Only these: an exploring agent
    also "dismisses" menu entries and buttons, which are workflow steps all the same (dropping
    them left successful rollouts with steps missing). On a user's own app nothing says what a
    dismissal hit, so none is marked."""
    from recorder.episode import read_jsonl, write_json_atomic

    acts = read_jsonl(folder / "actions.jsonl")
    marked = []
    for t in times:
        later = [a for a in acts if a.get("kind") == "click" and float(a["t"]) >= t - 0.005]
        if later:
            marked.append(int(later[0]["i"]))
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta["dismissed_actions"] = sorted(set(marked))
    write_json_atomic(folder / "meta.json", meta)


def worker_init(nice: int = 0) -> None:
    """Start of every pool worker (practice, evaluation, the bench's recordings and trainings).
    It ignores Ctrl+C: the parent decides, and stops it (stop_pool). On SIGTERM the job under
    way unwinds (its displays and apps stop in their `with` blocks) and the worker exits
    (in_worker): a pool's worker loop catches that SystemExit and would take the next queued
    job. The kernel sends that SIGTERM when the parent dies without stopping it: a bench ended
    with `kill` left its recording worker recording demos on its own. (Linux counts the thread
    that started the worker as its parent: each pool here is used from one long-lived thread.)
    nice: lower priority."""
    from sandbox.procs import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _unwind)  # (sandbox.display keeps a handler that is set)
    die_with_parent(signal.SIGTERM)
    if nice:
        os.nice(nice)


def _unwind(signum, frame):
    raise SystemExit(128 + signum)


def in_worker(fn, *args, **kw):
    """fn(*args, **kw) in a pool worker started by worker_init; once a SIGTERM has unwound it,
    the worker process exits instead of taking the next job."""
    try:
        return fn(*args, **kw)
    except SystemExit as e:
        if "sandbox.display" in sys.modules:  # any display a `with` block did not own
            sys.modules["sandbox.display"].stop_all()
        os._exit(e.code if isinstance(e.code, int) else 1)


def _worker_rollout(kw: dict) -> dict:
    """A job: rollout(**kw), or macro_rollout(**kw) when kw has "macro": True."""
    kw = dict(kw)
    fn = macro_rollout if kw.pop("macro", False) else rollout
    try:
        return in_worker(fn, **kw)
    except DeskactError as e:
        return {"task": kw["target"].name, "seed": kw["seed"], "outcome": "error", "reason": str(e),
                "status": "error", "steps": 0, "wrong_action": False, "abstained": False, "seconds": 0.0}


class Cancelled(Exception):
    """run_many was told to stop (by another thread: the bench evaluates in the background)."""


def run_many(jobs: list[dict], parallel: int = 1, progress=None, cancel=None) -> list[dict]:
    """Run rollout(**job) for every job, `parallel` at a time, each in a worker process (one
    process drives one display). Results come back in job order. `cancel`, a threading.Event:
    once set, the runs under way are stopped when the next one ends (their displays and
    apps with them) and Cancelled is raised."""
    results: list[dict | None] = [None] * len(jobs)
    if parallel <= 1:
        for i, job in enumerate(jobs):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            results[i] = _worker_rollout(job)
            if progress:
                progress(results[i])
        return results
    import multiprocessing as mp

    pool = ProcessPoolExecutor(max_workers=parallel, mp_context=mp.get_context("spawn"), initializer=worker_init)
    try:
        futures = {pool.submit(_worker_rollout, job): i for i, job in enumerate(jobs)}
        for f in as_completed(futures):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            results[futures[f]] = f.result()
            if progress:
                progress(results[futures[f]])
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return results


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Drop a pool's queued work and SIGTERM its workers (a rollout's handlers then stop its
    display and app): for Ctrl+C or an error, when waiting for them would leave them running."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for p in workers:
        p.terminate()


def practice(bundle: str, target: Target, episodes: int, out: str | Path, seed: int = 20000,
             parallel: int = 1, explore: float = 1.0, max_steps: int = 20, progress=None) -> list[dict]:
    """`episodes` exploring rollouts recorded into OUT/<task>-p<seed>; returns their results."""
    from models import bundle as bundle_mod

    bundle_mod.load(bundle)  # a bad bundle fails here, once, with one line
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [dict(bundle=str(bundle), target=target, seed=seed + i, folder=str(out / f"{target.name}-p{seed + i:05d}"),
                 explore=explore, max_steps=max_steps) for i in range(episodes)]
    for job in jobs:
        if Path(job["folder"]).exists():
            raise DeskactError(f"{job['folder']} already exists: choose another --out or --seed")
    return run_many(jobs, parallel, progress)
