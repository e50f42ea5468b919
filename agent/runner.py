"""The runtime loop: look, decide (policy proposes, critic judges), act one action at a time,
wait for the screen to settle, re-check the rest of the chunk, and stop with a reason.

It knows nothing of ONNX: `agent` is an agent.decide.Agent (decide / recheck / token_of)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .executor import describe
from .report import draw_chunk
from .safety import Limits, SafetyStop


@dataclass
class RunResult:
    status: str  # done | abstain | limit | stopped | dry-run | error
    reason: str
    steps: int = 0  # actions executed
    decisions: int = 0
    seconds: float = 0.0
    replans: int = 0
    executed: list = field(default_factory=list)
    abstain_image: str | None = None


MAX_DISMISSALS = 3  # dialogs dismissed in a row before the agent gives up and asks a person
MAX_REPEATS = 2  # times the same chunk may be chosen again, cut short each time, before giving up
MAX_SCROLLS = 12  # further scrolls, one click each, in search of a candidate worth taking
CLICKS = ("click", "double_click", "right_click")  # one of these that changed nothing did not happen
NOTHING = 5e-6  # share of changed pixels under which an action changed nothing (a click that hit
# nothing changes 0; a ticked checkbox 2e-5, a click into a field 5e-4: measured, docs/benchmarks.md)


def run_loop(agent, screen, executor, limits: Limits, stop=None, guard=None, confirm=None,
             report=None, notify=print, out_dir: str | Path | None = None, watch=None) -> RunResult:
    """Run until done, abstain, a limit, or a safety stop. `confirm(frame, chunk)` returns
    'yes' | 'skip' | 'quit' (the --confirm prompt); `report` is an agent.report.Report;
    `watch()` is asked after every action and returns a reason to end the run, or None (the
    sandbox uses it to end a run as soon as the task app reports its outcome)."""
    t_start = time.monotonic()
    res = RunResult(status="error", reason="")
    done: list[int] = []  # tokens executed so far (the models see the last few)
    cursor = _cursor(executor, screen)
    skip_first = 0  # --confirm "skip": take the next best candidate instead
    dismissals = 0  # dialogs dismissed since the last step of the workflow
    cut_short, repeats = None, 0  # the last chunk, if a re-plan cut it short; how often in a row
    last_change = None  # share of the screen the last action changed
    scrolled_on, turned = 0, False  # scroll_on's scrolls since the last step of the workflow; turned back?
    # clicks (and dismissals) that changed nothing, [(steps done then, x, y)]: export_menu re-clicked
    # its open Export cascade, counted it as a step and then held the workflow done
    futile: list[tuple[int, float, float]] = []

    def finish(status, reason):
        res.status, res.reason, res.seconds = status, reason, time.monotonic() - t_start
        return res

    try:
        frame, _ = screen.settle(stop=stop, timeout=1.0)
        while True:
            if stop is not None and stop.is_set():
                return finish("stopped", "stopped by the stop key")
            why = limits.exceeded(res.steps)
            if why:
                return finish("limit", why)
            t0 = time.perf_counter()
            decision = agent.decide(frame, cursor, done, skip=skip_first,
                                    avoid=[(x, y) for n, x, y in futile if n == len(done)])
            res.decisions += 1
            timings = dict(decision.timings, decide=time.perf_counter() - t0)
            if decision.chosen is None and scrolled_on < MAX_SCROLLS:
                again = scroll_on(res.executed, last_change, turned)
                if again is not None:  # nothing worth doing in view yet: look further along the list
                    turned = turned or (again["dy"] > 0) != ((res.executed[-1].get("dy") or 0) > 0)
                    scrolled_on += 1
                    decision.chosen = [again]
                    decision.note = (f"{decision.note}; so it scrolls {'up' if again['dy'] > 0 else 'down'} "
                                     f"by one click ({scrolled_on} of at most {MAX_SCROLLS}) to look further")
            if report is not None:
                report.add_step(frame, decision.chosen, decision.candidates, timings, decision.note)
            if decision.chosen is None:
                res.abstain_image = _save(frame, out_dir, "abstain.png")
                return finish("abstain", decision.note or "no candidate is good enough")
            chunk = decision.chosen
            repeats = repeats + 1 if cut_short is not None and same_chunk(chunk, cut_short, executor.size) else 0
            cut_short = None
            if repeats >= MAX_REPEATS:
                # what it did changed nothing it expected (a click where the target was, a button
                # that does not respond): doing it once more will not help either
                res.abstain_image = _save(frame, out_dir, "abstain.png")
                return finish("abstain", f"it would {describe(chunk[0], executor.size)} again; the same "
                                         f"chunk was cut short {repeats} times in a row (the screen did not "
                                         "become what it expected): a person should look")
            notify(f"step {res.decisions}: {'; '.join(describe(a, executor.size) for a in chunk)} "
                   f"(critic {decision.score:.2f}, {timings['decide'] * 1000:.0f} ms)")
            if executor.dry_run:
                return finish("dry-run", "dry run: no input was sent, so the screen cannot change; "
                                         "this is what the agent would do first")
            if confirm is not None:
                answer = confirm(frame, chunk)
                if answer == "quit":
                    return finish("stopped", "stopped at the confirmation prompt")
                if answer == "skip":
                    skip_first += 1
                    continue
            skip_first = 0
            for j, action in enumerate(chunk):
                if action["kind"] == "done" and last_change is not None and last_change < NOTHING:
                    # the critic cannot tell a final screen from one a click left as it was
                    res.abstain_image = _save(frame, out_dir, "abstain.png")
                    return finish("abstain", f"it would call the workflow done, but its last action "
                                             f"({describe(res.executed[-1], executor.size)}) changed nothing "
                                             "on the screen: a person should look")
                if action["kind"] == "done" and len(done) < agent.min_actions:
                    # a step the demos all had did not happen (its target was missing, a dialog
                    # came up without it): the critic reads the history, which looks finished
                    res.abstain_image = _save(frame, out_dir, "abstain.png")
                    return finish("abstain", f"it would call the workflow done after {len(done)} "
                                             f"actions, but every demonstration took at least "
                                             f"{agent.min_actions}: a person should look")
                if j > 0:  # the rest of the chunk must still hold on the new screen, `done` too:
                    # a click that hit nothing leaves a screen where the workflow is not over
                    score = agent.recheck(frame, chunk[j:], cursor, done)
                    if score < agent.threshold:
                        res.replans += 1
                        notify(f"  re-planning: the rest of the chunk no longer holds (critic {score:.2f})")
                        cut_short = chunk
                        break
                if action["kind"] == "done":
                    return finish("done", "the agent finished the workflow (done)")
                if action.get("dismiss") and dismissals >= MAX_DISMISSALS:
                    res.abstain_image = _save(frame, out_dir, "abstain.png")
                    return finish("abstain", f"a dialog is still there after {dismissals} dismissals: "
                                             "a person should look at it")
                if stop is not None and stop.is_set():
                    return finish("stopped", "stopped by the stop key")
                why = limits.exceeded(res.steps)
                if why:
                    return finish("limit", why)
                if guard is not None:
                    guard.check(getattr(executor, "pointer", None))
                before = frame
                executor.execute(action)
                res.steps += 1
                res.executed.append(action)
                cursor = _cursor(executor, screen, cursor)
                frame, _ = screen.settle(stop=stop)
                last_change = changed_share(before, frame)
                did_nothing = action["kind"] in CLICKS and not action.get("dismiss") and last_change < NOTHING
                if action.get("dismiss"):
                    dismissals += 1  # not a step of the workflow: the models' history stays as it was
                    if last_change < NOTHING:  # no dialog closed there: try another place next
                        futile.append((len(done), action["x"], action["y"]))
                elif action.get("again"):
                    pass  # a scroll repeated: the demos scrolled once, however far, and so does the history
                elif did_nothing:  # no step either, and not to be made again at this point
                    futile.append((len(done), action["x"], action["y"]))
                else:
                    dismissals = scrolled_on = 0
                    turned = False
                    done.append(agent.token_of(action))
                ended = watch() if watch is not None else None
                if ended:
                    return finish("app", ended)
                if did_nothing:
                    res.replans += 1
                    notify(f"  re-planning: {describe(action, executor.size)} changed nothing on the screen")
                    cut_short = chunk  # the rest of the chunk counted on it
                    break
                if action.get("dismiss"):
                    break  # decide afresh on what the dialog covered
    except SafetyStop as e:
        return finish("stopped", str(e))
    except KeyboardInterrupt:
        return finish("stopped", "interrupted (Ctrl+C)")
    except Exception as e:
        if type(e).__name__ == "FailSafeException":  # pyautogui's corner fail-safe
            return finish("stopped", "pyautogui fail-safe: the pointer was moved to a screen corner")
        raise


def scroll_on(executed: list[dict], last_change: float | None, turned: bool) -> dict | None:
    """The next scroll of a search along a list, one wheel click at a time, or None.

    A demo scrolls until its target shows, as far as that list needs, and is recorded as one
    scroll; the agent's one scroll (the demos' median) may stop short of the target or pass it
    (search_pick: the wanted row is a few rows either side), and then no candidate scores. A
    scroll commits to nothing, so rather than give up the agent scrolls on, one click at a time,
    while that moves the screen; at the end of the list (nothing moved) it turns back once
    (`turned`: it has), and at the other end it gives up. Only after the agent's own scroll."""
    if not executed or executed[-1].get("kind") != "scroll" or last_change is None:
        return None
    last = executed[-1]
    step = 1 if (last.get("dy") or 0) > 0 else -1
    if last_change < NOTHING:  # the end of the list
        if turned or not last.get("again"):
            return None
        step = -step
    return dict(last, dy=step, dx=0, again=True)


