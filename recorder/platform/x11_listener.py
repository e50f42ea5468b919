"""X11 global input listener for the recorder, and global hotkeys.

Built on pynput's RECORD listener, with three changes that matter for faithful recordings:
- keys, buttons and motion come through ONE record context, so they arrive in server order
  (two pynput listeners would interleave a ctrl press and a click arbitrarily);
- every event keeps the X server timestamp, mapped to this process's monotonic clock, so the
  frame "just before" an event is chosen by when the event happened, not when Python got to it;
- keysyms are resolved with the keymap as it was when the key was pressed: keymap changes
  (ChangeKeyboardMapping requests) are recorded in the same stream, so text typed through a
  spare keycode bound for a moment (how xdotool, password managers and our Injector type
  non-ASCII) resolves to the right character. pynput's own translation uses the keymap of the
  moment it started.
"""
from __future__ import annotations

import os
import sys
import threading
import time

from .. import keys as K
from ..errors import DisplayError, RecorderError

_SCROLL = {4: (0, 1), 5: (0, -1), 6: (-1, 0), 7: (1, 0)}
_BUTTONS = {1: "left", 2: "middle", 3: "right", 8: "x1", 9: "x2"}
_KEYSYM_NAMES: dict[int, str] | None = None


def keysym_name(keysym: int) -> str | None:
    global _KEYSYM_NAMES
    if _KEYSYM_NAMES is None:
        import Xlib.XK as XK

        XK.load_keysym_group("xkb")
        names: dict[int, str] = {}
        for k, v in vars(XK).items():
            if k.startswith("XK_"):
                names.setdefault(v, k[3:])
        _KEYSYM_NAMES = names
    return _KEYSYM_NAMES.get(keysym)


def open_display(name: str | None):
    """An Xlib Display, or DisplayError saying what is wrong (one line)."""
    try:
        from Xlib.display import Display

        return Display(name)
    except Exception as e:
        raise DisplayError(f"cannot open X display {name or os.environ.get('DISPLAY')!r} "
                           f"({type(e).__name__}: {e}); is an X server running and DISPLAY set?") from None


class Keymap:
    """keycode + modifier state -> (key name, character), as the focused app sees it."""

    def __init__(self, display):
        import Xlib.X as X

        self.d = display
        info = display.display.info
        self.min_kc, self.max_kc = info.min_keycode, info.max_keycode
        self.rows: dict[int, list[int]] = {}
        self.recorded_changes = 0
        self.refresh(self.min_kc, self.max_kc - self.min_kc + 1)
        self.masks = {"alt": 0, "win": 0, "level3": 0, "group2": 0, "numlock": 0}
        wanted = {"Alt_L": "alt", "Alt_R": "alt", "Meta_L": "alt", "Super_L": "win", "Super_R": "win",
                  "ISO_Level3_Shift": "level3", "Mode_switch": "group2", "Num_Lock": "numlock"}
        for i, codes in enumerate(display.get_modifier_mapping()):
            if i < 3:  # Shift, Lock, Control have fixed meanings
                continue
            for kc in codes:
                if not kc:
                    continue
                for ks in self.rows.get(kc, [])[:2]:
                    role = wanted.get(keysym_name(ks) or "")
                    if role and not self.masks[role]:
                        self.masks[role] = 1 << i
        self.masks.update(shift=X.ShiftMask, lock=X.LockMask, ctrl=X.ControlMask)

    def refresh(self, first: int, count: int) -> None:
        first = max(first, self.min_kc)
        count = min(count, self.max_kc - first + 1)
        if count <= 0:
            return
        for n, row in enumerate(self.d.get_keyboard_mapping(first, count)):
            self.rows[first + n] = list(row) + [0] * max(0, 6 - len(row))

    def apply_request(self, data: bytes, swapped: bool) -> None:
        """Apply a recorded core ChangeKeyboardMapping request (opcode, count, length,
        first keycode, keysyms per keycode, 2 unused, then the keysyms)."""
        import struct

        order = ">" if (swapped != (sys.byteorder == "big")) else "<"
        count, first, per = data[1], data[4], data[5]
        syms = struct.unpack_from(f"{order}{count * per}I", data, 8)
        for n in range(count):
            row = list(syms[n * per:(n + 1) * per])
            self.rows[first + n] = row + [0] * max(0, 6 - len(row))
        self.recorded_changes += 1

    def drain_notifies(self) -> None:
        """Read MappingNotify events (the server sends them to every client). Small changes
        come through the record stream in order (apply_request), and re-reading the server's
        keymap now could see a binding already restored; a large one (a layout switch, made
        with XKB requests we do not record) is read from the server."""
        import Xlib.X as X

        while self.d.pending_events():
            ev = self.d.next_event()
            if ev.type == X.MappingNotify and ev.request == X.MappingKeyboard and ev.count > 4:
                self.refresh(ev.first_keycode, ev.count)

    def row(self, keycode: int) -> list[int]:
        r = self.rows.get(keycode)
        if not r or not any(r):  # a spare keycode someone may just have mapped
            self.refresh(keycode, 1)
            r = self.rows.get(keycode) or [0] * 6
        return r

    def mods(self, state: int) -> list[str]:
        m = self.masks
        return [name for name in K.MODIFIERS if m.get(name) and state & m[name]]

    def resolve(self, keycode: int, state: int) -> tuple[str | None, str | None]:
        """(our key name of the unshifted level, the character this press types or None)."""
        r = self.row(keycode)
        base_ks = r[0] or r[1]
        base_name = keysym_name(base_ks)
        name = K.x11_key_name(base_name, K.keysym_to_char(base_ks))
        m = self.masks
        shift = bool(state & m["shift"])
        if m["numlock"] and state & m["numlock"] and (keysym_name(r[1]) or "").startswith("KP_"):
            shift = not shift
        if m["level3"] and state & m["level3"]:
            char = K.keysym_to_char(next((c for c in (r[4 + shift], r[4]) if c), 0))
        elif m["group2"] and state & m["group2"]:
            char = K.keysym_to_char(next((c for c in (r[2 + shift], r[2]) if c), 0))
        else:
            c0, c1 = K.keysym_to_char(r[0]), K.keysym_to_char(r[1])
            if c0 and len(c0) == 1 and c0 != c0.upper() and (not r[1] or c1 == c0.upper()):
                # a letter (its levels are a case pair, or one level): Shift xor Caps Lock
                char = c0.upper() if shift != bool(state & m["lock"]) else c0
            else:
                char = c1 if shift and r[1] else c0
        if name is None and char:
            name = char.lower()
        return name, char if (char and (char.isprintable() or char in "\n\t")) else None


