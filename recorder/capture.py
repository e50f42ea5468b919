"""The recorder: global input events + a continuous frame ring -> one episode folder.

    rec = Recorder("episodes/export/20260101-120000", display=":1")
    rec.start()                 # returns once the input listener and the frame ring run
    ...                         # a person (or the scripted demonstrator) works
    summary = rec.stop(outcome="success")

Nothing is lost if the process dies: every event is appended and flushed to events.jsonl from
the input thread as it arrives, and a frame is listed in frames.jsonl only once its PNG is
complete, so a cut-off episode loads up to its last flushed event (Episode.load rebuilds the
actions). At a clean stop the actions are derived, frames no action uses are deleted, and
meta.json gets the outcome, end time and a fidelity summary.

Hotkeys (hotkeys=True, defaults F9 pause/resume, F10 stop, F8 mark failed) are grabbed so the
focused app never gets them, and their key events are never written.

Platform input comes from a listener class with this interface (x11: platform/x11_listener.py;
macOS: platform/macos.py provides InputListener and logical_screen_size the same way):
    InputListener(display, callback, on_error) .start() .stop()  .grab_hotkeys([(mods, key)]) -> obj with .stop()
    callback(dict) from its thread, in input order, with "t" in time.monotonic() seconds and the
    event fields of recorder/episode.py (keys named as in recorder/keys.py).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

from . import keys as K
from .actions import events_to_actions
from .episode import FILE_MODE, JsonlWriter, create_episode_dir, new_meta, write_json_atomic
from .errors import EpisodeError, RecorderError
from .frames import FrameRing, FrameWriter

DEFAULT_HOTKEYS = {"pause": "f9", "stop": "f10", "fail": "f8"}
MIN_FREE_MB = 50


class Recorder:
    """Records input and the screen on one display into the episode folder `out_dir`.

    display: X display name (default $DISPLAY). fps: frame-ring rate (>= 10 keeps the frame
    before an action at most 0.1 s old). redact_typing: typed text is stored as '*'.
    exclude_regions: (x, y, w, h) logical rectangles blacked out in every frame.
    hotkeys: True for the defaults, a dict {"pause"|"stop"|"fail": combo} to change them,
    False for none (in-process automated use). meta_extra: merged into meta.json.
    on_status: called with a short message when a hotkey pauses, resumes, marks or stops.
    """

    def __init__(self, out_dir, display: str | None = None, fps: float = 10, redact_typing: bool = False,
                 exclude_regions=(), hotkeys=True, meta_extra: dict | None = None, *,
                 start_paused: bool = False, on_status=None, min_free_mb: float = MIN_FREE_MB,
                 ring_seconds: float = 1.0):
        self.out_dir = Path(out_dir)
        self.display = display or os.environ.get("DISPLAY")
        if not 1 <= float(fps) <= 60:
            raise RecorderError(f"fps must be between 1 and 60, got {fps}")
        self.fps = float(fps)
        self.redact_typing = bool(redact_typing)
        self.exclude_regions = [_region(r) for r in exclude_regions]
        self.hotkeys = _hotkey_specs(hotkeys)
        self.meta_extra = dict(meta_extra or {})
        self.on_status = on_status
        self.min_free_mb = float(min_free_mb)
        self.ring_seconds = ring_seconds
        self.paused = bool(start_paused)
        self.marked_failure = False
        self.stop_requested = threading.Event()
        self.stop_reason: str | None = None
        self.events: list[dict] = []  # filled at stop (read back from events.jsonl)
        self.event_counts: dict[str, int] = {}  # by kind, live
        self.meta: dict = {}
        self.dropped = 0  # events received but not written
        self.paused_events = 0
        self.frames_missing = 0  # action-starting events with no ring frame before them
        self._lock = threading.Lock()
        self._listener = None
        self._grab = None
        self._ring: FrameRing | None = None
        self._writer: FrameWriter | None = None
        self._events_file: JsonlWriter | None = None
        self._hotkey_down: set = set()
        self._masked: set = set()
        self._held: set = set()  # mouse buttons down
        self._setting_off = True  # the next pointer move (no button held) starts an approach
        self._started = self._stopped = False
        self._t0 = 0.0
        self._final_t: float | None = None
        self._last_error: str | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> "Recorder":
        if self._started:
            raise RecorderError("this recorder was already started")
        from .platform import check_display

        if not self.display:
            check_display()
        self._preflight()
        create_episode_dir(self.out_dir)
        try:
            self._check_free_space()
        except EpisodeError:
            shutil.rmtree(self.out_dir, ignore_errors=True)  # empty: we just made it
            raise
        try:
            self._start_capture()
        except BaseException:
            self._teardown()
            shutil.rmtree(self.out_dir, ignore_errors=True)  # nothing was recorded: leave no husk
            raise
        self._started = True
        return self

    def _preflight(self) -> None:
        """Refuse an unwritable or nearly full output folder before anything records."""
        probe = self.out_dir
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            raise EpisodeError(f"{self.out_dir}: cannot write there ({probe} is not a folder)")

    def _check_free_space(self) -> None:
        try:
            free_mb = shutil.disk_usage(self.out_dir).free / 1e6
        except OSError as e:
            raise EpisodeError(f"{self.out_dir}: cannot write there ({e.strerror or e})") from None
        if free_mb < self.min_free_mb:
            raise EpisodeError(f"{self.out_dir}: only {free_mb:.0f} MB free there; the recorder needs "
                               f"at least {self.min_free_mb:.0f} MB")

    def _start_capture(self) -> None:
        listener_cls, screen_size = _backend()
        self._ring = FrameRing(self.display, self.fps, self.ring_seconds)
        self._ring.start()
        width, height = screen_size(self.display)
        mon = self._ring.monitor
        scale = round(mon["width"] / width, 4) if width else 1.0
        self.meta = new_meta(width, height, scale, app_hint=self.meta_extra.pop("app_hint", None))
        self.meta["recorder"] = {
            "fps": self.fps, "redact_typing": self.redact_typing,
            "exclude_regions": [list(r) for r in self.exclude_regions],
            "hotkeys": {k: v for k, v in self.hotkeys.items()} if self.hotkeys else None,
            "display": self.display, "frame_size": [mon["width"], mon["height"]],
            "python": sys.version.split()[0],
        }
        self.meta.update(self.meta_extra)
        write_json_atomic(self.out_dir / "meta.json", self.meta)
        self._events_file = JsonlWriter(self.out_dir / "events.jsonl")
        self._t0 = time.monotonic()
        self._writer = FrameWriter(self.out_dir, self._t0, self.exclude_regions, scale)
        self._listener = listener_cls(self.display, self._on_event, on_error=self._on_listener_error)
        self._listener.start()
        if self.hotkeys:
            self._grab = self._listener.grab_hotkeys([K.parse_combo(c) for c in self.hotkeys.values()])

    def stop(self, outcome: str = "unknown", reason: str | None = None, stopped_by: str | None = None) -> dict:
        """Stop, derive the actions, prune unused frames, finish meta.json; returns the summary.

        reason: why the outcome is what it is (stored as meta outcome_reason). stopped_by: what
        ended the recording ("hotkey", "sigint", ...; default: the stop hotkey if it was used).
        A failure marked with the hotkey wins over outcome "unknown"."""
        if not self._started or self._stopped:
            raise RecorderError("the recorder is not running")
        if outcome not in ("success", "failure", "unknown"):
            raise RecorderError(f"outcome must be success, failure or unknown, got {outcome!r}")
        self._stopped = True
        stopped_by = stopped_by or self.stop_reason
        self._stop_input()
        final = self._ring.before(time.monotonic()) if self._ring is not None else None
        if final is not None:  # the screen as the demonstration left it (the trainer learns `done` on it)
            self._writer.submit(final)
        self._final_t = round(final.t - self._t0, 4) if final is not None else None
        self._write_event({"t": self._now(), "kind": "mark", "what": "stop", "reason": stopped_by})
        self._teardown()
        if outcome == "unknown" and self.marked_failure:
            outcome = "failure"
        try:
            return self._finish(outcome, reason, stopped_by)
        except OSError as e:  # disk full, folder removed, ...: what was flushed still loads
            for tmp in self.out_dir.glob("*.tmp"):
                tmp.unlink(missing_ok=True)
            raise EpisodeError(f"{self.out_dir}: could not finish the episode ({e.strerror or e}); "
                               f"it loads up to its last flushed event") from None

    def _finish(self, outcome: str, reason: str | None, stopped_by: str | None) -> dict:
        """Derive the actions, prune frames no action uses, write actions.jsonl and meta.json."""
        from .episode import read_jsonl

        frames = dict(self._writer.written)
        self.events = read_jsonl(self.out_dir / "events.jsonl")  # not kept in memory while recording
        actions = events_to_actions(self.events, self.meta, frames)
        used = {a[k] for a in actions for k in ("frame", "frame_still") if a.get(k)}
        final = max(frames, key=frames.get) if frames and self._final_t is not None else None
        if final is not None:
            used.add(final)
            self.meta["final_frame"] = final
        self._prune_frames(frames, used)  # first: it frees space for what follows
        _write_jsonl_atomic(self.out_dir / "actions.jsonl", actions)
        summary = self._summary(actions, {n: t for n, t in frames.items() if n in used})
        self.meta.update(ended_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), outcome=outcome,
                         outcome_reason=reason or self.meta.get("outcome_reason"), stopped_by=stopped_by)
        self.meta["recorder"]["summary"] = {k: v for k, v in summary.items() if k != "path"}
        write_json_atomic(self.out_dir / "meta.json", self.meta)
        summary["outcome"] = outcome
        return summary

    def _stop_input(self) -> None:
        for part in (self._grab, self._listener):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    pass
        self._grab = self._listener = None

    def _teardown(self) -> None:
        self._stop_input()
        if self._ring is not None:
            self._ring.stop()
        if self._writer is not None:
            self._writer.close()
        if self._events_file is not None:
            with self._lock:
                try:
                    self._events_file.close()
                except OSError:  # the last flush failed (disk full): counted as dropped already
                    pass

    def __enter__(self) -> "Recorder":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._started and not self._stopped:
            self.stop("unknown", stopped_by=None if exc_type is None else f"exception: {exc_type.__name__}")

    # --- controls (hotkeys call these too) --------------------------------------------------
    def pause(self) -> None:
        if not self.paused:
            self._write_event({"t": self._now(), "kind": "mark", "what": "pause"})
            self.paused = True
            self._status("paused (press the pause hotkey again to resume)")

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self._write_event({"t": self._now(), "kind": "mark", "what": "resume"})
            self._status("recording")

    def mark_failure(self, reason: str = "marked by the person recording") -> None:
        """Failures are data too: the episode's outcome becomes 'failure' (also in meta.json now,
        so a killed recorder keeps it)."""
        self.marked_failure = True
        self._write_event({"t": self._now(), "kind": "mark", "what": "failure"})
        self.meta.update(outcome="failure", outcome_reason=reason)
        write_json_atomic(self.out_dir / "meta.json", self.meta)
        self._status("attempt marked as FAILED")

    def request_stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.stop_requested.set()

    def sync_frames(self, n: int = 2, timeout: float = 3.0) -> bool:
        """Block until the ring has grabbed n more frames, so the screen as it is now (after
        the app's last redraw) is what the next action's frame will show. For scripted
        demonstrators and tests on a busy machine; False on timeout."""
        ring = self._ring
        if ring is None:
            return False
        target = ring.grabbed + n
        deadline = time.monotonic() + timeout
        while ring.grabbed < target:
            if time.monotonic() > deadline or ring.error is not None:
                return False
            time.sleep(ring.period / 4)
        return True

    def problem(self) -> str | None:
        """Why the recording can no longer work (the display went away...), or None."""
        if self._ring is not None and self._ring.error is not None:
            e = self._ring.error
            return f"screen capture stopped ({type(e).__name__}: {e})"
        if self._listener is not None and not self._listener.alive():
            return "the input listener stopped (did the X display go away?)"
        return None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested (the stop hotkey) or timeout; True if requested."""
        return self.stop_requested.wait(timeout)

    # --- input thread ----------------------------------------------------------------------
    def _on_event(self, ev: dict) -> None:
        if ev["kind"] == "key" and self._hotkey(ev):
            return
        if self.paused:
            self.paused_events += 1
            return
        t_abs = ev["t"]
        ev["t"] = round(t_abs - self._t0, 4)
        starts = ev["kind"] in ("button", "scroll") and ev.get("pressed", True) or (
            ev["kind"] == "key" and ev["pressed"])
        if starts:  # may start an action: keep the frame from just before it
            frame = self._ring.before(t_abs)
            if frame is None:
                self.frames_missing += 1
            else:
                self._writer.submit(frame)
        if self._sets_off(ev):  # the pointer sets off towards something: keep the still screen
            frame = self._ring.before(t_abs)
            if frame is not None:
                self._writer.submit(frame)
        if ev["kind"] == "key" and self.redact_typing:
            self._redact(ev)
        self._write_event(ev)

    def _sets_off(self, ev: dict) -> bool:
        """True for the first pointer move (no button held) after an action's last event: the
        frame before it is the screen the next pointer action was decided on (its
        "frame_still", see recorder/actions.py)."""
        kind = ev["kind"]
        if kind == "button":
            (self._held.add if ev.get("pressed") else self._held.discard)(ev.get("button"))
            self._setting_off = self._setting_off or not ev.get("pressed")
        elif kind in ("scroll", "key"):
            self._setting_off = True
        elif kind == "move" and self._setting_off and not self._held:
            self._setting_off = False
            return True
        return False

    def _redact(self, ev: dict) -> None:
        """Typed text never reaches the disk: text keys become '*', also on release (combos
        like ctrl+s, Enter, Tab and backspace stay as they are)."""
        code = ev.get("keycode")
        if ev["pressed"]:
            if K.is_text(ev.get("key") or "", ev.get("char"), ev.get("mods") or ()):
                self._masked.add(code)
                ev.update(key="*", char="*", keycode=None)
        elif code in self._masked:
            self._masked.discard(code)
            ev.update(key="*", keycode=None)

    def _write_event(self, ev: dict) -> None:
        with self._lock:
            try:
                self._events_file.write(ev)
                self.event_counts[ev["kind"]] = self.event_counts.get(ev["kind"], 0) + 1
            except Exception as e:
                self.dropped += 1
                self._last_error = f"{type(e).__name__}: {e}"
                if self.dropped == 1:  # say so now, not only in the report at the end
                    self._status(f"ERROR: events are being lost ({self._last_error})")

    def _hotkey(self, ev: dict) -> bool:
        """True if the event is (part of) a hotkey: acts on the press, swallows the release."""
        code = ev.get("keycode")
        if not ev["pressed"]:
            if code in self._hotkey_down:
                self._hotkey_down.discard(code)
                return True
            return False
        if not self.hotkeys:
            return False
        for action, combo in self.hotkeys.items():
            mods, key = K.parse_combo(combo)
            if ev.get("key") == key and (not mods or set(ev.get("mods") or ()) >= mods):
                self._hotkey_down.add(code)
                if action == "pause":
                    self.resume() if self.paused else self.pause()
                elif action == "fail":
                    self.mark_failure()
                elif action == "stop":
                    self._status("stop requested")
                    self.request_stop("hotkey")
                return True
        return False

    def _on_listener_error(self, e: BaseException) -> None:
        self.dropped += 1
        self._last_error = f"{type(e).__name__}: {e}"

    # --- helpers ---------------------------------------------------------------------------
    def _now(self) -> float:
        return round(time.monotonic() - self._t0, 4)

    def elapsed(self) -> float:
        """Seconds since the recording started: the time base of events and actions ("t")."""
        return self._now()

    def _status(self, msg: str) -> None:
        if self.on_status:
            try:
                self.on_status(msg)
            except Exception:
                pass

    def stats(self) -> dict:
        """Live counts for progress output."""
        return {"seconds": round(self._now(), 1), "events": sum(self.event_counts.values()),
                "frames": len(self._writer.written) if self._writer else 0, "paused": self.paused,
                "dropped": self.dropped}

    def _prune_frames(self, frames: dict, used: set) -> None:
        """Delete frames no action refers to (each action keeps the latest frame before it, so
        the choice is the same after pruning) and rewrite frames.jsonl to match."""
        for name in list(frames):
            if name not in used:
                try:
                    (self.out_dir / "frames" / name).unlink()
                except FileNotFoundError:
                    pass
        rows = [r for r in _read_rows(self.out_dir / "frames.jsonl") if r.get("file") in used]
        _write_jsonl_atomic(self.out_dir / "frames.jsonl", rows)

    def _summary(self, actions: list[dict], frames: dict) -> dict:
        by_kind = dict(self.event_counts)
        act_kinds: dict[str, int] = {}
        for a in actions:
            act_kinds[a["kind"]] = act_kinds.get(a["kind"], 0) + 1
        ring = self._ring
        duration = max(1e-9, self._now())
        size = sum(p.stat().st_size for p in self.out_dir.rglob("*") if p.is_file())
        return {
            "path": str(self.out_dir),
            "duration": round(duration, 2),
            "events": len(self.events), "events_by_kind": by_kind,
            "actions": len(actions), "actions_by_kind": act_kinds,
            "frames": len(frames),
            "frames_grabbed": ring.grabbed if ring else 0,
            "capture_fps": round((ring.grabbed if ring else 0) / duration, 1),
            "dropped_events": self.dropped,
            "frame_write_errors": self._writer.errors if self._writer else 0,
            "frames_skipped_backlog": self._writer.skipped_backlog if self._writer else 0,
            "frames_missing": self.frames_missing,  # action-starting events with no earlier ring frame
            "actions_without_frame": sum(1 for a in actions if not a.get("frame")),
            "paused_events": self.paused_events,
            "bytes": size,
            "last_error": self._last_error or (self._writer.error if self._writer else None),
        }

def _backend():
    """(listener class, logical screen size function) for this platform."""
    if sys.platform == "darwin" or os.environ.get("DESKACT_BACKEND") == "macos":
        from .platform import macos

        if not hasattr(macos, "InputListener"):
            raise RecorderError("recording on macOS is not available yet")
        return macos.InputListener, macos.logical_screen_size
    from .platform import x11_listener

    return x11_listener.XListener, x11_listener.logical_screen_size


def _region(r) -> tuple[int, int, int, int]:
    given = r
    if isinstance(r, str):
        r = r.split(",")
    try:
        x, y, w, h = (int(float(v)) for v in r)
    except (TypeError, ValueError):
        shown = given if isinstance(given, str) else ",".join(map(str, given))
        raise RecorderError(f"exclude region {shown!r} is not x,y,w,h (integers, logical pixels)") from None
    if w <= 0 or h <= 0:
        raise RecorderError(f"exclude region {x},{y},{w},{h} has no area")
    return x, y, w, h


def _hotkey_specs(hotkeys) -> dict:
    if not hotkeys:
        return {}
    specs = dict(DEFAULT_HOTKEYS)
    if isinstance(hotkeys, dict):
        unknown = set(hotkeys) - set(DEFAULT_HOTKEYS)
        if unknown:
            raise RecorderError(f"unknown hotkey action {sorted(unknown)[0]!r} (pause, stop, fail)")
        specs.update({k: v for k, v in hotkeys.items() if v})
    out = {}
    for action, combo in specs.items():
        try:
            out[action] = K.canonical_combo(combo)
        except K.KeyNameError as e:
            raise RecorderError(f"hotkey for {action}: {e}") from None
    if len(set(out.values())) < len(out):
        raise RecorderError(f"two recorder hotkeys are the same: {out}")
    return out


def _read_rows(path: Path) -> list[dict]:
    from .episode import read_jsonl

    return read_jsonl(path)


def _write_jsonl_atomic(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
