"""The frame every built-in task app stands on.

A task app is a real Tk program. Besides drawing itself it talks to the harness through two
files the harness names:

* the outcome file, written once (atomically) when the task ends:
  {"outcome": "success"|"failure", "reason": str|None, "t": unix time}
* the targets file, rewritten (atomically) whenever something on screen changes:
  {"seq", "tick", "screen": [w, h], "window": [x, y, w, h], "phase", "phase_name", "popup",
   "popup_due", "decoy_for", "outcome", "targets": {name: [x, y, w, h]}, "scroll": {name: top}}
  (screen coordinates of the visible named widgets; "popup_due" is true while the distracting
  dialog is scheduled but not yet shown, so a scripted demonstrator can wait for it;
  "decoy_for" names the target the shown look-alike "decoy" imitates; "scroll" holds the
  first visible fraction of scrollable targets, so every wheel notch gives a new snapshot)

The targets file is for the scripted demonstrator and for measuring (where was the right
thing?); the agent never reads it. Perturbations (sandbox.perturb.Variant) are applied here
where they are generic (theme, window position, popup, decoy, layout of forms) so that each
task module holds only its own workflow.
"""
from __future__ import annotations

import json
import os
import random
import time
import tkinter as tk
from pathlib import Path

from ..perturb import Variant
from ..steps import Step

POLL_MS = 80