def logical_screen_size(display: str | None) -> tuple[int, int]:
    """Size of the X screen in input coordinates (root window pixels; X11 has no scaling)."""
    d = open_display(display)
    try:
        s = d.screen()
        return int(s.width_in_pixels), int(s.height_in_pixels)
    finally:
        d.close()


class XListener:
    """Calls `callback(event_dict)` for every key, button, wheel and motion event on `display`,
    from the listener thread, in server order. Dicts carry "t" (monotonic seconds)."""

    def __init__(self, display: str | None, callback, on_error=None):
        self.display = display or os.environ.get("DISPLAY")
        self.callback = callback
        self.on_error = on_error
        self._listener = None
        self._kd = None
        self._keymap: Keymap | None = None
        self._offset = 0.0  # monotonic seconds - server seconds
        self._last_ms = 0
        self._wraps = 0
        self._pressed: dict[int, str] = {}  # keycode -> name at press (releases reuse it)
        self.errors = 0

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if not self.display:
            raise DisplayError("no display: DISPLAY is not set and no display was given")
        self._kd = open_display(self.display)
        if not self._kd.has_extension("RECORD"):
            raise DisplayError(f"X display {self.display} has no RECORD extension: cannot listen to input")
        self._keymap = Keymap(self._kd)
        self._sync_clock()
        saved = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = self.display  # pynput opens $DISPLAY in its thread
        try:
            try:
                cls = _listener_class()
            except ImportError as e:
                raise DisplayError(f"pynput cannot use X display {self.display} ({e})") from None
            self._listener = cls(self._on_x_event, self._on_keymap_request)
            self._listener.start()
            self._listener.wait()
        finally:
            if saved is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = saved
        if not self._listener.running:
            raise RecorderError("the input listener stopped right after starting")

    def alive(self) -> bool:
        return self._listener is not None and self._listener.is_alive()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            # pynput disables the record context on the connection that is blocked reading it,
            # so the thread would only notice at the next input event: disable it from ours.
            # A disable that reaches the server before the enable has no effect: repeat it
            # until the thread ends.
            deadline = time.monotonic() + 5
            while self._listener.is_alive() and time.monotonic() < deadline:
                ctx = getattr(self._listener, "_context", None)
                if ctx is not None and self._kd is not None:
                    try:
                        self._kd.record_disable_context(ctx)
                        self._kd.sync()
                    except Exception:
                        pass
                self._listener.join(0.1)
            self._listener = None
        if self._kd is not None:
            try:
                self._kd.close()
            except Exception:
                pass
            self._kd = None

    def _sync_clock(self) -> None:
        """Map server time to time.monotonic() with one round trip (error <= its length; the
        estimate errs early, so a frame chosen as 'before' an event really is before it)."""
        import Xlib.X as X
        import Xlib.Xatom as Xatom

        d = self._kd
        win = d.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent,
                                            event_mask=X.PropertyChangeMask)
        atom = d.intern_atom("_DESKACT_CLOCK")
        d.sync()
        t_before = time.monotonic()
        win.change_property(atom, Xatom.STRING, 8, b"1")
        d.flush()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            ev = d.next_event()
            if ev.type == X.PropertyNotify:
                self._offset = t_before - ev.time / 1000.0 - 0.001  # server ms are truncated
                self._last_ms = ev.time
                break
        win.destroy()
        d.sync()

    def _time(self, ms: int) -> float:
        if ms + 0x80000000 < self._last_ms:  # the 32-bit millisecond clock wrapped
            self._wraps += 1
        self._last_ms = ms
        t = (ms + self._wraps * 2 ** 32) / 1000.0 + self._offset
        return min(t, time.monotonic())

    # --- events ----------------------------------------------------------------------------
    def _on_keymap_request(self, data: bytes, swapped: bool) -> None:
        """A ChangeKeyboardMapping request, in stream order with the key events."""
        try:
            self._keymap.apply_request(data, swapped)
        except Exception as e:
            self.errors += 1
            if self.on_error:
                self.on_error(e)

    def _on_x_event(self, event) -> None:
        try:
            ev = self._convert(event)
            if ev is not None:
                self.callback(ev)
        except Exception as e:  # never let one bad event stop the listener
            self.errors += 1
            if self.on_error:
                self.on_error(e)

    def _convert(self, event) -> dict | None:
        import Xlib.X as X

        t = self._time(event.time)
        typ = event.type
        if typ == X.MotionNotify:
            return {"t": t, "kind": "move", "x": event.root_x, "y": event.root_y}
        if typ in (X.ButtonPress, X.ButtonRelease):
            if event.detail in _SCROLL:
                if typ == X.ButtonRelease:
                    return None
                dx, dy = _SCROLL[event.detail]
                return {"t": t, "kind": "scroll", "x": event.root_x, "y": event.root_y, "dx": dx, "dy": dy}
            button = _BUTTONS.get(event.detail, f"button{event.detail}")
            return {"t": t, "kind": "button", "x": event.root_x, "y": event.root_y, "button": button,
                    "pressed": typ == X.ButtonPress, "mods": self._keymap.mods(event.state)}
        if typ in (X.KeyPress, X.KeyRelease):
            km = self._keymap
            km.drain_notifies()
            kc = event.detail
            pressed = typ == X.KeyPress
            if pressed:
                name, char = km.resolve(kc, event.state)
                self._pressed[kc] = name
            else:
                name = self._pressed.pop(kc, None) or km.resolve(kc, event.state)[0]
                char = None
            return {"t": t, "kind": "key", "key": name, "keycode": kc, "pressed": pressed, "char": char,
                    "mods": km.mods(event.state)}
        return None

    def grab_hotkeys(self, combos) -> "HotkeyGrab":
        """Grab (mods, key) combos on the root window so no app receives them; started."""
        import Xlib.X as X

        grabs = []
        for mods, key in combos:
            codes = self.keycodes_for(key)
            if not codes:
                raise RecorderError(f"hotkey {key!r}: no key on this keyboard produces it")
            mask = self.mod_mask(mods) if mods else X.AnyModifier
            grabs += [(kc, mask) for kc in codes]
        m = self._keymap.masks
        locks = [0, X.LockMask, m["numlock"], X.LockMask | m["numlock"]]
        grab = HotkeyGrab(self.display, grabs, locks)
        grab.start()
        return grab

    def keycodes_for(self, name: str) -> list[int]:
        """Keycodes whose unshifted level is the key `name` (for hotkeys)."""
        km = self._keymap
        out = []
        for kc, r in km.rows.items():
            base = r[0] or r[1]
            if base and K.x11_key_name(keysym_name(base), K.keysym_to_char(base)) == name:
                out.append(kc)
        return out

    def mod_mask(self, mods) -> int:
        return sum(self._keymap.masks[m] for m in mods)