def changed_share(a, b, level: int = 32) -> float:
    """The share of pixels that changed by more than `level` grey levels between two frames."""
    if a is None or b is None or a.shape != b.shape:
        return 1.0
    ga, gb = a[..., 1].astype(np.int16), b[..., 1].astype(np.int16)
    return float((np.abs(ga - gb) > level).mean())


def same_chunk(a: list[dict], b: list[dict], size, tol_px: float = 12.0) -> bool:
    """The same actions (kinds, keys, texts), pointers within tol_px logical pixels."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if {k: v for k, v in x.items() if k not in ("x", "y", "x2", "y2")} != \
                {k: v for k, v in y.items() if k not in ("x", "y", "x2", "y2")}:
            return False
        for kx, ky in (("x", "y"), ("x2", "y2")):
            if (x.get(kx) is None) != (y.get(kx) is None):
                return False
            if x.get(kx) is not None and ((x[kx] - y[kx]) * size[0]) ** 2 + ((x[ky] - y[ky]) * size[1]) ** 2 > tol_px ** 2:
                return False
    return True


def _cursor(executor, screen, default=(0.5, 0.5)):
    """Where the agent left the pointer, normalised (the policy's `cursor` input)."""
    p = getattr(executor, "pointer", None)
    if p is None:
        inj = getattr(executor, "injector", None)
        if inj is None:
            return default
        p = inj.position()
    w, h = screen.logical_size
    return (min(max(p[0] / w, 0.0), 1.0), min(max(p[1] / h, 0.0), 1.0))


def _save(frame, out_dir, name):
    if out_dir is None:
        return None
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), frame)
    return str(path)


def confirm_in_terminal(out_dir: str | Path, ask=input, notify=print):
    """The --confirm prompt: saves the screen with the chunk drawn on it, then asks."""
    counter = {"n": 0}

    def confirm(frame, chunk):
        counter["n"] += 1
        img = draw_chunk(frame.copy(), chunk)
        path = _save(img, out_dir, f"confirm-{counter['n']:03d}.png")
        notify(f"  where it would act: {path}")
        while True:
            try:
                a = ask("  do this chunk? [y]es / [s]kip / [q]uit: ").strip().lower()
            except EOFError:
                return "quit"
            if a in ("y", "yes", ""):
                return "yes"
            if a in ("s", "skip"):
                return "skip"
            if a in ("q", "quit"):
                return "quit"

    return confirm
