"""Key names are pyautogui's, so recorded combos replay directly."""
import pytest

from recorder import keys as K


@pytest.mark.parametrize("given, expected", [
    ("Control", "ctrl"), ("ctrl", "ctrl"), ("CTRL", "ctrl"), ("Return", "enter"), ("escape", "esc"),
    ("Escape", "esc"), ("BackSpace", "backspace"), ("Prior", "pageup"), ("Next", "pagedown"),
    ("F8", "f8"), ("f10", "f10"), ("Super_L", "win"), ("cmd", "win"), ("A", "a"), ("é", "é"),
    (" ", "space"), ("\n", "enter"), ("ISO_Left_Tab", "tab"), ("KP_Enter", "enter"), ("KP_5", "num5"),
])
def test_normalize(given, expected):
    assert K.normalize(given) == expected


def test_names_are_pyautogui_key_names():
    pyautogui_names = pytest.importorskip("pyautogui").KEY_NAMES
    for name in set(K.X11_KEYSYMS.values()) | set(K.MODIFIERS) | {"esc", "enter", "tab", "backspace"}:
        assert name in pyautogui_names, name


def test_unknown_name_is_an_error_that_names_it():
    with pytest.raises(K.KeyNameError, match="'flurb'"):
        K.normalize("flurb")


@pytest.mark.parametrize("combo, expected", [
    ("ctrl+s", "ctrl+s"), ("S+Ctrl", None), ("shift+ctrl+S", "ctrl+shift+s"), ("Alt+F4", "alt+f4"),
    ("ctrl++", "ctrl++"), ("f9", "f9"), ("Control+Return", "ctrl+enter"), ("win+alt+shift+ctrl+x", "ctrl+alt+shift+win+x"),
])
def test_canonical_combo(combo, expected):
    if expected is None:
        with pytest.raises(K.KeyNameError, match="not a modifier"):
            K.canonical_combo(combo)
    else:
        assert K.canonical_combo(combo) == expected


def test_format_combo_orders_modifiers_and_does_not_repeat_the_key():
    assert K.format_combo({"shift", "ctrl"}, "s") == "ctrl+shift+s"
    assert K.format_combo({"shift"}, "shift") == "shift"
    assert K.format_combo(set(), "enter") == "enter"


def test_keysym_to_char_and_back():
    assert K.keysym_to_char(0x61) == "a"
    assert K.keysym_to_char(0xE9) == "é"
    assert K.keysym_to_char(0x20AC) == "€"  # legacy EuroSign keysym
    assert K.keysym_to_char(0x010020AC) == "€"  # Unicode keysym (what xdotool and our Injector bind)
    assert K.keysym_to_char(0x06C1) == "а"  # Cyrillic_a
    assert K.keysym_to_char(0xFFC6) is None  # F9
    assert K.keysym_to_char(0) is None
    for ch in "aZ~é€ж":
        assert K.keysym_to_char(K.char_to_keysym(ch)) == ch


def test_is_text():
    assert K.is_text("a", "A", {"shift"})
    assert K.is_text("space", " ", set())
    assert K.is_text("é", "é", set())
    assert not K.is_text("s", "s", {"ctrl"})
    assert not K.is_text("f4", None, {"alt"})
    assert not K.is_text("enter", "\n", set())
    assert not K.is_text("tab", "\t", set())
    assert not K.is_text("shift", None, set())


def test_x11_keymap_resolves_levels_like_the_focused_app():
    # A Keymap with a hand-made table (the real one reads it from the X server).
    from recorder.platform.x11_listener import Keymap

    km = Keymap.__new__(Keymap)
    km.d = None
    km.rows = {38: [0x61, 0x41, 0, 0, 0x40, 0], 10: [0x31, 0x21, 0, 0, 0, 0], 200: [0xE9, 0xE9, 0, 0, 0, 0],
               201: [0x010020AC, 0, 0, 0, 0, 0], 202: [0xE9, 0, 0, 0, 0, 0], 67: [0xFFBE, 0, 0, 0, 0, 0],
               37: [0xFFE3, 0, 0, 0, 0, 0], 36: [0xFF0D, 0, 0, 0, 0, 0]}
    km.masks = {"shift": 1, "lock": 2, "ctrl": 4, "alt": 8, "numlock": 16, "level3": 128, "win": 64, "group2": 0}
    SHIFT, LOCK, CTRL, ALT, LEVEL3 = 1, 2, 4, 8, 128
    assert km.resolve(38, 0) == ("a", "a")
    assert km.resolve(38, SHIFT) == ("a", "A")
    assert km.resolve(38, LOCK) == ("a", "A")
    assert km.resolve(38, SHIFT | LOCK) == ("a", "a")
    assert km.resolve(38, LEVEL3) == ("a", "@")  # AltGr level
    assert km.resolve(10, SHIFT) == ("1", "!")
    assert km.resolve(10, LOCK) == ("1", "1")  # Caps Lock leaves digits alone
    assert km.resolve(200, SHIFT) == ("é", "é")  # both levels bound to é (how text is injected)
    assert km.resolve(202, SHIFT) == ("é", "É")  # one level: shift gives the capital
    assert km.resolve(201, 0) == ("€", "€")
    assert km.resolve(67, 0) == ("f1", None)
    assert km.resolve(37, 0) == ("ctrl", None)
    assert km.resolve(36, 0) == ("enter", "\n")
    assert km.mods(SHIFT | CTRL | ALT | LOCK) == ["ctrl", "alt", "shift"]
