"""What X11 and macOS share: pyautogui, loaded lazily with its sleeps off, and an injector on
top of it. Each platform module subclasses `PyautoguiInjector` for what differs: key names,
keys pyautogui cannot send, and characters it cannot type."""
from __future__ import annotations

import time

from ..errors import DisplayError

_pyautogui = None


def load(what: str):
    """pyautogui with PAUSE 0 (its default sleeps 0.1 s after every call). `what` says, in an
    error, what it was needed for."""
    global _pyautogui
    if _pyautogui is None:
        try:
            import pyautogui
        except Exception as e:  # KeyError('DISPLAY'), Xlib errors, missing Quartz
            raise DisplayError(f"cannot load pyautogui {what} ({type(e).__name__}: {e})") from None
        pyautogui.PAUSE = 0
        pyautogui.MINIMUM_DURATION = 0
        _pyautogui = pyautogui
    return _pyautogui


class PyautoguiInjector:
    """Sends real input through pyautogui. Coordinates are logical screen points."""

    def __init__(self, pag):
        self._p = pag

    # --- per platform ---------------------------------------------------------------------
    def key_name(self, name: str) -> str:
        return name.lower()

    def type_other(self, ch: str) -> None:
        """Type one character pyautogui cannot (it knows only a US key map)."""
        raise NotImplementedError

    # --- shared ---------------------------------------------------------------------------
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
        """Wheel clicks; positive scrolls up."""
        if x is not None:
            self.move(x, y)
        self._p.scroll(int(clicks), _pause=False)

    def key(self, name: str, pressed: bool) -> None:
        (self._p.keyDown if pressed else self._p.keyUp)(self.key_name(name), _pause=False)

    def hotkey(self, combo: str) -> None:
        """Press a combination like 'ctrl+s', releasing in reverse order."""
        keys = combo.split("+")
        for k in keys:
            self.key(k, True)
        for k in reversed(keys):
            self.key(k, False)

    def type_text(self, text: str, interval: float = 0.0) -> None:
        """Type text: ASCII through pyautogui, anything else through `type_other`."""
        for ch in text:
            if ch in "\n\t":
                self._p.press("enter" if ch == "\n" else "tab", _pause=False)
            elif ch.isascii() and ch.isprintable():
                self._p.write(ch, _pause=False)
            else:
                self.type_other(ch)
            if interval:
                time.sleep(interval)
