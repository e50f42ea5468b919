"""`deskact record NAME`: record a demonstration on the current display."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "record", help="record a demonstration of a workflow on this display",
        description="Record what you do (every click, drag, scroll, key and typed text, with the "
                    "screen just before each action) into an episode folder OUT/NAME/<date-time>/. "
                    "Hotkeys work whichever window has focus and are never recorded: F9 pause/resume, "
                    "F10 stop, F8 mark this attempt as failed (failures are training data too). "
                    "Ctrl+C here also stops cleanly. The folder is private to you (0700).")
    p.add_argument("name", help="workflow name (a folder under --out; one subfolder per recording)")
    p.add_argument("--out", default="episodes", metavar="DIR", help="where episodes go (default: ./episodes)")
    p.add_argument("--fps", type=float, default=10, help="screen capture rate of the frame ring (default 10)")
    p.add_argument("--redact-typing", action="store_true",
                   help="store typed text as '*' (key combos like ctrl+s are kept)")
    p.add_argument("--exclude-region", action="append", default=[], metavar="x,y,w,h",
                   help="black out this screen rectangle (logical pixels) in every frame; repeatable")
    p.add_argument("--hotkey-pause", default="f9", metavar="KEY", help="start/pause hotkey (default f9)")
    p.add_argument("--hotkey-stop", default="f10", metavar="KEY", help="stop hotkey (default f10)")
    p.add_argument("--hotkey-fail", default="f8", metavar="KEY",
                   help="mark-as-failed hotkey (default f8); combos like ctrl+alt+f are fine")
    p.add_argument("--no-hotkeys", action="store_true", help="no global hotkeys (stop with Ctrl+C)")
    p.add_argument("--paused", action="store_true", help="start paused; press the pause hotkey to begin")
    p.add_argument("--outcome", choices=["success", "failure", "unknown"],
                   help="outcome to store (default: success, or failure if the fail hotkey was pressed)")
    p.add_argument("--duration", type=float, metavar="S", help="stop by itself after S seconds")
    p.add_argument("--display", help="X display to record (default: $DISPLAY)")
    p.add_argument("--app-hint", help="free text stored in meta.json (which app this is)")
    p.set_defaults(func=run)


def episode_path(out: str, name: str) -> Path:
    if not name or name.strip() != name or "/" in name or name in (".", ".."):
        from recorder.errors import RecorderError

        raise RecorderError(f"workflow name {name!r} must be a plain folder name")
    base = Path(out) / name / time.strftime("%Y%m%d-%H%M%S")
    path, n = base, 2
    while path.exists():
        path = base.with_name(f"{base.name}-{n}")
        n += 1
    return path


def run(args) -> int:
    from recorder.capture import Recorder
    from recorder.inspect import fidelity_report

    from recorder.platform import session_kind

    path = episode_path(args.out, args.name)
    if not args.display and session_kind() == "xwayland":
        print("Warning: this is a Wayland session: only X11 (XWayland) apps' input and windows can be "
              "recorded; log in to an X11 session to record everything", file=sys.stderr)
    if args.fps < 10:
        print(f"Warning: at {args.fps:g} fps the frame before an action may be up to {1 / args.fps:.1f} s old "
              "(10 or more is recommended)", file=sys.stderr)
    hotkeys = False if args.no_hotkeys else {"pause": args.hotkey_pause, "stop": args.hotkey_stop,
                                             "fail": args.hotkey_fail}

    def status(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    rec = Recorder(path, display=args.display, fps=args.fps, redact_typing=args.redact_typing,
                   exclude_regions=args.exclude_region, hotkeys=hotkeys,
                   meta_extra={"app_hint": args.app_hint, "workflow": args.name},
                   start_paused=args.paused, on_status=status)
    rec.start()
    w, h = rec.meta["screen"]["width"], rec.meta["screen"]["height"]
    print(f"Recording to {path}", flush=True)
    print(f"  display {rec.display}  {w}x{h}  pixel scale {rec.meta['pixel_scale']}  {args.fps:g} fps"
          + ("  typing redacted" if args.redact_typing else "")
          + (f"  {len(args.exclude_region)} region(s) blacked out" if args.exclude_region else ""), flush=True)
    if hotkeys:
        hk = rec.hotkeys
        print(f"  {hk['pause'].upper()} pause/resume   {hk['stop'].upper()} stop   "
              f"{hk['fail'].upper()} mark as failed   Ctrl+C stop", flush=True)
    else:
        print("  Ctrl+C stops", flush=True)
    if args.paused:
        status("paused: press the pause hotkey to start")

    prev_term = signal.signal(signal.SIGTERM, lambda *_: rec.request_stop("sigterm"))
    # Python leaves SIGINT ignored if it started ignored (a background job): Ctrl+C / kill -INT
    # must still stop the recording cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    reason = None
    tty = sys.stdout.isatty()
    deadline = time.monotonic() + args.duration if args.duration else None
    last_print = time.monotonic()
    try:
        while not rec.wait(0.5):
            if deadline and time.monotonic() >= deadline:
                reason = "duration"
                break
            trouble = rec.problem()
            if trouble:
                print(f"\nWARNING: {trouble}; stopping and keeping what was recorded", file=sys.stderr, flush=True)
                reason = "display-lost"
                break
            if time.monotonic() - last_print >= (1 if tty else 30):
                s = rec.stats()
                line = (f"  {s['seconds']:6.0f} s  {s['events']} events  {s['frames']} frames"
                        + ("  PAUSED" if s["paused"] else "") + (f"  {s['dropped']} dropped" if s["dropped"] else ""))
                print(("\r" + line) if tty else line, end="" if tty else "\n", flush=True)
                last_print = time.monotonic()
    except KeyboardInterrupt:
        reason = "sigint"
    finally:
        signal.signal(signal.SIGTERM, prev_term)
    if tty:
        print()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not cut the clean stop short
    reason = reason or rec.stop_reason
    outcome = args.outcome or ("failure" if rec.marked_failure else "success")
    summary = rec.stop(outcome=outcome, stopped_by=reason)
    print({"sigint": "Stopped (Ctrl+C).", "hotkey": "Stopped (hotkey).", "duration": "Stopped (time is up).",
           "sigterm": "Stopped (SIGTERM).", "display-lost": "Stopped (the display went away)."}.get(reason, "Stopped."),
          flush=True)
    print(fidelity_report(summary), flush=True)
    problems = summary["dropped_events"] + summary["actions_without_frame"] + summary["frame_write_errors"]
    if problems:
        print("WARNING: this recording is incomplete (see 'dropped' above).", file=sys.stderr)
    return 0
