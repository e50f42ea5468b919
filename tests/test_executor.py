"""The executor maps normalised actions onto whatever screen it runs on (another size is not an
error), and the dry-run executor never touches input."""
from __future__ import annotations

import os

import pytest

from agent.executor import DryRunExecutor, ExecutorError, LiveExecutor, describe, fill_vars

pytestmark = pytest.mark.x11


@pytest.mark.parametrize("size", [(1024, 768), (1440, 900)])
def test_normalised_actions_land_on_a_screen_of_another_size(size, virtual_display):
    from recorder.platform.x11 import Injector, bind_display

    home = os.environ["DISPLAY"]
    d = virtual_display(*size)
    try:
        inj = Injector(display=d.display)
        ex = LiveExecutor(size, inj)
        ex.execute({"kind": "click", "x": 0.5, "y": 0.25})
        assert inj.position() == (size[0] // 2, size[1] // 4) == ex.pointer
        ex.execute({"kind": "drag", "x": 0.1, "y": 0.1, "x2": 0.9, "y2": 0.8})
        assert inj.position() == (round(0.9 * size[0]), round(0.8 * size[1]))
    finally:
        bind_display(home)


def test_dry_run_executor_logs_and_checks_vars_only():
    ex = DryRunExecutor((1280, 800), {"user": "bob"})
    ex.execute({"kind": "type", "text": "hi {{user}}"})
    assert len(ex.log) == 1
    with pytest.raises(ExecutorError, match="--var who"):
        ex.execute({"kind": "type", "text": "{{who}}"})
    assert fill_vars("a {{user}} b", {"user": "bob"}) == "a bob b"
    assert describe({"kind": "click", "x": 0.5, "y": 0.5}, (1280, 800)) == "click at (640, 400)"
