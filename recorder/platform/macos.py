"""macOS: input injection through pyautogui (Quartz events), Retina pixel scale, mac key names,
and the privacy permissions macOS asks for. Imported only by recorder.platform.backend().

Same interface as x11.py: screen_size(), pixel_scale(), key_name(), Injector. Everything that
touches macOS (pyautogui on darwin, Quartz, the ctypes calls into ApplicationServices,
CoreGraphics and IOKit) runs only when called on darwin; the pure parts (retina_scale, the key
tables, permission_messages) are unit-tested on Linux with recorded fixtures.

NOT VERIFIED (nothing mac-specific can run on the Linux machines this was written on):
- that mss's grab is in physical pixels while pyautogui.size() is in points on a Retina screen
  (documented by both projects; the fixtures are the sizes they report on a 2880x1800 panel);
- the ctypes signatures of AXIsProcessTrusted, CGPreflightScreenCaptureAccess and
  IOHIDCheckAccess, and the settings paths named in the messages (macOS 13-15 wording);
- typing non-ASCII text with CGEventKeyboardSetUnicodeString (pyobjc Quartz, which pyautogui
  already depends on on darwin);
- multi-monitor setups (only the main display is measured).
"""
from __future__ import annotations

import ctypes
import sys

from ..errors import DisplayError
from . import _pyautogui
from ._pyautogui import PyautoguiInjector

# ----- pure parts (tested on every platform) ------------------------------------------------

def retina_scale(physical: tuple[int, int], logical: tuple[int, int]) -> float:
    """Physical pixels per logical point: mss grab width / pyautogui width (2.0 on Retina).

    physical: the size of an mss grab of the main display (backing pixels);
    logical: pyautogui.size() (points, the coordinates input events use)."""
    (pw, ph), (lw, lh) = physical, logical
    if min(pw, ph, lw, lh) <= 0:
        raise ValueError(f"screen sizes must be positive, got physical {pw}x{ph}, logical {lw}x{lh}")
    return round(pw / lw, 4)


# pynput Key names (and the aliases x11.py accepts) -> pyautogui's darwin key names.
# pyautogui has no right-hand Command key: cmd_r is sent as "command" (left), a known loss.
_TO_PYAUTOGUI = {
    "cmd": "command", "cmd_l": "command", "cmd_r": "command", "command": "command",
    "win": "command", "super": "command",
    "alt": "option", "alt_l": "option", "alt_r": "optionright", "alt_gr": "optionright",
    "altright": "optionright", "option": "option", "optionleft": "option", "altleft": "option",
    "ctrl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrlright", "control": "ctrl", "ctrlleft": "ctrl",
    "shift": "shift", "shift_l": "shift", "shift_r": "shiftright", "shiftleft": "shift",
    "caps_lock": "capslock", "page_up": "pageup", "page_down": "pagedown", "pgup": "pageup",
    "pgdn": "pagedown", "return": "enter", "escape": "esc", "del": "delete",
    "media_volume_up": "volumeup", "media_volume_down": "volumedown", "media_volume_mute": "volumemute",
}

# pyautogui's darwin key names -> pynput Key names (what the recorder sees for that key).
_TO_PYNPUT = {
    "command": "cmd", "option": "alt", "optionleft": "alt_l", "optionright": "alt_r",
    "alt": "alt", "altleft": "alt_l", "altright": "alt_r",
    "ctrl": "ctrl", "ctrlleft": "ctrl_l", "ctrlright": "ctrl_r",
    "shift": "shift", "shiftleft": "shift_l", "shiftright": "shift_r",
    "capslock": "caps_lock", "pageup": "page_up", "pgup": "page_up", "pagedown": "page_down",
    "pgdn": "page_down", "enter": "enter", "return": "enter", "esc": "esc", "escape": "esc",
    "delete": "delete", "del": "delete",
    "volumeup": "media_volume_up", "volumedown": "media_volume_down", "volumemute": "media_volume_mute",
}


def key_name(name: str) -> str:
    """A recorded key name (pynput's, or x11.py's) -> the name pyautogui sends on macOS."""
    n = name.lower()
    return _TO_PYAUTOGUI.get(n, n)


def pynput_name(name: str) -> str:
    """A pyautogui darwin key name -> the pynput Key name a listener reports for it."""
    n = name.lower()
    return _TO_PYNPUT.get(n, n)


_SETTINGS = "System Settings > Privacy & Security"
PERMISSIONS = {
    # name: (what needs it, where to grant it)
    "accessibility": ("sending input and listening to the keyboard", f"{_SETTINGS} > Accessibility"),
    "screen_recording": ("screenshots of other apps' windows",
                         f"{_SETTINGS} > Screen Recording (\"Screen & System Audio Recording\" on macOS 15)"),
    "input_monitoring": ("recording keyboard input", f"{_SETTINGS} > Input Monitoring"),
}


