"""What a task's workflow is, as the scripted demonstrator performs it.

A Step names *what* to act on (a target name the running app publishes with its screen
rectangle), never where: the demonstrator looks the target up on the live app, so the same
script works under every perturbation. `fumble` lists plausible wrong versions of the step.
"""
from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("click", "double_click", "right_click", "drag", "scroll", "type", "key", "skip")


@dataclass(frozen=True)
class Step:
    kind: str
    target: str | None = None  # pointer steps: the target to act on
    text: str | None = None  # type
    combo: str | None = None  # key, e.g. "ctrl+s", "enter", "tab"
    to: str | None = None  # drag: the target to drop on
    until: str | None = None  # scroll: scroll over `target` until this target is visible
    clicks: int = -3  # scroll: wheel clicks per burst (negative = down)
    steer: bool = False  # pointer: move straight across, then to the target (into a cascading menu)
    fumble: tuple["Step", ...] = field(default=())

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Step.kind {self.kind!r} is not one of {KINDS}")
        needs = {"click": "target", "double_click": "target", "right_click": "target", "drag": "to",
                 "scroll": "target", "type": "text", "key": "combo"}.get(self.kind)
        if needs and getattr(self, needs) is None:
            raise ValueError(f"a {self.kind} step needs {needs}")
        if self.kind == "drag" and self.target is None:
            raise ValueError("a drag step needs target")


def click(target, **kw):
    return Step("click", target=target, **kw)


def double_click(target, **kw):
    return Step("double_click", target=target, **kw)


def right_click(target, **kw):
    return Step("right_click", target=target, **kw)


def drag(target, to, **kw):
    return Step("drag", target=target, to=to, **kw)


def scroll(target, until, clicks=-3, **kw):
    return Step("scroll", target=target, until=until, clicks=clicks, **kw)


def type_text(text, **kw):
    return Step("type", text=text, **kw)


def key(combo, **kw):
    return Step("key", combo=combo, **kw)


SKIP = Step("skip")
