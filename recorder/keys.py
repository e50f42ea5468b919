"""Key names: one vocabulary for the recorder, the episode files and the executor.

Names are pyautogui's (`pyautogui.KEY_NAMES`), so a recorded `key` action's combo can be
replayed directly: `pyautogui.hotkey(*combo.split("+"))`. Modifiers are "ctrl", "alt",
"shift", "win" and always come first in a combo, in that order ("ctrl+shift+s").
X11 keysym names are translated here too (pure data: no display needed), so the listener and
the unit tests share one table. Pure Python: no numpy, no display.
"""
from __future__ import annotations

MODIFIERS = ("ctrl", "alt", "shift", "win")

# Keys that only change what other keys type (AltGr, Caps Lock, ...): never actions of their own.
# The characters they help type are recorded resolved ("@", "A"), so replaying them would be
# wrong (a replayed Caps Lock would invert the case of the replayed text).
STATE_KEYS = frozenset({"altright", "capslock", "numlock", "scrolllock"})

# Keys that, pressed alone (no ctrl/alt/win), are not text even when they produce a char.
SPECIAL_KEYS = frozenset({
    "enter", "tab", "esc", "backspace", "delete", "insert", "home", "end", "pageup", "pagedown",
    "up", "down", "left", "right", "capslock", "numlock", "scrolllock", "printscreen", "pause",
    "apps", "altright", *(f"f{i}" for i in range(1, 25)),
})

# Spellings people (and other tools) use -> our name.
ALIASES = {
    "control": "ctrl", "ctl": "ctrl", "ctrlleft": "ctrl", "ctrlright": "ctrl",
    "shiftleft": "shift", "shiftright": "shift", "altleft": "alt", "option": "alt",
    "super": "win", "meta": "win", "cmd": "win", "command": "win", "winleft": "win", "winright": "win",
    "return": "enter", "escape": "esc", "del": "delete", "ins": "insert", "pgup": "pageup",
    "pgdn": "pagedown", "page_up": "pageup", "page_down": "pagedown", "bksp": "backspace",
    "prtsc": "printscreen", "prtscr": "printscreen", "print": "printscreen", "menu": "apps",
    " ": "space", "\n": "enter", "\r": "enter", "\t": "tab", "\b": "backspace",
}

# X11 keysym name -> our name (keysyms that do not stand for a printable character).
X11_KEYSYMS = {
    "Return": "enter", "KP_Enter": "enter", "Tab": "tab", "ISO_Left_Tab": "tab",
    "Escape": "esc", "BackSpace": "backspace", "Delete": "delete", "KP_Delete": "delete",
    "Insert": "insert", "KP_Insert": "insert", "Home": "home", "KP_Home": "home", "End": "end",
    "KP_End": "end", "Prior": "pageup", "Page_Up": "pageup", "KP_Prior": "pageup",
    "KP_Page_Up": "pageup", "Next": "pagedown", "Page_Down": "pagedown", "KP_Next": "pagedown",
    "KP_Page_Down": "pagedown", "Left": "left", "KP_Left": "left", "Right": "right",
    "KP_Right": "right", "Up": "up", "KP_Up": "up", "Down": "down", "KP_Down": "down",
    "Control_L": "ctrl", "Control_R": "ctrl", "Shift_L": "shift", "Shift_R": "shift",
    "Alt_L": "alt", "Alt_R": "alt", "Meta_L": "alt", "Meta_R": "alt",
    "Super_L": "win", "Super_R": "win", "Hyper_L": "win", "Hyper_R": "win",
    "ISO_Level3_Shift": "altright", "Mode_switch": "altright",
    "Caps_Lock": "capslock", "Num_Lock": "numlock", "Scroll_Lock": "scrolllock",
    "Print": "printscreen", "Pause": "pause", "Menu": "apps", "space": "space", "KP_Space": "space",
    **{f"F{i}": f"f{i}" for i in range(1, 25)},
    **{f"KP_{i}": f"num{i}" for i in range(10)},
    "KP_Add": "add", "KP_Subtract": "subtract", "KP_Multiply": "multiply", "KP_Divide": "divide",
    "KP_Decimal": "decimal", "KP_Separator": "separator",
}

# Keypad keys type their character (with NumLock on) rather than acting as combos.
KEYPAD_CHARS = {**{f"num{i}": str(i) for i in range(10)}, "add": "+", "subtract": "-",
                "multiply": "*", "divide": "/", "decimal": "."}


KNOWN_NAMES = frozenset({*MODIFIERS, *SPECIAL_KEYS, *X11_KEYSYMS.values(), *KEYPAD_CHARS, "space"})


class KeyNameError(ValueError):
    """A key or combination that is not in the vocabulary."""


