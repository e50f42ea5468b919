"""macOS backend (not run here: see README "macOS"). Placeholder until the recorder issue fills it."""
from ..errors import DisplayError


def screen_size():
    raise DisplayError("macOS backend is not implemented yet")
