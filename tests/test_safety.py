"""Safety on a real X display (the session's private Xvfb): the stop key is seen whichever
window has focus, fast; a person moving the pointer pauses the agent; limits hold."""
from __future__ import annotations

import threading
import time

import pytest

from agent.safety import Limits, PointerGuard, SafetyStop, StopHotkey
from recorder.errors import DeskactError

pytestmark = pytest.mark.x11


@pytest.fixture
def injector():
    from recorder.platform.x11 import Injector

    return Injector()


def test_stop_key_sets_event_within_200ms(injector):
    with StopHotkey("f12") as hotkey:
        injector.key("a", True)
        injector.key("a", False)
        time.sleep(0.1)
        assert not hotkey.event.is_set()
        t0 = time.monotonic()
        injector.key("f12", True)
        injector.key("f12", False)
        assert hotkey.event.wait(1.0), "stop key not seen"
        assert hotkey.pressed_at - t0 < 0.2
    # stopping the listener must not hang or leave its thread behind
    assert not [t for t in threading.enumerate() if "deskact" in t.name.lower() and t.is_alive()]


def test_stop_key_interrupts_settle_wait(injector):
    from agent.screen import Screen

    screen = Screen()
    with StopHotkey("f12") as hotkey:
        threading.Timer(0.2, lambda: (injector.key("f12", True), injector.key("f12", False))).start()
        t0 = time.monotonic()
        screen.settle(timeout=5.0, quiet=10.0, stop=hotkey.event)
        assert time.monotonic() - t0 < 0.2 + 0.2


def test_pointer_guard_pauses_when_a_person_moves_the_pointer(injector):
    stop = threading.Event()
    notes = []
    guard = PointerGuard(injector, stop, resume_after=0.3, notify=notes.append)
    injector.move(100, 100)
    guard.check((100, 100))  # where the agent left it: no pause
    assert guard.pauses == 0
    injector.move(300, 250)  # "the person" moves it
    t0 = time.monotonic()
    guard.check((100, 100))
    assert guard.pauses == 1 and notes[0].startswith("Paused")
    assert time.monotonic() - t0 >= 0.3


def test_pointer_guard_stop_while_paused(injector):
    stop = threading.Event()
    guard = PointerGuard(injector, stop, resume_after=5, notify=lambda m: None)
    injector.move(50, 60)
    threading.Timer(0.2, stop.set).start()
    with pytest.raises(SafetyStop):
        guard.check((400, 400))


def test_limits():
    lim = Limits(max_steps=3, timeout=60)
    assert lim.exceeded(2) is None and "step limit" in lim.exceeded(3)
    lim = Limits(max_steps=100, timeout=0.05)
    time.sleep(0.06)
    assert "time limit" in lim.exceeded(0)
    with pytest.raises(DeskactError):
        Limits(0, 10)
