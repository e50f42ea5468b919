"""Raw input events -> semantic actions (click, drag, scroll, key, type).

Pure and numpy-free: Episode.load calls it to rebuild the actions of a cut-off episode, and the
recorder calls it at stop. The rules (thresholds below) are the ones a person would expect:

- A press and release of one button closer than DRAG_THRESHOLD px (largest distance the pointer
  went from the press while held) is a click; farther, a drag from the press to the release.
- A second click of the same button within DOUBLE_CLICK_TIME s and DOUBLE_CLICK_DIST px of the
  first, with nothing in between, makes it a double (or triple) click.
- Wheel clicks in the same direction less than SCROLL_GAP s apart are one scroll action.
- Key releases are paired to presses by keycode (shift+a is pressed as "A", released as "a");
  a release with no press (the key was down when recording started) is ignored, so a modifier
  held at the start never comes out stuck. Modifiers come from the X state carried by each key
  event ("mods") when present, else from the presses seen.
- Printable characters with no ctrl/alt/win are text, merged into one `type` action; backspace
  edits that text while it is being typed. Enter, Tab and combos are `key` actions. AltGr and
  the lock keys make no action (the characters they help type are recorded resolved).
- A `mark` event "pause" ends everything pending; "stop" with reason "sigint" drops the ctrl+c
  that stopped the recorder from its terminal.

Each action's "frame" is the latest frame captured strictly before its first event. A pointer
action also gets "frame_still": the latest frame before the pointer set off towards it, when
one was grabbed at least STILL_AFTER s after the previous action ended. That is the screen the
person decided on, and the one an agent sees: the target not yet hovered (a menu entry or
button under the pointer is highlighted in "frame").
"""
from __future__ import annotations

from bisect import bisect_left

from .keys import MODIFIERS, STATE_KEYS, format_combo, is_modifier, is_text

DRAG_THRESHOLD = 6.0  # logical px
DOUBLE_CLICK_TIME = 0.5  # s between the presses
DOUBLE_CLICK_DIST = 5.0  # logical px
SCROLL_GAP = 0.6  # s
STILL_AFTER = 0.1  # s after the previous action: its effect on the screen has been drawn
CLICK_KINDS = {"left": "click", "right": "right_click", "middle": "middle_click"}
COMBO_MODS = frozenset({"ctrl", "alt", "win"})


def events_to_actions(events: list[dict], meta: dict, frames: dict[str, float] | None = None) -> list[dict]:
    """Actions (dicts, see recorder/episode.py) for the events of one episode, in order."""
    return _Builder(meta, frames or {}).run(events)


