"""The episode folder: one demonstration, written incrementally so a killed recorder loses nothing.

Layout (see README "Episode format"):

    meta.json       format version, screen size (logical), pixel scale, os, times, options, outcome
    events.jsonl    raw input events, one JSON object a line, flushed as they happen
    frames.jsonl    one line per PNG in frames/ once the PNG is completely written
    frames/         lossless PNG screenshots, NNNNNN.png
    actions.jsonl   semantic actions derived from events (always rebuildable from events.jsonl)

Event lines: {"t": seconds since start (when the X server saw it), "kind": ...}
  move:   x, y                      (logical pixels)
  button: x, y, button ("left"|"right"|"middle"|"x1"|...), pressed (bool), mods
  scroll: x, y, dx, dy              (wheel clicks; dy > 0 is up, dx > 0 is right)
  key:    key (pyautogui name of the UNSHIFTED key: "a", "1", "shift", "enter", "f8", "é"),
          keycode (int; None when redacted), pressed (bool), char (the text the press typed,
          resolved with shift/caps/AltGr: "A", "!", "€"; None on releases and for non-text keys),
          mods (modifiers held per the X state: subset of ["ctrl", "alt", "shift", "win"])
          With --redact-typing a text key is stored as key "*", char "*", keycode None.
  mark:   what ("pause"|"resume"|"failure"|"stop"), reason (stop: "hotkey", "sigint", ...)
frames.jsonl lines: {"file": "000123.png", "t": capture-finished time, "w", "h"} (pixels).
Action lines: {"i", "t" (first event), "t_end", "kind", "frame", "ev": [first, last event index]}
  with x, y (and x2, y2 for a drag) NORMALISED to 0..1 of the screen in meta.json; "frame" is
  the file in frames/ grabbed last before the action's first event (None if there is none);
  pointer actions may have "frame_still": the frame before the pointer set off towards them
  (what the person decided on; see recorder/actions.py). `decision_frame(a)` picks.
  click, double_click, right_click, middle_click: button, count (2 = double, 3 = triple), x, y,
      mods (only when a modifier was held: ["ctrl"])
  drag: button, x, y -> x2, y2           scroll: x, y, dx, dy (wheel clicks, burst merged)
  key: combo ("ctrl+shift+s": pyautogui names, modifiers first), key, mods
  type: text (masked '*' per character when recorded with --redact-typing)
meta.json also holds "recorder": {fps, redact_typing, exclude_regions, hotkeys, display,
  frame_size, summary (the fidelity counts at stop)} and "stopped_by". pixel_scale = frame
  pixels / logical screen width (2.0 on Retina; exclude regions are logical).
  "final_frame": the file in frames/ showing the screen when the recording stopped (where a
  finished workflow ends: the trainer learns `done` on it). Sandbox demos and practice runs add
  "task", "seed", "perturb", "action_targets" {action i: [x, y, w, h] aimed at} and, for failed
  runs, "fumble_action" / "failed_at_action" (index of the action that went wrong).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EpisodeError

FORMAT_VERSION = 1
ACTION_KINDS = ("click", "double_click", "right_click", "middle_click", "drag", "scroll", "key", "type")
POINTER_KINDS = ("click", "double_click", "right_click", "middle_click", "drag", "scroll")
OUTCOMES = ("success", "failure", "unknown")

DIR_MODE = 0o700
FILE_MODE = 0o600


def read_jsonl(path: Path) -> list[dict]:
    """Read a JSON-lines file, tolerating a cut-off last line (the writer was killed mid-write)."""
    if not path.exists():
        return []
    rows = []
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if n >= len(lines) - 2:  # only the last (unterminated) line may be torn
                break
            raise EpisodeError(f"{path}: line {n + 1} is not valid JSON") from None
    return rows


def write_json_atomic(path: Path, obj: dict) -> None:
    """Write JSON so that a reader sees the old or the new file, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class JsonlWriter:
    """Append-only JSON-lines file, flushed after every line (owner-only permissions)."""

    def __init__(self, path: Path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        self._f = os.fdopen(fd, "w", encoding="utf-8", buffering=1)

    def write(self, row: dict) -> None:
        self._f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def new_meta(width: int, height: int, pixel_scale: float = 1.0, **extra) -> dict:
    import platform

    meta = {
        "format_version": FORMAT_VERSION,
        "screen": {"width": int(width), "height": int(height)},
        "pixel_scale": float(pixel_scale),
        "os": platform.system().lower(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "ended_at": None,
        "outcome": "unknown",
        "outcome_reason": None,
        "recorder": {},
        "app_hint": None,
    }
    meta.update(extra)
    return meta


def create_episode_dir(path: Path) -> Path:
    """Create an empty, owner-only episode folder; refuse to overwrite a non-empty one."""
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise EpisodeError(f"{path}: already exists and is not empty")
    try:
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)
        (path / "frames").mkdir(exist_ok=True, mode=DIR_MODE)
        probe = path / ".write-test"
        probe.write_bytes(b"x" * 4096)
        probe.unlink()
    except OSError as e:
        raise EpisodeError(f"{path}: cannot write there ({e.strerror or e})") from None
    return path


@dataclass
class Episode:
    """A loaded episode. Loading never fails on a cut-off tail: it keeps what was flushed."""

    path: Path
    meta: dict
    events: list[dict]
    actions: list[dict]
    frames: dict[str, float] = field(default_factory=dict)  # file name -> capture time
    truncated: bool = False  # the episode was not closed cleanly (no ended_at)

    @property
    def screen_size(self) -> tuple[int, int]:
        s = self.meta["screen"]
        return int(s["width"]), int(s["height"])

    @property
    def outcome(self) -> str:
        return self.meta.get("outcome", "unknown")

    def frame_path(self, name: str) -> Path:
        return self.path / "frames" / name

    def to_pixels(self, nx: float, ny: float) -> tuple[float, float]:
        w, h = self.screen_size
        return nx * w, ny * h

    @classmethod
    def load(cls, path: str | os.PathLike, rebuild_actions: bool = False) -> "Episode":
        path = Path(path)
        meta_path = path / "meta.json"
        if not path.is_dir():
            raise EpisodeError(f"{path}: no such episode folder")
        if not meta_path.exists():
            raise EpisodeError(f"{path}: not an episode (no meta.json)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise EpisodeError(f"{path}: meta.json is corrupt") from None
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise EpisodeError(
                f"{path}: episode format version {version!r} is not supported "
                f"(this deskact reads version {FORMAT_VERSION})"
            )
        events = read_jsonl(path / "events.jsonl")
        frames = {}
        for row in read_jsonl(path / "frames.jsonl"):
            if (path / "frames" / row["file"]).exists():
                frames[row["file"]] = row["t"]
        truncated = meta.get("ended_at") is None
        actions = [] if rebuild_actions else read_jsonl(path / "actions.jsonl")
        if (rebuild_actions or truncated or not (path / "actions.jsonl").exists()) and events:
            from .actions import events_to_actions  # local: keeps this module free of pynput

            actions = events_to_actions(events, meta, frames)
        actions = [a for a in actions if a.get("frame") is None or a["frame"] in frames]
        for a in actions:
            if a.get("frame_still") is not None and a["frame_still"] not in frames:
                del a["frame_still"]
        return cls(path=path, meta=meta, events=events, actions=actions, frames=frames, truncated=truncated)


def decision_frame(action: dict) -> str | None:
    """The frame an action was decided on: the screen before the pointer set off towards it if
    recorded (the target not yet hovered, as an agent sees it), else the one before its first
    event."""
    return action.get("frame_still") or action.get("frame")


def find_episodes(paths) -> list[Path]:
    """Episode folders named directly or found (recursively) below the given folders, sorted."""
    found: list[Path] = []
    for p in map(Path, paths):
        if (p / "meta.json").exists():
            found.append(p)
        elif p.is_dir():
            found.extend(sorted(m.parent for m in p.rglob("meta.json")))
        else:
            raise EpisodeError(f"{p}: no such folder")
    return found