X_CHANGE_KEYBOARD_MAPPING = 100  # core request opcode


def _listener_class():
    """pynput's X keyboard listener, widened to all input events AND the core requests that
    change the keymap, in one record context, with our handlers.

    Recording ChangeKeyboardMapping requests in the same ordered stream as the key events is
    what makes transient remaps resolve right: xdotool (and password managers' auto-type) bind
    a spare keycode, press it and restore it at once; by the time we read the key press the
    server's keymap is already restored, but in the stream the new binding comes first."""
    import Xlib.X as X
    import Xlib.display
    import Xlib.ext.record as record
    from pynput._util import AbstractListener
    from pynput._util.xorg import display_manager
    from pynput.keyboard._xorg import Listener as KeyboardListener

    class _AllInputListener(KeyboardListener):
        _EVENTS = (X.KeyPress, X.MotionNotify)  # KeyPress..MotionNotify: keys, buttons, motion

        def __init__(self, handler, on_keymap):
            super().__init__()
            self._deskact_handler = handler
            self._deskact_keymap = on_keymap

        def _run(self):  # pynput's ListenerMixin._run, plus the keymap requests
            self._display_stop = Xlib.display.Display()
            self._display_record = Xlib.display.Display()
            self._stopped = False
            with display_manager(self._display_record) as dm:
                self._context = dm.record_create_context(0, [record.AllClients], [{
                    "core_requests": (X_CHANGE_KEYBOARD_MAPPING, X_CHANGE_KEYBOARD_MAPPING),
                    "core_replies": (0, 0), "ext_requests": (0, 0, 0, 0), "ext_replies": (0, 0, 0, 0),
                    "delivered_events": (0, 0), "device_events": self._EVENTS, "errors": (0, 0),
                    "client_started": False, "client_died": False}])
            try:
                self._mark_ready()
                self._display_record.record_enable_context(self._context, self._handler)
            except Exception:
                pass  # pynput passes errors to the thread that joins
            finally:
                try:
                    self._display_stop.record_disable_context(self._context)
                    self._display_stop.flush()
                    self._display_record.record_free_context(self._context)
                finally:
                    self._display_stop.close()
                    self._display_record.close()

        @AbstractListener._emitter
        def _handler(self, reply):
            if not self.running:
                raise self.StopException()
            data = reply.data
            if reply.category == record.FromClient:
                if data and data[0] == X_CHANGE_KEYBOARD_MAPPING:
                    self._deskact_keymap(bytes(data), bool(reply.client_swapped))
                return
            if reply.category != record.FromServer:
                return
            while data and len(data):
                event, data = self._EVENT_PARSER.parse_binary_value(data, self._display_record.display, None, None)
                self._deskact_handler(event)

        def _handle_message(self, display, event, injected=False):  # not used: _handler is ours
            self._deskact_handler(event)

    return _AllInputListener


