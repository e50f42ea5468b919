"""The platform switch (session kinds, backend choice), the X11 backend on the test display, and
the macOS backend's pure parts against fixtures recorded from real Macs and from the installed
pynput / pyautogui sources (nothing mac-specific can run here)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from recorder.errors import DeskactError, DisplayError
from recorder.platform import backend, check_display, macos, session_kind

# ----- session kind and check_display, for each environment combination ------------------------

SESSIONS = [
    ({}, "none"),
    ({"DISPLAY": ":0"}, "x11"),
    ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "x11"),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "xwayland"),
    ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, "xwayland"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "wayland"),
    ({"XDG_SESSION_TYPE": "wayland"}, "wayland"),
    ({"XDG_SESSION_TYPE": "x11"}, "none"),
    ({"DISPLAY": ""}, "none"),
]


@pytest.mark.skipif(sys.platform == "darwin", reason="on macOS the session is always 'macos'")
@pytest.mark.parametrize("env,kind", SESSIONS)
def test_session_kind(env, kind):
    assert session_kind(env) == kind


@pytest.mark.skipif(sys.platform == "darwin", reason="on macOS the session is always 'macos'")
@pytest.mark.parametrize("env,kind", SESSIONS)
def test_check_display(env, kind):
    if kind == "none":
        with pytest.raises(DisplayError, match="^no display: DISPLAY is not set"):
            check_display(env)
    elif kind == "wayland":
        with pytest.raises(DisplayError, match="^pure Wayland session without XWayland"):
            check_display(env)
    else:
        assert check_display(env) == kind


@pytest.mark.parametrize("env", [{}, {"WAYLAND_DISPLAY": "wayland-0"}])
def test_display_errors_are_one_line_user_errors(env):
    with pytest.raises(DeskactError) as e:
        check_display(env)
    assert "\n" not in str(e.value)


def test_backend_forced_to_an_unknown_name(monkeypatch):
    monkeypatch.setenv("DESKACT_BACKEND", "beos")
    with pytest.raises(DisplayError, match="DESKACT_BACKEND='beos' is not one of: x11, macos"):
        backend()


def test_backend_can_be_forced_to_macos(monkeypatch):
    monkeypatch.setenv("DESKACT_BACKEND", "macos")
    assert backend() is macos


# ----- X11 backend on the pytest-xvfb display ------------------------------------------------------

@pytest.mark.x11
def test_x11_backend_geometry_and_pointer():
    mod = backend()
    assert mod.__name__ == "recorder.platform.x11"
    assert mod.screen_size() == (1280, 800)
    assert mod.pixel_scale() == 1.0
    inj = mod.Injector()
    x0, y0 = inj.position()
    try:
        inj.move(321, 123)
        assert inj.position() == (321, 123)
    finally:
        inj.move(x0, y0)


# ----- macOS: Retina pixel scale -------------------------------------------------------------------

# (mss grab size, pyautogui.size()) as reported on real machines, and the expected scale.
RETINA = [
    ((2880, 1800), (1440, 900), 2.0),  # MacBook Pro 15" Retina, default
    ((3360, 2100), (1680, 1050), 2.0),  # the same panel, "looks like 1680x1050" (backing store 2x)
    ((3024, 1964), (1512, 982), 2.0),  # MacBook Pro 14" (2021)
    ((5120, 2880), (2560, 1440), 2.0),  # iMac 27" 5K
    ((1920, 1080), (1920, 1080), 1.0),  # external non-Retina monitor
    ((1280, 800), (1280, 800), 1.0),
]


@pytest.mark.parametrize("physical,logical,scale", RETINA)
def test_retina_scale(physical, logical, scale):
    assert macos.retina_scale(physical, logical) == scale


@pytest.mark.parametrize("physical,logical", [((0, 900), (1440, 900)), ((2880, 1800), (0, 0)),
                                              ((2880, 1800), (-1440, 900))])
def test_retina_scale_rejects_empty_sizes(physical, logical):
    with pytest.raises(ValueError, match="screen sizes must be positive"):
        macos.retina_scale(physical, logical)


# ----- macOS: key names --------------------------------------------------------------------------------

# pynput Key name (what the recorder sees on a Mac) -> pyautogui name (what is sent) -> pynput name back
MAC_KEYS = [
    ("cmd", "command", "cmd"),
    ("cmd_l", "command", "cmd"),
    ("cmd_r", "command", "cmd"),  # pyautogui has no right Command: a known loss
    ("alt", "option", "alt"),
    ("alt_l", "option", "alt"),
    ("alt_r", "optionright", "alt_r"),
    ("alt_gr", "optionright", "alt_r"),
    ("ctrl", "ctrl", "ctrl"),
    ("ctrl_r", "ctrlright", "ctrl_r"),
    ("shift", "shift", "shift"),
    ("shift_r", "shiftright", "shift_r"),
    ("caps_lock", "capslock", "caps_lock"),
    ("page_up", "pageup", "page_up"),
    ("page_down", "pagedown", "page_down"),
    ("enter", "enter", "enter"),
    ("esc", "esc", "esc"),
    ("backspace", "backspace", "backspace"),
    ("delete", "delete", "delete"),  # forward delete on both sides
    ("tab", "tab", "tab"),
    ("space", "space", "space"),
    ("f13", "f13", "f13"),
    ("media_volume_up", "volumeup", "media_volume_up"),
    ("a", "a", "a"),
    ("A", "a", "a"),
]


@pytest.mark.parametrize("pynput_key,pyautogui_key,back", MAC_KEYS)
def test_mac_key_names_both_ways(pynput_key, pyautogui_key, back):
    assert macos.key_name(pynput_key) == pyautogui_key
    assert macos.pynput_name(pyautogui_key) == back


@pytest.mark.parametrize("x11_name,mac_name", [("win", "command"), ("super", "command"), ("control", "ctrl"),
                                               ("return", "enter"), ("escape", "esc"), ("altright", "optionright")])
def test_mac_key_names_accept_the_x11_aliases(x11_name, mac_name):
    assert macos.key_name(x11_name) == mac_name


def _site(rel: str) -> str:
    import pyautogui  # noqa: F401 -- only to find site-packages; the session display exists

    return (Path(sys.modules["pyautogui"].__file__).parent.parent / rel).read_text()


@pytest.mark.x11
def test_every_mac_key_name_is_one_pyautogui_can_send():
    """Against the installed pyautogui's darwin key map (read as text: it cannot import here)."""
    src = _site("pyautogui/_pyautogui_osx.py")
    block = src[src.index("keyboardMapping.update({"):]
    block = block[:block.index("})")]
    mac_names = set(re.findall(r"'([^']+)':\s*0x", block))
    assert {"command", "option", "optionright", "ctrlright"} <= mac_names
    # every pynput darwin key that pyautogui can send at all (not the media keys it lacks)
    pynput_src = _site("pynput/keyboard/_darwin.py")
    body = pynput_src[pynput_src.index("class Key(enum.Enum)"):]
    keys = re.findall(r"^    (\w+) = ", body[:body.index("\nclass ")], flags=re.M)
    assert {"cmd", "cmd_r", "alt_gr", "caps_lock"} <= set(keys)
    sendable = [k for k in keys if not k.startswith("media_") or "volume" in k]
    assert [k for k in sendable if macos.key_name(k) not in mac_names] == []
    assert [v for v in set(macos._TO_PYAUTOGUI.values()) if v not in mac_names] == []


# ----- macOS: permissions ------------------------------------------------------------------------------

@pytest.mark.skipif(sys.platform == "darwin", reason="checks the non-macOS path")
def test_permission_checks_are_unknown_off_macos():
    assert macos.permissions() == {"accessibility": None, "screen_recording": None, "input_monitoring": None}
    macos.check_permissions()  # nothing known to be missing: no error


def test_permission_messages_say_where_to_grant():
    msgs = macos.permission_messages({"accessibility": False, "screen_recording": False,
                                      "input_monitoring": None})
    assert len(msgs) == 2
    assert "System Settings > Privacy & Security > Accessibility" in msgs[0]
    assert "System Settings > Privacy & Security > Screen Recording" in msgs[1]
    assert all("\n" not in m for m in msgs)
    assert macos.permission_messages({"accessibility": True, "screen_recording": True}) == []


def test_mac_injector_refuses_an_x_display_name():
    with pytest.raises(DisplayError, match="X display name cannot be used"):
        macos.Injector(display=":1")
