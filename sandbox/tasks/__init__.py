"""The built-in task apps, by name."""
from __future__ import annotations

from .signin import SignIn

TASKS = {cls.name: cls for cls in (SignIn,)}


def get(name: str):
    from recorder.errors import DeskactError

    try:
        return TASKS[name]
    except KeyError:
        raise DeskactError(f"unknown task {name!r} (built-in tasks: {', '.join(TASKS)})") from None
