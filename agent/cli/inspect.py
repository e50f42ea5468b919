"""`deskact inspect EPISODE`: print what an episode holds and draw its contact sheet."""
from __future__ import annotations

from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "inspect", help="summarise an episode and draw a contact sheet of its actions",
        description="Print an episode's summary (outcome, events, actions in order) and write a "
                    "contact sheet PNG: the frame before each action, in order, with the action drawn "
                    "on it. Works on cut-off episodes too (loaded up to the last flushed event).")
    p.add_argument("episode", help="episode folder (holds meta.json)")
    p.add_argument("--out", help="contact sheet path (default: EPISODE/contact.png)")
    p.add_argument("--max", type=int, default=60, metavar="N", help="draw at most N actions (default 60)")
    p.add_argument("--cols", type=int, default=3, help="tiles per row (default 3)")
    p.add_argument("--no-sheet", action="store_true", help="only print the summary")
    p.add_argument("--rebuild", action="store_true", help="re-derive the actions from events.jsonl")
    p.set_defaults(func=run)


def run(args) -> int:
    from recorder.episode import Episode
    from recorder.errors import EpisodeError
    from recorder.inspect import contact_sheet, summary_text

    ep = Episode.load(args.episode, rebuild_actions=args.rebuild)
    print(summary_text(ep))
    if not args.no_sheet:
        out = Path(args.out) if args.out else ep.path / "contact.png"
        if args.max < 1 or args.cols < 1:
            raise EpisodeError("--max and --cols must be at least 1")
        try:
            contact_sheet(ep, out, max_tiles=args.max, cols=args.cols)
        except OSError as e:
            raise EpisodeError(f"{out}: cannot write the contact sheet ({e.strerror or e})") from None
        print(f"contact sheet: {out}")
    return 0
