"""One small module per platform (X11, macOS) behind one interface, chosen here.

The backend module is imported only inside `backend()`, the way pynput and mss do it, so that
importing deskact never touches the display. DESKACT_BACKEND=x11|macos forces a backend.
"""
from __future__ import annotations

import os
import sys

from ..errors import DisplayError


def session_kind(environ=None) -> str:
    """'x11', 'xwayland', 'wayland' (no X server reachable), 'macos' or 'none'."""
    env = os.environ if environ is None else environ
    if sys.platform == "darwin" and env.get("DESKACT_BACKEND", "macos") == "macos":
        return "macos"
    display, wayland = env.get("DISPLAY"), env.get("WAYLAND_DISPLAY")
    if wayland or env.get("XDG_SESSION_TYPE") == "wayland":
        return "xwayland" if display else "wayland"
    return "x11" if display else "none"


def check_display(environ=None) -> str:
    """Return the session kind, or raise DisplayError saying how to get a usable display."""
    kind = session_kind(environ)
    if kind == "none":
        raise DisplayError(
            "no display: DISPLAY is not set. Run deskact inside an X11 session, "
            "or on a virtual display (e.g. `deskact sandbox open TASK --virtual 1280x800`)."
        )
    if kind == "wayland":
        raise DisplayError(
            "pure Wayland session without XWayland: deskact needs X11 input and screen capture. "
            "Log in to an X11 session, or enable XWayland so that DISPLAY is set."
        )
    return kind


def backend():
    """The platform module (x11 or macos) for this machine."""
    name = os.environ.get("DESKACT_BACKEND") or ("macos" if sys.platform == "darwin" else "x11")
    if name == "macos":
        from . import macos as mod
    elif name == "x11":
        check_display()
        from . import x11 as mod
    else:
        raise DisplayError(f"DESKACT_BACKEND={name!r} is not one of: x11, macos")
    return mod