class _Builder:
    def __init__(self, meta: dict, frames: dict[str, float]):
        screen = meta.get("screen") or {}
        self.w = float(screen.get("width") or 1)
        self.h = float(screen.get("height") or 1)
        self.redact = bool((meta.get("recorder") or {}).get("redact_typing"))
        order = sorted(frames.items(), key=lambda kv: kv[1])
        self.frame_names = [n for n, _ in order]
        self.frame_times = [t for _, t in order]
        self.out: list[dict] = []
        self.keys: dict = {}  # keycode (or name) -> {"key", "t"} of the press
        self.buttons: dict = {}  # button -> press info
        self.typing: dict | None = None
        self.scroll: dict | None = None
        self.set_off: float | None = None  # first pointer move since the last action ended
        self.last_end: float | None = None  # when the previous action's last event came

    # --- helpers ---------------------------------------------------------------------------
    def frame_before(self, t: float) -> str | None:
        i = bisect_left(self.frame_times, t)
        return self.frame_names[i - 1] if i > 0 else None

    def norm(self, x, y) -> tuple[float, float]:
        return round(float(x) / self.w, 6), round(float(y) / self.h, 6)

    def emit(self, action: dict, t_first: float, approach: tuple | None = None) -> dict:
        """approach: (when the pointer set off, when the action before ended or None)."""
        action["frame"] = self.frame_before(t_first)
        if approach is not None:
            set_off, prev_end = approach
            i = bisect_left(self.frame_times, set_off)
            if i > 0 and (prev_end is None or self.frame_times[i - 1] >= prev_end + STILL_AFTER):
                action["frame_still"] = self.frame_names[i - 1]
        self.out.append(action)
        return action

    def approach(self, t: float) -> tuple:
        """For a pointer action starting at t: (when the pointer set off towards it, when the
        action before it ended)."""
        return (t if self.set_off is None else self.set_off, self.last_end)

    def ended(self, t: float) -> None:
        """An action's last event came at t: the next pointer move sets off towards another."""
        self.set_off, self.last_end = None, t

    def mods_of(self, ev: dict) -> set:
        if "mods" in ev and ev["mods"] is not None:
            return set(ev["mods"])
        return {k["key"] for k in self.keys.values() if is_modifier(k["key"])}

    def mod_press_time(self, mods, t: float) -> float:
        """The earliest press among the held modifiers in `mods` (a combo starts there)."""
        times = [k["t"] for k in self.keys.values() if k["key"] in mods]
        return min(times + [t])

    def flush_typing(self) -> None:
        tp, self.typing = self.typing, None
        if tp and tp["text"]:
            text = "".join(tp["text"])
            if self.redact:
                text = "*" * len(text)
            self.emit({"t": tp["t"], "t_end": tp["t_end"], "kind": "type", "text": text,
                       "ev": [tp["i0"], tp["i1"]]}, tp["t_first"])

    def flush_scroll(self) -> None:
        sc, self.scroll = self.scroll, None
        if sc:
            x, y = self.norm(sc["x"], sc["y"])
            self.emit({"t": sc["t"], "t_end": sc["t_end"], "kind": "scroll", "x": x, "y": y,
                       "dx": sc["dx"], "dy": sc["dy"], "ev": [sc["i0"], sc["i1"]]}, sc["t"], sc["approach"])

    def flush(self) -> None:
        self.flush_typing()
        self.flush_scroll()

    # --- event handlers --------------------------------------------------------------------
    def run(self, events: list[dict]) -> list[dict]:
        for i, ev in enumerate(events):
            kind = ev.get("kind")
            handler = getattr(self, f"on_{kind}", None)
            if handler is not None:
                handler(i, ev)
        self.flush()
        return [{"i": n, **{k: v for k, v in a.items() if not k.startswith("_")}} for n, a in enumerate(self.out)]

    def on_move(self, i, ev):
        if self.set_off is None and not self.buttons:
            self.set_off = ev["t"]
        for b in self.buttons.values():
            d = ((ev["x"] - b["x"]) ** 2 + (ev["y"] - b["y"]) ** 2) ** 0.5
            b["far"] = max(b["far"], d)

    def on_button(self, i, ev):
        button = ev.get("button")
        if button not in CLICK_KINDS:
            return
        if ev["pressed"]:
            self.flush()
            self.buttons[button] = {"t": ev["t"], "x": ev["x"], "y": ev["y"], "far": 0.0, "i0": i,
                                    "mods": [m for m in MODIFIERS if m in self.mods_of(ev)],
                                    "approach": self.approach(ev["t"])}
            return
        press = self.buttons.pop(button, None)
        if press is None:  # pressed before recording started
            return
        self.ended(ev["t"])
        far = max(press["far"], ((ev["x"] - press["x"]) ** 2 + (ev["y"] - press["y"]) ** 2) ** 0.5)
        x, y = self.norm(press["x"], press["y"])
        if far > DRAG_THRESHOLD:
            x2, y2 = self.norm(ev["x"], ev["y"])
            action = {"t": press["t"], "t_end": ev["t"], "kind": "drag", "button": button,
                      "x": x, "y": y, "x2": x2, "y2": y2}
        else:
            prev = self.out[-1] if self.out else None
            if (prev is not None and prev.get("button") == button and "_last_press" in prev
                    and press["t"] - prev["_last_press"] <= DOUBLE_CLICK_TIME
                    and _dist(prev["_px"], (press["x"], press["y"])) <= DOUBLE_CLICK_DIST
                    and prev.get("mods", []) == press["mods"]):
                prev["count"] += 1
                prev["t_end"] = ev["t"]
                prev["_last_press"] = press["t"]
                prev["ev"][1] = i
                if button == "left":
                    prev["kind"] = "double_click"
                return
            action = {"t": press["t"], "t_end": ev["t"], "kind": CLICK_KINDS[button], "button": button,
                      "count": 1, "x": x, "y": y, "_last_press": press["t"], "_px": (press["x"], press["y"])}
        if press["mods"]:
            action["mods"] = press["mods"]
        action["ev"] = [press["i0"], i]
        self.emit(action, press["t"], press["approach"])

    def on_scroll(self, i, ev):
        self.flush_typing()
        dx, dy = int(ev.get("dx", 0)), int(ev.get("dy", 0))
        approach = self.approach(ev["t"])
        self.ended(ev["t"])
        sc = self.scroll
        if sc and ev["t"] - sc["t_end"] <= SCROLL_GAP and _same_dir(sc, dx, dy):
            sc["dx"] += dx
            sc["dy"] += dy
            sc["t_end"] = ev["t"]
            sc["i1"] = i
            return
        self.flush_scroll()
        self.scroll = {"t": ev["t"], "t_end": ev["t"], "x": ev["x"], "y": ev["y"], "dx": dx, "dy": dy,
                       "i0": i, "i1": i, "approach": approach}

    def on_key(self, i, ev):
        code = ev.get("keycode")
        ident = code if code is not None else ev.get("key")
        if not ev["pressed"]:
            self.keys.pop(ident, None)  # unmatched release: held before the start; ignore
            return
        key = ev.get("key")
        if not key:
            return
        self.ended(ev["t"])
        if ident in self.keys and is_modifier(key):
            return  # auto-repeat of a held modifier
        mods = self.mods_of(ev)
        self.keys[ident] = {"key": key, "t": ev["t"]}
        if is_modifier(key) or key in STATE_KEYS:
            return
        mods.discard(key)
        char = ev.get("char")
        if is_text(key, char, mods):
            self.flush_scroll()
            tp = self.typing
            if tp is None:
                tp = self.typing = {"t": ev["t"], "t_first": self.mod_press_time(mods, ev["t"]),
                                    "text": [], "i0": i, "i1": i}
            tp["text"].append(char)
            tp["t_end"], tp["i1"] = ev["t"], i
            return
        if key == "backspace" and not (mods & COMBO_MODS) and self.typing and self.typing["text"]:
            self.typing["text"].pop()
            self.typing["t_end"], self.typing["i1"] = ev["t"], i
            return
        self.flush()
        combo = format_combo(mods, key)
        action = {"t": ev["t"], "t_end": ev["t"], "kind": "key", "combo": combo, "key": key,
                  "mods": [m for m in MODIFIERS if m in mods], "ev": [i, i]}
        self.emit(action, self.mod_press_time(mods, ev["t"]))

    def on_mark(self, i, ev):
        what = ev.get("what")
        if what == "pause":
            self.flush()
            self.keys.clear()  # releases during the pause are not recorded
            self.buttons.clear()
        elif what == "stop" and ev.get("reason") == "sigint":
            self.flush()
            last = self.out[-1] if self.out else None
            if last and last["kind"] == "key" and last["combo"] == "ctrl+c" and ev["t"] - last["t"] < 5:
                self.out.pop()


def _dist(a, b) -> float:
    return ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5


def _sign(v) -> int:
    return (v > 0) - (v < 0)


def _same_dir(sc, dx, dy) -> bool:
    return (_sign(sc["dx"]), _sign(sc["dy"])) == (_sign(dx), _sign(dy))
