"""`deskact replay`: look at a recording, compare it with a bundle, or run it as a macro."""
from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "replay", help="step through a recording (dry run), compare it with a bundle, or run it as a macro",
        description="By default a dry run: each recorded action is shown on the frame it was recorded on, "
                    "in an HTML report; nothing is sent to the screen. With --bundle, also what the agent "
                    "would have done on each frame, and the agreement rate. With --live, the recorded actions "
                    "are executed at their recorded coordinates, like a plain macro.")
    p.add_argument("episode", help="an episode folder")
    p.add_argument("--bundle", help="a trained bundle to compare with the person's actions")
    p.add_argument("--live", action="store_true", help="execute the recorded actions for real (a macro)")
    p.add_argument("--report", help="folder for the HTML report (default: EPISODE/replay-report)")
    p.set_defaults(func=run)


def run(args) -> int:
    from recorder.episode import Episode

    from ..replay import replay_dry, replay_live

    ep = Episode.load(args.episode)
    if not ep.actions:
        from recorder.errors import EpisodeError

        raise EpisodeError(f"{args.episode}: the recording holds no actions")
    if args.live:
        from recorder.platform import backend

        from ..executor import LiveExecutor
        from ..safety import StopHotkey
        from ..screen import Screen

        plat = backend()
        screen = Screen()
        executor = LiveExecutor(screen.logical_size, plat.Injector())
        with StopHotkey() as hotkey:
            print(f"Replaying {len(ep.actions)} actions as a macro (press {hotkey.key.upper()} to stop)")
            n = replay_live(ep, executor, screen, stop=hotkey.event)
        print(f"Executed {n} of {len(ep.actions)} actions.")
        return 0
    agent = None
    if args.bundle:
        from ..decide import Agent

        agent = Agent.load(args.bundle)
        agent.pixel_scale = float(ep.meta.get("pixel_scale", 1.0))
    report_dir = Path(args.report) if args.report else Path(args.episode) / "replay-report"
    print(f"Replaying {ep.path} ({len(ep.actions)} actions, dry run: no input is sent)")
    summary = replay_dry(ep, report_dir, agent=agent)
    if "agreement" in summary:
        print(f"Agent agrees with the person on {summary['agreement']:.0%} of the actions.")
    print(f"Report: {summary['report']}")
    return 0
