"""Run one task app: `python -m sandbox.app TASK --seed N --perturb SPEC --outcome F --targets F`."""
from __future__ import annotations

import argparse
import sys

from . import perturb, tasks


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sandbox.app", description=__doc__)
    p.add_argument("task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--perturb", default="none")
    p.add_argument("--outcome", help="file the app writes its outcome to")
    p.add_argument("--targets", help="file the app publishes its named widgets' rectangles to")
    a = p.parse_args(argv)
    cls = tasks.get(a.task)
    variant = perturb.draw(a.perturb, a.seed, n_phases=cls.n_phases)
    try:
        app = cls(variant, a.outcome, a.targets)
    except Exception as e:  # no display, bad font...: one line for the harness log
        print(f"Error: cannot start task {a.task}: {e}", file=sys.stderr)
        return 1
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
