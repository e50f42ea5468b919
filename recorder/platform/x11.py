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

_pyautogui = None


def _pag():
    """pyautogui, imported lazily (it opens the display at import) with its sleeps off."""
    global _pyautogui
    if _pyautogui is None:
        try:
            import pyautogui
        except Exception as e:  # KeyError('DISPLAY'), Xlib errors
            raise DisplayError(f"cannot open the X display for input ({type(e).__name__}: {e})") from None
        pyautogui.PAUSE = 0
        pyautogui.MINIMUM_DURATION = 0
        _pyautogui = pyautogui
    return _pyautogui


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


class Injector:
    """Sends real input through XTEST. Coordinates are logical screen pixels.

    display: an X display name to inject into (default: $DISPLAY)."""

    def __init__(self, display: str | None = None):
        if display:
            bind_display(display)
        self._p = _pag()

    def position(self) -> tuple[int, int]:
        x, y = self._p.position()
        return int(x), int(y)

    def move(self, x: float, y: float) -> None:
        self._p.moveTo(round(x), round(y), _pause=False)

    def button(self, button: str, pressed: bool) -> None:
        (self._p.mouseDown if pressed else self._p.mouseUp)(button=button, _pause=False)

    def click(self, x: float, y: float, button: str = "left", count: int = 1, interval: float = 0.08) -> None:
        self.move(x, y)
        for i in range(count):
            if i:
                time.sleep(interval)
            self.button(button, True)
            self.button(button, False)

    def scroll(self, clicks: int, x: float | None = None, y: float | None = None) -> None:
        """Wheel clicks; positive scrolls up (X buttons 4/5)."""
        if x is not None:
            self.move(x, y)
        self._p.scroll(int(clicks), _pause=False)

    def key(self, name: str, pressed: bool) -> None:
        (self._p.keyDown if pressed else self._p.keyUp)(key_name(name), _pause=False)

    def hotkey(self, combo: str) -> None:
        """Press a combination like 'ctrl+s', releasing in reverse order."""
        keys = [key_name(k) for k in combo.split("+")]
        for k in keys:
            self.key(k, True)
        for k in reversed(keys):
            self.key(k, False)

    def type_text(self, text: str, interval: float = 0.0) -> None:
        """Type text; ASCII through pyautogui, anything else by keysym on a spare keycode (pyautogui
        drops it); xdotool only if no keycode is spare."""
        for ch in text:
            if ch.isascii() and (ch.isprintable() or ch in "\n\t"):
                self._p.write(ch, _pause=False) if ch not in "\n\t" else self._p.press(
                    "enter" if ch == "\n" else "tab", _pause=False)
            elif not _unicode_key(self._p, ch):
                _xdotool_type(ch)
            if interval:
                time.sleep(interval)


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
