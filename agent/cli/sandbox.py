"""`deskact sandbox list|open`: the built-in task apps, to look at and try by hand."""
from __future__ import annotations

import os
import re
import signal
import time

from recorder.errors import DeskactError


class SandboxCliError(DeskactError):
    pass


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("sandbox", help="list and open the built-in task apps", description=__doc__)
    sub = p.add_subparsers(dest="sandbox_command", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    ls = sub.add_parser("list", help="print the built-in task names, one per line")
    ls.add_argument("--long", action="store_true", help="add each task's description")
    ls.set_defaults(func=run_list)

    op = sub.add_parser(
        "open", help="open a task app and wait for its outcome (Ctrl+C closes it)",
        description="Open a task app on the current display, or on a new private Xvfb with --virtual. "
                    "It stays open until the app reports an outcome, --close-after passes or Ctrl+C; "
                    "the app (and the virtual display) are always closed at the end.")
    op.add_argument("task", help="a task name (see `deskact sandbox list`)")
    op.add_argument("--seed", type=int, default=0, help="task content and perturbation seed (default: 0)")
    op.add_argument("--perturb", default="none", metavar="SPEC",
                    help="UI perturbations, e.g. 'layout:0.5,theme', 'all' (default: none)")
    op.add_argument("--virtual", metavar="WxH",
                    help="open it on a new private Xvfb of this size; its DISPLAY is printed")
    op.add_argument("--screenshot", metavar="PNG", help="save a screenshot once the window is up")
    op.add_argument("--close-after", type=float, metavar="S",
                    help="close after this many seconds even without an outcome (0: right after the screenshot)")
    op.set_defaults(func=run_open)


def screen_size(text: str) -> tuple[int, int]:
    """'1280x800' -> (1280, 800)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise SandboxCliError(f"--virtual {text!r} is not a size like 1280x800")
    w, h = int(m.group(1)), int(m.group(2))
    if not (64 <= w <= 16384 and 64 <= h <= 16384):
        raise SandboxCliError(f"--virtual {w}x{h} is out of range (64..16384 pixels per side)")
    return w, h


def run_list(args) -> int:
    from sandbox.tasks import TASKS

    width = max((len(n) for n in TASKS), default=0)
    for name, cls in TASKS.items():
        print(f"{name:<{width}}  {cls.description}" if args.long else name)
    return 0


def run_open(args) -> int:
    from recorder.platform import check_display
    from sandbox import perturb, tasks
    from sandbox.harness import TaskSession

    tasks.get(args.task)  # a bad task or perturbation is reported before any display check
    perturb.parse(args.perturb)
    if args.close_after is not None and args.close_after < 0:
        raise SandboxCliError(f"--close-after must be 0 or more, got {args.close_after:g}")
    if args.screenshot and not os.path.isdir(os.path.dirname(os.path.abspath(args.screenshot))):
        raise SandboxCliError(f"cannot write the screenshot {args.screenshot}: its folder does not exist")
    virtual = screen_size(args.virtual) if args.virtual else None
    display = None
    if virtual is None:
        if check_display() == "macos":
            raise SandboxCliError("the task apps run on X11 only: use --virtual WxH (needs Xvfb)")
        display = os.environ["DISPLAY"]
    session = TaskSession(args.task, seed=args.seed, perturb_spec=args.perturb, display=display,
                          screen=virtual)
    previous_hup = signal.signal(signal.SIGHUP, _hangup)  # a closed terminal cleans up too
    try:
        with session:
            w, h = session.screen if session.vdisplay else _size_of(session.display)
            where = "a new virtual display" if session.vdisplay else "the current display"
            print(f"Task {args.task} (seed {args.seed}, perturb {session.variant.spec}) is open on {where}: "
                  f"DISPLAY={session.display} ({w}x{h})", flush=True)
            if virtual and session.variant.screen and tuple(session.variant.screen) != virtual:
                print(f"  (the resolution perturbation chose {w}x{h} over --virtual {virtual[0]}x{virtual[1]})",
                      flush=True)
            if session.vdisplay:
                print(f"  look at it with a VNC server on it (`x11vnc -display {session.display}`) "
                      f"or run other programs there with DISPLAY={session.display}", flush=True)
            if args.screenshot:
                size = save_screenshot(session.display, args.screenshot)
                print(f"Screenshot: {args.screenshot} ({size[0]}x{size[1]})", flush=True)
            print(_wait(session, args.close_after), flush=True)
    except KeyboardInterrupt:
        print("Closed (Ctrl+C).", flush=True)
    finally:
        signal.signal(signal.SIGHUP, previous_hup)
    return 0


def _hangup(signum, frame):
    raise KeyboardInterrupt


def _wait(session, close_after: float | None) -> str:
    """Block until an outcome, the app exiting, or close_after seconds; say which."""
    deadline = None if close_after is None else time.monotonic() + close_after
    if close_after is None:
        print("Waiting for the task's outcome (Ctrl+C to close)...", flush=True)
    while True:
        out = session.outcome()
        if out:
            reason = f" ({out['reason']})" if out.get("reason") else ""
            return f"Outcome: {out['outcome']}{reason}"
        if session.proc is None or session.proc.poll() is not None:
            return "The app was closed without an outcome."
        if deadline is not None and time.monotonic() >= deadline:
            return f"Closed after {close_after:g} s without an outcome."
        time.sleep(0.05)


def save_screenshot(display: str, path: str) -> tuple[int, int]:
    """Grab the whole X display with mss and write it as PNG; returns its size."""
    import mss
    import mss.tools

    try:
        with mss.MSS(display=display) as sct:
            shot = sct.grab(sct.monitors[0])
            mss.tools.to_png(shot.rgb, shot.size, output=path)
    except OSError as e:
        raise SandboxCliError(f"cannot write the screenshot {path}: {e.strerror or e}") from None
    return shot.width, shot.height


def _size_of(display: str) -> tuple[int, int]:
    from Xlib.display import Display

    d = Display(display)
    try:
        s = d.screen()
        return s.width_in_pixels, s.height_in_pixels
    finally:
        d.close()
