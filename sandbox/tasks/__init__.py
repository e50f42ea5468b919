"""The built-in task apps, by name."""
from __future__ import annotations

from .drag_file import DragFile
from .export_menu import ExportMenu
from .rename import Rename
from .save_as import SaveAs
from .search_pick import SearchPick
from .settings import Settings
from .signin import SignIn

TASKS = {cls.name: cls for cls in (SignIn, SaveAs, Settings, ExportMenu, SearchPick, DragFile, Rename)}


def get(name: str):
    from recorder.errors import DeskactError

    try:
        return TASKS[name]
    except KeyError:
        raise DeskactError(f"unknown task {name!r} (built-in tasks: {', '.join(TASKS)})") from None