class HotkeyGrab:
    """Passive grabs on the root window so the hotkeys never reach the focused app; a thread
    drains the grabbed events (the recorder sees the keys through RECORD and acts on them)."""

    def __init__(self, display: str, grabs: list[tuple[int, int]], lock_masks: list[int]):
        self.display = display
        self.grabs = grabs  # (keycode, modifier mask or X.AnyModifier)
        self.lock_masks = lock_masks
        self._d = None
        self._thread = None
        self._stop = threading.Event()

    def start(self) -> None:
        import Xlib.X as X
        import Xlib.error

        self._d = open_display(self.display)
        root = self._d.screen().root
        catch = Xlib.error.CatchError(Xlib.error.BadAccess)
        for kc, mask in self.grabs:
            masks = [mask] if mask == X.AnyModifier else sorted({mask | extra for extra in self.lock_masks})
            for m in masks:
                root.grab_key(kc, m, True, X.GrabModeAsync, X.GrabModeAsync, onerror=catch)
        self._d.sync()
        if catch.get_error():
            self._d.close()
            self._d = None
            raise RecorderError("a recorder hotkey is already taken by another program; "
                                "choose others (--hotkey-pause/--hotkey-stop/--hotkey-fail)")
        self._thread = threading.Thread(target=self._drain, name="deskact-hotkeys", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        import select

        fd = self._d.fileno()
        while not self._stop.is_set():
            if select.select([fd], [], [], 0.2)[0] or self._d.pending_events():
                try:
                    while self._d.pending_events():
                        self._d.next_event()
                except Exception:
                    return

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        if self._d is not None:
            try:
                self._d.screen().root.ungrab_key(0, 0x8000)  # AnyKey, AnyModifier
                self._d.sync()
                self._d.close()
            except Exception:
                pass
            self._d = None