def normalize(name: str) -> str:
    """Our name for a key spelt any common way ("Control" -> "ctrl", "Return" -> "enter").

    Single characters are kept as they are, except that letters are lowercased: a combo names
    the key, not the character it types ("ctrl+shift+s")."""
    if not isinstance(name, str) or name == "":
        raise KeyNameError(f"not a key name: {name!r}")
    if name in ALIASES:
        return ALIASES[name]
    if len(name) == 1:
        return name.lower()
    if name in X11_KEYSYMS:
        return X11_KEYSYMS[name]
    low = name.lower()
    low = ALIASES.get(low, low)
    if low in KNOWN_NAMES:
        return low
    raise KeyNameError(f"unknown key name {name!r} (use pyautogui names: ctrl, shift, alt, enter, f8, a, ...)")


def is_modifier(name: str) -> bool:
    return name in MODIFIERS


def format_combo(mods, key: str) -> str:
    """'ctrl+shift+s': modifiers in canonical order, then the key (which is not repeated)."""
    held = set(mods)
    parts = [m for m in MODIFIERS if m in held and m != key]
    return "+".join(parts + [key])


def parse_combo(combo: str) -> tuple[frozenset, str]:
    """'Ctrl+Shift+S' -> ({'ctrl', 'shift'}, 's'). The last part is the key; a lone modifier
    is allowed ('shift'). Raises KeyNameError naming the bad part."""
    if not combo or not combo.strip():
        raise KeyNameError("empty key combination")
    raw = combo.strip()
    parts = raw.split("+")
    if raw.endswith("++") or raw == "+":  # "ctrl++" means ctrl and the plus key
        parts = [p for p in parts if p] + ["+"]
    names = [normalize(p.strip()) for p in parts if p.strip() or p == "+"]
    *mods, key = names
    bad = [m for m in mods if m not in MODIFIERS]
    if bad:
        raise KeyNameError(f"{combo!r}: {bad[0]!r} is not a modifier (ctrl, alt, shift, win)")
    return frozenset(mods), key


def canonical_combo(combo: str) -> str:
    mods, key = parse_combo(combo)
    return format_combo(mods, key)


def x11_key_name(keysym_name: str | None, char: str | None) -> str | None:
    """Our name for an X11 key from its keysym name (the unshifted level) and, for printable
    keys, the character of that level. None if the key has no name we know."""
    if keysym_name in X11_KEYSYMS:
        return X11_KEYSYMS[keysym_name]
    if char and len(char) == 1 and char.isprintable():
        return char.lower()
    return None


def keysym_to_char(keysym: int) -> str | None:
    """The character an X11 keysym types, or None (function keys, modifiers, NoSymbol)."""
    if not keysym:
        return None
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:  # Latin-1 keysyms are code points
        return chr(keysym)
    if 0x01000100 <= keysym <= 0x0110FFFF:  # Unicode keysyms
        return chr(keysym - 0x01000000)
    if keysym in (0xFF0D, 0xFF8D):  # Return, KP_Enter
        return "\n"
    if keysym in (0xFF09, 0xFE20):
        return "\t"
    if 0xFFB0 <= keysym <= 0xFFB9:  # KP_0..KP_9
        return chr(ord("0") + keysym - 0xFFB0)
    return _legacy_keysym_chars().get(keysym)


_LEGACY: dict | None = None


def _legacy_keysym_chars() -> dict:
    """Keysyms from the pre-Unicode tables (EuroSign, Cyrillic, Greek, ...) -> character."""
    global _LEGACY
    if _LEGACY is None:
        try:
            from pynput._util.xorg_keysyms import SYMBOLS  # pure data, opens no display
        except Exception:  # pragma: no cover - pynput missing
            SYMBOLS = {}
        _LEGACY = {ks: ch for ks, ch in SYMBOLS.values() if ks > 0xFF and ks < 0x01000000}
    return _LEGACY


def char_to_keysym(char: str) -> int:
    """The X11 keysym that types `char` (the inverse of keysym_to_char for one character)."""
    cp = ord(char)
    if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF:
        return cp
    for ks, ch in _legacy_keysym_chars().items():
        if ch == char:
            return ks
    return 0x01000000 + cp


def is_text(key: str, char: str | None, mods) -> bool:
    """Does this key press type text (merged into a `type` action) rather than act as a key?

    Text: a printable character with no ctrl/alt/win held (shift is fine: it picks the case).
    Enter and Tab are keys, not text (they move focus or submit)."""
    if not char or not char.isprintable() or key in SPECIAL_KEYS or key in MODIFIERS:
        return False
    return not (set(mods) & {"ctrl", "alt", "win"})