class TaskApp:
    name: str = "base"
    title: str = "Task"
    description: str = ""
    n_phases: int = 3  # how many phases the popup perturbation can choose from
    missing_target: str | None = None  # see removed_target()
    steps: tuple[Step, ...] = ()

    def __init__(self, variant: Variant, outcome_path: str | os.PathLike | None = None,
                 targets_path: str | os.PathLike | None = None):
        self.variant = variant
        self.theme = variant.theme
        self.outcome_path = Path(outcome_path) if outcome_path else None
        self.targets_path = Path(targets_path) if targets_path else None
        self.rng = random.Random(f"{variant.seed}:{self.name}")  # task content, not perturbation
        self.layout_rng = random.Random(variant.layout_seed)
        self.outcome: str | None = None
        self.reason: str | None = None
        self.phase_index = -1
        self.phase_name = ""
        self.popup: tk.Toplevel | None = None
        self._popup_due = False
        self._before_popup: tuple = (None, None)  # (grab, focus) to restore when it closes
        self._targets: dict[str, tk.Widget] = {}
        self.decoy_for: str | None = None  # the target the look-alike "decoy" imitates
        self._last_written: str | None = None
        self._seq = 0

        self.root = tk.Tk(className="deskact-" + self.name)
        self.root.title(self.title)
        self.root.configure(bg=self.theme.bg)
        self.root.option_add("*Font", self.theme.font())
        # a text caret that does not blink: two recordings of one seed see the same pixels
        self.root.option_add("*insertOffTime", 0)
        x, y = variant.window_pos
        self.root.geometry(f"+{x}+{y}")
        # The layout perturbation moves the whole content inside the window, too.
        k = variant.layout
        self.outer = tk.Frame(self.root, bg=self.theme.bg)
        self.outer.pack(fill="both", expand=True,
                        padx=(12 + round(k * self.layout_rng.randint(0, 160)), 12),
                        pady=(10 + round(k * self.layout_rng.randint(0, 90)), 10))
        self.status = tk.Label(self.root, text="", bg=self.theme.bg, fg=self.theme.fg, anchor="w")
        self.build(self.outer)
        self.status.pack(side="bottom", fill="x")
        self._keep_on_screen(x, y)
        self.enter_phase(self.phase_names()[0] if self.phase_names() else "start")
        self.root.after(POLL_MS, self._poll)

    # ----- for task modules -------------------------------------------------------------------
    def build(self, parent: tk.Frame) -> None:
        raise NotImplementedError

    def phase_names(self) -> list[str]:
        return []

    def extra_targets(self) -> dict[str, tuple[int, int, int, int]]:
        """Targets that are not whole widgets (list rows, canvas items, menu entries)."""
        return {}

    def removed_target(self) -> str | None:
        """Under the `missing` perturbation, the target that is not shown: `missing_target`, or
        the target of the last pointer step (a task whose key target is no widget overrides)."""
        if not self.variant.missing:
            return None
        if self.missing_target:
            return self.missing_target
        pointer = [s.target for s in self.steps if s.kind in ("click", "double_click", "right_click", "drag")]
        return pointer[-1] if pointer else None

    def target(self, name: str, widget: tk.Widget) -> tk.Widget:
        if name == self.removed_target():
            widget.after_idle(lambda: _unmanage(widget))  # built as usual, then never shown
            return widget
        self._targets[name] = widget
        return widget

    def label(self, parent, text, **kw) -> tk.Label:
        t = self.theme
        kw.setdefault("font", t.font())
        return tk.Label(parent, text=text, bg=kw.pop("bg", t.bg), fg=t.fg, **kw)

    def button(self, parent, text, command, name: str | None = None, **kw) -> tk.Button:
        t = self.theme
        b = tk.Button(parent, text=text, command=command, bg=t.button_bg, fg=t.button_fg,
                      activebackground=t.accent, activeforeground=t.button_fg, font=t.font(),
                      padx=t.pad + 4, pady=max(1, t.pad // 2), relief="raised", bd=2, **kw)
        return self.target(name, b) if name else b

    def entry(self, parent, name: str | None = None, width: int = 22, **kw) -> tk.Entry:
        t = self.theme
        e = tk.Entry(parent, width=width, bg=t.entry_bg, fg=t.fg, insertbackground=t.fg,
                     font=t.font(), relief="sunken", bd=2, **kw)
        return self.target(name, e) if name else e

    def check(self, parent, text, variable, name: str | None = None, **kw) -> tk.Checkbutton:
        t = self.theme
        c = tk.Checkbutton(parent, text=text, variable=variable, bg=t.bg, fg=t.fg, selectcolor=t.entry_bg,
                           activebackground=t.bg, activeforeground=t.fg, font=t.font(), anchor="w", **kw)
        return self.target(name, c) if name else c

    def form(self, parent, rows: list[list[tk.Widget]], sticky: str = "w") -> None:
        """Grid rows of widgets (children of `parent`). The layout perturbation reorders rows
        and the widgets within a row, and varies their spacing; Tab order is creation order,
        so the workflow stays the same."""
        k, r, pad = self.variant.layout, self.layout_rng, self.theme.pad
        rows = [list(row) for row in rows]
        if k > 0:
            if r.random() < k:
                r.shuffle(rows)
            for row in rows:
                if len(row) > 1 and r.random() < k:
                    row.reverse()
        ncols = max((len(row) for row in rows), default=1)
        for i, row in enumerate(rows):
            for j, w in enumerate(row):
                span = ncols - j if j == len(row) - 1 else 1  # a short row's last widget fills it
                w.grid(in_=parent, row=i, column=j, columnspan=span, sticky=sticky,
                       padx=pad + round(k * r.randint(0, 24)), pady=pad // 2 + round(k * r.randint(0, 12)))

    def with_decoy(self, row: list[tk.Widget], target: tk.Widget, text: str) -> list[tk.Widget]:
        """Under the decoy perturbation, put a look-alike button beside `target` in its row;
        pressing it fails the task."""
        if not self.variant.decoy:
            return row
        parent = target.master
        d = self.button(parent, text, lambda: self.fail(f"pressed the look-alike {text!r}"), name="decoy")
        self.decoy_for = next((n for n, w in self._targets.items() if w is target), None)
        i = row.index(target)
        return row[:i] + [d] + row[i:] if self.variant.decoy_side in ("left", "above") else row[:i + 1] + [d] + row[i + 1:]

    def text(self, parent, name: str | None = None, **kw) -> tk.Text:
        t = self.theme
        w = tk.Text(parent, bg=t.entry_bg, fg=t.fg, insertbackground=t.fg, font=t.font(),
                    relief="sunken", bd=2, highlightthickness=1, **kw)
        return self.target(name, w) if name else w

    def listbox(self, parent, name: str | None = None, **kw) -> tk.Listbox:
        t = self.theme
        w = tk.Listbox(parent, bg=t.entry_bg, fg=t.fg, selectbackground=t.accent, font=t.font(),
                       relief="sunken", bd=2, activestyle="none", exportselection=False, **kw)
        return self.target(name, w) if name else w

    def menu(self, parent) -> tk.Menu:
        t = self.theme
        return tk.Menu(parent, tearoff=0, bg=t.button_bg, fg=t.button_fg, activebackground=t.accent,
                       activeforeground=t.button_fg, font=t.font(), relief="raised", bd=2)

    def dialog(self, title: str, dx: int = 60, dy: int = 50) -> tk.Toplevel:
        """A dialog over the main window (a Toplevel at an offset from it). Fill it, then call
        show_modal(top, focus=...)."""
        top = tk.Toplevel(self.root, bg=self.theme.bg, bd=2, relief="ridge")
        top.title(title)
        top.transient(self.root)
        self.root.update_idletasks()
        top.geometry(f"+{self.root.winfo_rootx() + dx}+{self.root.winfo_rooty() + dy}")
        return top

    def show_modal(self, top: tk.Toplevel, focus: tk.Widget | None = None) -> None:
        """Keep the dialog on screen, grab input and give `focus` the keyboard. Without a window
        manager the X focus follows the pointer; focus_force takes it only once the window is
        mapped (measured: forced earlier, keys typed with the pointer off the app were lost)."""
        top.update_idletasks()
        self._clamp(top, top.winfo_x(), top.winfo_y())
        top.wait_visibility()
        if self.popup is None:
            top.grab_set()
        else:  # the distracting dialog holds the grab; give it to this dialog when it closes
            self._before_popup = (top, focus or top)
        (focus or top).focus_force()

    def screen_rect(self, widget: tk.Widget, box) -> list[int] | None:
        """A widget-relative box (x, y, w, h) in screen coordinates, or None if not shown."""
        if not box or not widget.winfo_ismapped():
            return None
        x, y, w, h = box
        return [widget.winfo_rootx() + x, widget.winfo_rooty() + y, w, h]

    def menu_entry_rect(self, menu: tk.Menu, index: int) -> list[int] | None:
        """Where entry `index` of a posted menu is on screen (None while it is not posted)."""
        try:
            if not menu.winfo_ismapped():
                return None
            y0 = menu.yposition(index)
            last = menu.index("end")
            y1 = menu.yposition(index + 1) if index < last else menu.winfo_height() - 2
            return self.screen_rect(menu, (2, y0, menu.winfo_width() - 4, y1 - y0))
        except tk.TclError:
            return None

    def listbox_row_rect(self, lb: tk.Listbox, index: int) -> list[int] | None:
        """Where row `index` of a listbox is on screen, only when it is wholly visible."""
        try:
            box = lb.bbox(index)
            if not box or box[1] < 0 or box[1] + box[3] > lb.winfo_height() - 2:
                return None
            inner = lb.winfo_width() - 2 * box[0]
            return self.screen_rect(lb, (box[0], box[1], inner, box[3]))
        except tk.TclError:
            return None

    def canvas_item_rect(self, canvas: tk.Canvas, tag) -> list[int] | None:
        try:
            box = canvas.bbox(tag)
        except tk.TclError:
            return None
        if not box:
            return None
        x0, y0, x1, y1 = box
        return self.screen_rect(canvas, (x0, y0, x1 - x0, y1 - y0))

    def enter_phase(self, name: str) -> None:
        self.phase_index += 1
        self.phase_name = name
        if self.variant.popup_phase == self.phase_index and self.popup is None and self.outcome is None:
            self._popup_due = True
            self.root.after(120, self._open_popup)
        self.root.after_idle(self._publish)

    def _keep_on_screen(self, x: int, y: int) -> None:
        """Clamp the window position so the whole window stays visible on smaller screens."""
        self.root.update_idletasks()
        self._clamp(self.root, x, y)

    def _clamp(self, win, x: int, y: int) -> None:
        w, h = win.winfo_reqwidth(), win.winfo_reqheight()
        sw, sh = win.winfo_screenwidth(), win.winfo_screenheight()
        x, y = max(0, min(x, sw - w - 8)), max(0, min(y, sh - h - 8))
        win.geometry(f"+{x}+{y}")

    def succeed(self) -> None:
        self._finish("success", None)

    def fail(self, reason: str) -> None:
        self._finish("failure", reason)

    # ----- machinery ---------------------------------------------------------------------------
    def _finish(self, outcome: str, reason: str | None) -> None:
        if self.outcome is not None:
            return  # the first outcome is final
        self.outcome, self.reason = outcome, reason
        self.status.configure(text="Done." if outcome == "success" else f"Failed: {reason}")
        self._popup_due = False
        if self.outcome_path:
            tmp = self.outcome_path.with_name(self.outcome_path.name + ".tmp")
            tmp.write_text(json.dumps({"outcome": outcome, "reason": reason, "task": self.name,
                                       "t": time.time()}))
            os.replace(tmp, self.outcome_path)

    def _open_popup(self) -> None:
        self._popup_due = False
        if self.outcome is not None:
            self._publish()
            return
        self._before_popup = (self.root.grab_current(), self.root.focus_get())
        top = tk.Toplevel(self.root, bg=self.theme.bg, bd=2, relief="ridge")
        top.title("Update available")
        top.transient(self.root)
        self.root.update_idletasks()
        dx, dy = self.variant.popup_offset
        top.geometry(f"+{self.root.winfo_rootx() + 90 + dx}+{self.root.winfo_rooty() + 70 + dy}")
        self.label(top, "A new version of this app is available.", bg=self.theme.bg).pack(padx=16, pady=(14, 6))
        self.label(top, "It will be installed the next time you start it.").pack(padx=16)
        close = self.button(top, "Close", self._close_popup, name="popup_close")
        close.pack(pady=12)
        self.popup = top
        top.update_idletasks()
        self._clamp(top, top.winfo_x(), top.winfo_y())
        top.wait_visibility()
        top.grab_set()
        self._publish()

    def _close_popup(self) -> None:
        if self.popup is not None:
            self.popup.grab_release()
            self.popup.destroy()
            self.popup = None
            self._targets.pop("popup_close", None)
            grab, focus = self._before_popup
            self._before_popup = (None, None)
            try:  # give back what the popup took: a dialog's grab, the keyboard focus
                if grab is not None and grab.winfo_exists():
                    grab.grab_set()
                if focus is not None and focus.winfo_exists():
                    focus.focus_force()
            except tk.TclError:
                pass
            self._publish()

    def _rect(self, w: tk.Widget):
        try:
            if not w.winfo_exists() or not w.winfo_viewable():
                return None
            return [w.winfo_rootx(), w.winfo_rooty(), w.winfo_width(), w.winfo_height()]
        except tk.TclError:
            return None

    def snapshot(self) -> dict:
        targets, scroll = {}, {}
        for name, w in list(self._targets.items()):
            rect = self._rect(w)
            if rect and rect[2] > 1 and rect[3] > 1:
                targets[name] = rect
                if isinstance(w, (tk.Listbox, tk.Text, tk.Canvas)):
                    scroll[name] = round(w.yview()[0], 4)
        for name, rect in self.extra_targets().items():
            if rect:
                targets[name] = [int(v) for v in rect]
        r = self.root
        return {"screen": [r.winfo_screenwidth(), r.winfo_screenheight()],
                "window": [r.winfo_rootx(), r.winfo_rooty(), r.winfo_width(), r.winfo_height()],
                "phase": self.phase_index, "phase_name": self.phase_name, "popup": self.popup is not None,
                "popup_due": self._popup_due, "decoy_for": self.decoy_for if "decoy" in targets else None,
                "outcome": self.outcome, "reason": self.reason, "targets": targets, "scroll": scroll}

    def _publish(self, tick: bool = False) -> None:
        """Rewrite the targets file if anything changed (also called right after a phase change
        or a popup, so readers never see a stale phase for a whole poll period). tick=True
        (every poll) rewrites it anyway with a new "tick" time: a reader that sent input at
        time t and sees tick > t knows the app has handled that input (or is still busy)."""
        try:
            snap = self.snapshot()
        except tk.TclError:  # the app is shutting down
            return
        text = json.dumps(snap, sort_keys=True)
        changed = text != self._last_written
        if (changed or tick) and self.targets_path:
            if changed:
                self._seq += 1
            snap["seq"] = self._seq
            snap["tick"] = time.time()
            tmp = self.targets_path.with_name(self.targets_path.name + ".tmp")
            tmp.write_text(json.dumps(snap))
            os.replace(tmp, self.targets_path)
            self._last_written = text

    def _poll(self) -> None:
        try:
            self._publish(tick=True)
        finally:
            self.root.after(POLL_MS, self._poll)

    def run(self) -> None:
        self.root.mainloop()


def _unmanage(widget: tk.Widget) -> None:
    """Take a widget off the screen whichever geometry manager placed it."""
    try:
        {"grid": widget.grid_remove, "pack": widget.pack_forget, "place": widget.place_forget}.get(
            widget.winfo_manager(), lambda: None)()
    except tk.TclError:
        pass