def permission_messages(status: dict[str, bool | None]) -> list[str]:
    """One message per permission that is denied (False); unknown (None) ones are not reported."""
    out = []
    for name, granted in status.items():
        if granted is False:
            need, where = PERMISSIONS[name]
            out.append(f"{name.replace('_', ' ')} permission is missing (needed for {need}): allow the app "
                       f"that runs deskact (Terminal, iTerm, your IDE or Python) in {where}, then restart it")
    return out


# ----- permission checks (darwin only) -------------------------------------------------------

def _framework(name: str):
    return ctypes.cdll.LoadLibrary(f"/System/Library/Frameworks/{name}.framework/{name}")


def accessibility_trusted() -> bool | None:
    """AXIsProcessTrusted(): may this process send input and listen to it? None off macOS."""
    if sys.platform != "darwin":
        return None
    fn = _framework("ApplicationServices").AXIsProcessTrusted
    fn.restype, fn.argtypes = ctypes.c_bool, []
    return bool(fn())


def screen_recording_allowed() -> bool | None:
    """CGPreflightScreenCaptureAccess() (macOS 10.15+; before that no permission exists)."""
    if sys.platform != "darwin":
        return None
    cg = _framework("CoreGraphics")
    try:
        fn = cg.CGPreflightScreenCaptureAccess
    except AttributeError:  # macOS < 10.15: screen capture needs no permission
        return True
    fn.restype, fn.argtypes = ctypes.c_bool, []
    return bool(fn())


def input_monitoring_allowed() -> bool | None:
    """IOHIDCheckAccess(kIOHIDRequestTypeListenEvent) == granted (macOS 10.15+); None if unknown."""
    if sys.platform != "darwin":
        return None
    try:
        fn = _framework("IOKit").IOHIDCheckAccess
    except (OSError, AttributeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_uint32, [ctypes.c_uint32]
    access = fn(1)  # kIOHIDRequestTypeListenEvent; returns 0 granted, 1 denied, 2 unknown
    return {0: True, 1: False}.get(access)


def permissions() -> dict[str, bool | None]:
    """Each permission deskact needs: True granted, False denied, None unknown / not macOS."""
    return {"accessibility": accessibility_trusted(), "screen_recording": screen_recording_allowed(),
            "input_monitoring": input_monitoring_allowed()}


def check_permissions() -> None:
    """Raise DisplayError naming every missing permission and where to grant it."""
    problems = permission_messages(permissions())
    if problems:
        raise DisplayError("; ".join(problems))


# ----- geometry and input (darwin; pyautogui and mss both support it) ------------------------

def _pag():
    return _pyautogui.load("for input on macOS")


def screen_size() -> tuple[int, int]:
    """Main screen size in input (logical) points."""
    w, h = _pag().size()
    return int(w), int(h)


def physical_size() -> tuple[int, int]:
    """Main screen size in physical pixels: mss reports monitors in points, but its grab holds
    backing pixels, so measure a grab."""
    import mss

    with mss.MSS() as sct:
        shot = sct.grab(sct.monitors[1])
        return int(shot.width), int(shot.height)


def pixel_scale() -> float:
    return retina_scale(physical_size(), screen_size())


class Injector(PyautoguiInjector):
    """Sends input as Quartz events (pyautogui). Coordinates are logical points.

    display: accepted for interface parity with x11.Injector; must be None on macOS."""

    def __init__(self, display: str | None = None):
        if display:
            raise DisplayError("macOS has one display server: an X display name cannot be used here")
        super().__init__(_pag())

    def key_name(self, name: str) -> str:
        k = key_name(name)
        if len(k) > 1 and self._p.platformModule.keyboardMapping.get(k) is None:
            # pyautogui would drop it silently (media keys other than volume, insert, ...)
            raise DisplayError(f"key {name!r} cannot be sent on macOS (pyautogui has no key code for it)")
        return k

    def type_other(self, ch: str) -> None:
        _unicode_key(ch)


def _unicode_key(ch: str) -> None:
    """One character pyautogui cannot type (it only knows a US key map), via Quartz."""
    import Quartz  # pyobjc-framework-Quartz, a pyautogui dependency on darwin

    units = len(ch.encode("utf-16-le")) // 2
    for down in (True, False):
        ev = Quartz.CGEventCreateKeyboardEvent(None, 0, down)
        Quartz.CGEventKeyboardSetUnicodeString(ev, units, ch)
        Quartz.CGEventPost(Quartz.kCGHIDEventTap, ev)
