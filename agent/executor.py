"""Carry out actions: for real through the platform injector, or in a dry run that only
notes what would have been done. Actions use the recorder's action dicts (normalised x, y)."""
from __future__ import annotations

import re
import time

from recorder.errors import DeskactError

_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class ExecutorError(DeskactError):
    pass


def fill_vars(text: str, variables: dict[str, str]) -> str:
    """Replace {{name}} in a typed text by its --var value; a missing one is an error."""
    def sub(m):
        if m.group(1) not in variables:
            raise ExecutorError(f"typed text needs --var {m.group(1)}=VALUE")
        return variables[m.group(1)]

    return _VAR.sub(sub, text)


def describe(action: dict, size: tuple[int, int] | None = None) -> str:
    """A short human-readable form: 'click at (412, 300)', 'type "alice"', 'key ctrl+s'."""
    k = action["kind"]
    if k in ("key",):
        return f"key {action['combo']}"
    if k == "type":
        return f"type {action['text']!r}"
    if k == "done":
        return "done"
    if size:
        x, y = round(action["x"] * size[0]), round(action["y"] * size[1])
        where = f"({x}, {y})"
        if k == "drag":
            where += f" -> ({round(action['x2'] * size[0])}, {round(action['y2'] * size[1])})"
    else:
        where = f"({action['x']:.3f}, {action['y']:.3f})"
    if k == "scroll":
        return f"scroll {'up' if action.get('dy', 0) > 0 else 'down'} {abs(action.get('dy', 0))} at {where}"
    if action.get("dismiss"):
        return f"dismiss the dialog: click at {where}"
    return f"{k.replace('_', '-')} at {where}"


class Executor:
    """Base: `execute(action)`; subclasses send input or just log it."""

    dry_run = False

    def __init__(self, logical_size: tuple[int, int], variables: dict[str, str] | None = None):
        self.size = logical_size
        self.variables = variables or {}
        self.log: list[dict] = []

    def point(self, nx: float, ny: float) -> tuple[float, float]:
        w, h = self.size
        return min(max(nx, 0.0) * w, w - 1), min(max(ny, 0.0) * h, h - 1)

    def execute(self, action: dict) -> None:
        self.log.append(dict(action, t=time.time()))
        if action["kind"] == "done":
            return
        self._do(action)

    def _do(self, action: dict) -> None:
        raise NotImplementedError


class DryRunExecutor(Executor):
    """Sends no input at all: it only records what would have been done."""

    dry_run = True

    def _do(self, action: dict) -> None:
        if action["kind"] == "type":
            fill_vars(action["text"], self.variables)  # still report a missing --var


class LiveExecutor(Executor):
    """Real input through recorder.platform (XTEST on X11). Remembers where it left the
    pointer so the safety guard can tell when a person moved it."""

    def __init__(self, logical_size, injector, variables=None, drag_steps: int = 12):
        super().__init__(logical_size, variables)
        self.injector = injector
        self.drag_steps = drag_steps
        self.pointer: tuple[int, int] | None = None

    def _move(self, x: float, y: float) -> None:
        self.injector.move(x, y)
        self.pointer = (round(x), round(y))

    def _do(self, a: dict) -> None:
        k, inj = a["kind"], self.injector
        if k in ("click", "double_click", "right_click", "middle_click"):
            x, y = self.point(a["x"], a["y"])
            self._move(x, y)
            button = {"right_click": "right", "middle_click": "middle"}.get(k, "left")
            inj.click(x, y, button=button, count=2 if k == "double_click" else 1)
        elif k == "drag":
            x, y = self.point(a["x"], a["y"])
            x2, y2 = self.point(a["x2"], a["y2"])
            self._move(x, y)
            inj.button("left", True)
            for i in range(1, self.drag_steps + 1):
                f = i / self.drag_steps
                self._move(x + (x2 - x) * f, y + (y2 - y) * f)
                time.sleep(0.01)
            inj.button("left", False)
        elif k == "scroll":
            x, y = self.point(a["x"], a["y"])
            self._move(x, y)
            inj.scroll(int(a.get("dy", 0)))
        elif k == "key":
            inj.hotkey(a["combo"])
        elif k == "type":
            inj.type_text(fill_vars(a["text"], self.variables))
        else:
            raise ExecutorError(f"unknown action kind {k!r}")
