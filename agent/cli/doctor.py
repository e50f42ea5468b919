"""`deskact doctor`: check that this machine can record and run; exit 1 with what to fix."""
from __future__ import annotations

import json

from recorder.errors import DeskactError, DisplayError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("doctor", help="check that this machine can record demonstrations and run the agent",
                              description=__doc__)
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="time limit of each check in seconds (default: 10)")
    p.set_defaults(func=run)


def run(args) -> int:
    from agent import doctor

    if not args.timeout > 0:
        raise DeskactError(f"--timeout must be more than 0 seconds, got {args.timeout:g}")
    try:
        results = doctor.run_checks(timeout=args.timeout)
    except DisplayError as e:
        if not args.json:
            raise  # the CLI prints it as one `Error:` line
        print(json.dumps({"ok": False, "error": str(e), "checks": []}))
        return 1
    if args.json:
        print(json.dumps(doctor.as_dict(results)))
    else:
        print(doctor.format_table(results))
    return 0 if doctor.passed(results) else 1
