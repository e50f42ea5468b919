"""X11: input injection through XTEST (pyautogui; xdotool for text pyautogui cannot type),
screen geometry and pixel scale. Imported only by recorder.platform.backend()."""
from __future__ import annotations

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

    p = _pag()
    x11mod = p._pyautogui_x11
    current = getattr(x11mod, "_deskact_display_name", os.environ.get("DISPLAY"))
    if display != current:
        old = x11mod._display
        x11mod._display = Display(display)
        x11mod._deskact_display_name = display
        try:
            old.close()
        except Exception:
            pass
    os.environ["DISPLAY"] = display


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
        """Type text; ASCII through pyautogui, anything else through xdotool (pyautogui drops it)."""
        for ch in text:
            if ch.isascii() and (ch.isprintable() or ch in "\n\t"):
                self._p.write(ch, _pause=False) if ch not in "\n\t" else self._p.press(
                    "enter" if ch == "\n" else "tab", _pause=False)
            else:
                _xdotool_type(ch)
            if interval:
                time.sleep(interval)


def _xdotool_type(text: str) -> None:
    if not shutil.which("xdotool"):
        raise DisplayError("typing non-ASCII text needs xdotool (apt-get install xdotool)")
    subprocess.run(["xdotool", "type", "--delay", "0", "--", text], check=True)
