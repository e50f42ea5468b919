"""UI perturbations: the changes that break macros, named, seeded and composable.

A spec is a comma-separated list of names with an optional strength, e.g. "layout:0.5,theme",
"all" or "none". `draw(spec, seed)` turns it into a concrete `Variant` that a task app
applies; the same (spec, seed) always gives the same variant, and each perturbation draws
from its own random stream, so adding one never changes what another does.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from recorder.errors import DeskactError

NAMES = ("layout", "theme", "window", "resolution", "popup", "decoy")
IMPOSSIBLE = "missing"  # the task's key target is removed: not a UI change, not in "all"
RESOLUTIONS = ((1024, 768), (1440, 900), (1280, 720), (1600, 900), (1152, 864))
DEFAULT_SCREEN = (1280, 800)
FONTS = ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono")


class PerturbError(DeskactError):
    pass


@dataclass(frozen=True)
class Theme:
    bg: str = "#ececec"
    fg: str = "#202020"
    button_bg: str = "#d9d9d9"
    button_fg: str = "#000000"
    entry_bg: str = "#ffffff"
    accent: str = "#3a6ea5"
    font_family: str = "DejaVu Sans"
    font_size: int = 10
    pad: int = 6

    def font(self, scale: float = 1.0, weight: str = "normal") -> tuple:
        return (self.font_family, max(6, round(self.font_size * scale)), weight)


@dataclass(frozen=True)
class Variant:
    """Everything a task app needs to know to draw itself under a perturbation."""

    spec: str = "none"
    seed: int = 0
    layout: float = 0.0  # 0: the demonstrated layout; 1: fully reordered and moved
    layout_seed: int = 0
    theme: Theme = field(default_factory=Theme)
    window_pos: tuple[int, int] = (80, 60)
    screen: tuple[int, int] | None = None  # a screen size the display must have, or None
    popup_phase: int | None = None  # phase index at which a distracting dialog opens
    popup_offset: tuple[int, int] = (0, 0)
    decoy: bool = False
    decoy_side: str = "right"  # where the look-alike sits relative to its target
    missing: bool = False  # the key target is gone: the task cannot be done (an agent must abstain)

    @property
    def names(self) -> list[str]:
        return parse(self.spec)[0] if self.spec else []


def parse(spec: str | None) -> tuple[list[str], dict[str, float]]:
    """'layout:0.5,theme' -> (['layout', 'theme'], {'layout': 0.5, 'theme': 1.0})."""
    strengths: dict[str, float] = {}
    for part in (spec or "none").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.partition(":")
        name = name.strip().lower()
        if name == "none":
            continue
        if name == "all":
            for n in NAMES:
                strengths.setdefault(n, 1.0)
            continue
        if name not in NAMES + (IMPOSSIBLE,):
            raise PerturbError(f"unknown perturbation {name!r} "
                               f"(choose from: none, all, {', '.join(NAMES)}, {IMPOSSIBLE})")
        try:
            strength = float(value) if value else 1.0
        except ValueError:
            raise PerturbError(f"perturbation strength {value!r} for {name} is not a number") from None
        if not 0.0 <= strength <= 1.0:
            raise PerturbError(f"perturbation strength for {name} must be within 0..1, got {strength}")
        strengths[name] = strength
    names = [n for n in NAMES + (IMPOSSIBLE,) if n in strengths]
    return names, strengths


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def draw(spec: str | None, seed: int, n_phases: int = 3) -> Variant:
    names, s = parse(spec)
    kw: dict = {"spec": ",".join(f"{n}:{s[n]:g}" for n in names) or "none", "seed": int(seed)}
    if "layout" in s:
        kw["layout"] = s["layout"]
        kw["layout_seed"] = _rng(seed, "layout").randrange(1 << 30)
    if "theme" in s:
        r, k = _rng(seed, "theme"), s["theme"]
        dark = r.random() < 0.5
        def colour(lo, hi):
            return "#%02x%02x%02x" % tuple(r.randint(lo, hi) for _ in range(3))
        base = Theme()
        kw["theme"] = Theme(
            bg=colour(30, 70) if dark else colour(200, 255),
            fg=colour(210, 255) if dark else colour(0, 50),
            button_bg=colour(60, 110) if dark else colour(150, 230),
            button_fg=colour(220, 255) if dark else colour(0, 40),
            entry_bg=colour(20, 50) if dark else colour(235, 255),
            accent=colour(80, 220),
            font_family=r.choice(FONTS),
            font_size=max(7, round(base.font_size + k * r.choice([-2, -1, 2, 3, 4]))),
            pad=max(2, round(base.pad + k * r.randint(-3, 6))),
        )
    if "window" in s:
        r, k = _rng(seed, "window"), s["window"]
        kw["window_pos"] = (round(80 + k * r.randint(-70, 420)), round(60 + k * r.randint(-50, 220)))
    if "resolution" in s:
        kw["screen"] = _rng(seed, "resolution").choice(RESOLUTIONS)
    if "popup" in s:
        r = _rng(seed, "popup")
        kw["popup_phase"] = r.randrange(max(1, n_phases))
        kw["popup_offset"] = (r.randint(-60, 60), r.randint(-40, 40))
    if "decoy" in s:
        kw["decoy"] = True
        kw["decoy_side"] = _rng(seed, "decoy").choice(["left", "right"])
    if IMPOSSIBLE in s:
        kw["missing"] = True
    return Variant(**kw)
