"""`deskact run`: the agent does the workflow on the live desktop (or shows what it would do)."""
from __future__ import annotations

import json
import time
from pathlib import Path

EXIT = {"done": 0, "dry-run": 0, "abstain": 2, "limit": 3, "stopped": 3}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run", help="let the agent do the learned workflow on this desktop",
        description="Looks at the screen, lets the policy propose candidate action chunks, scores them "
                    "with the critic, executes the best one action at a time (waiting for the screen to "
                    "settle after each) and stops when done, when no candidate is good enough, on a "
                    "limit, or when you press the stop key. Exit code: 0 done, 2 abstained, 3 stopped "
                    "or out of steps/time, 1 error.")
    p.add_argument("bundle", help="a trained bundle folder (deskact train --out)")
    p.add_argument("--dry-run", action="store_true", help="send no input at all; show what would be done")
    p.add_argument("--confirm", action="store_true", help="ask before each chunk (yes / skip / quit)")
    p.add_argument("--candidates", "-k", type=int, default=16, help="candidate chunks per decision (default 16)")
    p.add_argument("--max-steps", type=int, default=30, help="stop after this many actions (default 30)")
    p.add_argument("--timeout", type=float, default=120.0, help="stop after this many seconds (default 120)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                   help="replace a demonstrated typed text: NAME is the text as typed in the demos "
                        "(or text0, text1... in the bundle's text table); repeatable")
    p.add_argument("--report", help="write an HTML report into this folder (always on with --dry-run)")
    p.add_argument("--stop-key", default="f12", help="global key that stops the agent at once (default f12)")
    g = p.add_argument_group("sandbox", "run on a built-in task on a private virtual display instead")
    g.add_argument("--sandbox", metavar="TASK", help="open this built-in task on a private Xvfb and run there")
    g.add_argument("--seed", type=int, default=0, help="task seed (default 0)")
    g.add_argument("--perturb", default="none", help="UI changes for the task, e.g. layout,theme")
    g.add_argument("--json", dest="json_out", help="also write the result as JSON to this file")
    p.set_defaults(func=run)


def parse_vars(items) -> dict[str, str]:
    from recorder.errors import DeskactError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise DeskactError(f"--var {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def run(args) -> int:
    from recorder.errors import DeskactError

    from ..decide import Agent

    if args.candidates < 1:
        raise DeskactError(f"--candidates must be at least 1, got {args.candidates}")
    variables = parse_vars(args.var)
    if not args.sandbox:
        from recorder.platform import check_display

        check_display()  # no display / pure Wayland: say so before loading anything
    agent = Agent.load(args.bundle, candidates=args.candidates)
    report_dir = args.report or (str(Path(args.bundle) / "dry-run-report") if args.dry_run else None)

    if args.sandbox:
        from sandbox.harness import TaskSession

        with TaskSession(args.sandbox, seed=args.seed, perturb_spec=args.perturb) as session:
            result = run_agent(agent, args, variables, report_dir, display=session.display)
            outcome = session.wait_outcome(timeout=2.0)
        result["app_outcome"] = outcome
        why = f" ({outcome['reason']})" if outcome.get("reason") else ""
        print(f"The task app reports: {outcome['outcome']}{why}")
    else:
        result = run_agent(agent, args, variables, report_dir)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    return EXIT.get(result["status"], 1)


def run_agent(agent, args, variables, report_dir, display=None) -> dict:
    """Set up screen, executor and safety on `display` (default: $DISPLAY) and run the loop."""
    from recorder.platform import backend, check_display

    from ..executor import DryRunExecutor, LiveExecutor
    from ..report import Report
    from ..runner import confirm_in_terminal, run_loop
    from ..safety import Limits, PointerGuard, StopHotkey
    from ..screen import Screen

    if display is None:
        check_display()
    else:  # one process drives one display: everything below opens $DISPLAY
        import os

        os.environ["DISPLAY"] = display
        os.environ.pop("WAYLAND_DISPLAY", None)
    plat = backend()
    injector = plat.Injector(display=display) if display else plat.Injector()
    screen = Screen(display=display)
    agent.variables = agent.resolve_vars(variables)
    agent.pixel_scale = screen.scale
    executor = (DryRunExecutor(screen.logical_size, agent.variables) if args.dry_run
                else LiveExecutor(screen.logical_size, injector, agent.variables))
    report = Report(report_dir, f"deskact run {Path(args.bundle).name}",
                    ("dry run · " if args.dry_run else "") + f"{args.candidates} candidates"
                    + (f" · sandbox {args.sandbox} seed {args.seed} perturb {args.perturb}" if args.sandbox else ""),
                    size=screen.logical_size) if report_dir else None
    limits = Limits(args.max_steps, args.timeout)
    with StopHotkey(args.stop_key, display=display) as hotkey:
        guard = None if args.dry_run else PointerGuard(injector, hotkey.event)
        confirm = confirm_in_terminal(report_dir or ".") if args.confirm and not args.dry_run else None
        print(f"Running {Path(args.bundle).name} on a {screen.logical_size[0]}x{screen.logical_size[1]} screen"
              f"{' (dry run: no input is sent)' if args.dry_run else ''}; press {args.stop_key.upper()} to stop.")
        t0 = time.monotonic()
        res = run_loop(agent, screen, executor, limits, stop=hotkey.event, guard=guard, confirm=confirm,
                       report=report, out_dir=report_dir)
    if report is not None:
        path = report.finish(res.reason)
        print(f"Report: {path}")
    print(f"Stopped: {res.reason} ({res.steps} actions, {time.monotonic() - t0:.1f} s)")
    if res.abstain_image:
        print(f"The screen when it abstained: {res.abstain_image}")
    return {"status": res.status, "reason": res.reason, "steps": res.steps, "decisions": res.decisions,
            "replans": res.replans, "seconds": res.seconds, "executed": res.executed,
            "report": str(Path(report_dir) / "report.html") if report_dir else None}
