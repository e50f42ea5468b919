"""The `deskact` command. One module per subcommand; each exposes `add_parser(subparsers)`
which registers itself and sets `func`. Library code raises DeskactError; this is the one
place that turns it into `Error: <message>` and exit code 1."""
from __future__ import annotations

import argparse
import importlib
import sys

from recorder.errors import DeskactError

# Subcommand modules, in the order `deskact --help` lists them.
SUBCOMMANDS = ["doctor", "sandbox", "demo", "record", "inspect", "train", "run", "replay", "practice", "bench"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskact",
        description="Learn a desktop workflow from a few demonstrations, then do it with judgment.",
    )
    parser.add_argument("--version", action="version", version=f"deskact {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"agent.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"agent.cli.{name}":
                continue  # not built yet
            raise
        module.add_parser(sub)
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("deskact")
    except Exception:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DeskactError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
