"""X11: input injection through XTEST (pyautogui; keysyms bound to spare keycodes for text
pyautogui cannot type, xdotool as a last resort), screen geometry and pixel scale.
Imported only by recorder.platform.backend()."""
from __future__ import annotations

import contextlib
import os

import shutil
import subprocess
import time

from ..errors import DisplayError
from . import _pyautogui
from ._pyautogui import PyautoguiInjector

def _pag():
    """pyautogui (it opens $DISPLAY at import; see bind_display)."""
    return _pyautogui.load("for X input: is the X display reachable?")


def screen_size() -> tuple[int, int]:
    """Screen size in input (logical) coordinates."""
    w, h = _pag().size()
    return int(w), int(h)


def pixel_scale() -> float:
    """Physical pixels per logical point: always 1.0 on X11 (no HiDPI scaling of root coords)."""
    return 1.0


# Key names are pyautogui's (the same strings the recorder writes for keys: "ctrl", "shift",
# "alt", "enter", "tab", "esc", "backspace", "f1".., "a").
_KEY_ALIASES = {"control": "ctrl", "return": "enter", "escape": "esc", "super": "win", "cmd": "win",
                "page_up": "pageup", "page_down": "pagedown", "alt_l": "alt", "alt_r": "altright"}


def key_name(name: str) -> str:
    n = name.lower()
    return _KEY_ALIASES.get(n, n)


def bind_display(display: str) -> None:
    """Point pyautogui (which opens DISPLAY once, at import) at another X display.

    One process drives one display at a time; the sandbox uses this to inject into a private
    Xvfb after pyautogui was first imported for another one."""
    import os

    from Xlib.display import Display

    if _pyautogui is None:  # pyautogui opens $DISPLAY at import: let that be the target display
        os.environ["DISPLAY"] = display
    p = _pag()
    x11mod = p._pyautogui_x11
    current = getattr(x11mod, "_deskact_display_name", os.environ.get("DISPLAY"))
    if display == current:  # the same name may be a new server (a private Xvfb restarted)
        try:
            x11mod._display.get_input_focus()
        except Exception:
            current = None
    if display != current:
        old = x11mod._display
        x11mod._display = Display(display)
        x11mod._deskact_display_name = display
        try:
            old.close()
        except Exception:
            pass
    os.environ["DISPLAY"] = display


@contextlib.contextmanager
def driving(display: str):
    """This process drives `display` for the block (input, screen grabs and listeners open
    $DISPLAY), then gets back the display it had: nothing is left pointing at a private Xvfb
    that is about to be stopped."""
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    try:
        yield
    finally:
        if previous and previous != display:
            try:
                bind_display(previous)
            except Exception:  # that display is gone too: leave DISPLAY as the caller had it
                os.environ["DISPLAY"] = previous


class Injector(PyautoguiInjector):
    """Sends real input through XTEST (pyautogui). Coordinates are logical screen pixels.

    display: an X display name to inject into (default: $DISPLAY)."""

    def __init__(self, display: str | None = None):
        if display:
            bind_display(display)
        super().__init__(_pag())

    def key_name(self, name: str) -> str:
        return key_name(name)

    def type_other(self, ch: str) -> None:
        """By keysym on a spare keycode (pyautogui drops it); xdotool if none is spare."""
        if not _unicode_key(self._p, ch):
            _xdotool_type(ch)


# Non-ASCII characters: bind the character's keysym to a spare keycode and press it through
# XTEST. xdotool does the same but restores the keycode at once, so a client that refreshes
# its keymap lazily on MappingNotify (Xlib, hence Tk) often sees the restored, empty mapping
# and drops the character (measured: 'héllo €' typed char by char arrived as 'hllo ').
# Bindings stay in place and spare keycodes are reused least-recently-bound first.
_bound: dict[int, int] = {}  # keysym -> keycode, oldest first
_spare: list[int] | None = None
_spare_display = None


def _unicode_key(pag, ch: str) -> bool:
    """Type one character by keysym; False if no spare keycode exists (caller falls back)."""
    global _spare, _spare_display
    from Xlib import X
    from Xlib.ext import xtest

    d = pag._pyautogui_x11._display
    if _spare is None or _spare_display is not d:
        lo, hi = d.display.info.min_keycode, d.display.info.max_keycode
        mapping = d.get_keyboard_mapping(lo, hi - lo + 1)
        _spare = [lo + i for i, syms in enumerate(mapping) if not any(syms)][-8:]
        _spare_display = d
        _bound.clear()
    if not _spare:
        return False
    keysym = ord(ch) if 0x20 <= ord(ch) <= 0xFF else 0x01000000 | ord(ch)
    code = _bound.pop(keysym, None)
    if code is None:
        if len(_bound) >= len(_spare):
            old = next(iter(_bound))
            code = _bound.pop(old)
        else:
            code = _spare[len(_bound)]
        d.change_keyboard_mapping(code, [(keysym, keysym)])
        d.sync()
        time.sleep(0.03)  # let clients see the new mapping before the key arrives
    _bound[keysym] = code
    xtest.fake_input(d, X.KeyPress, code)
    xtest.fake_input(d, X.KeyRelease, code)
    d.sync()
    return True


def _xdotool_type(text: str) -> None:
    if not shutil.which("xdotool"):
        raise DisplayError("typing non-ASCII text needs xdotool (apt-get install xdotool)")
    subprocess.run(["xdotool", "type", "--delay", "0", "--", text], check=True)
