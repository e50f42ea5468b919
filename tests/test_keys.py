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
