"""Drag a file into a folder: open "Downloads" in the sidebar, drag "invoice_march.pdf" onto
the "Invoices" folder, confirm "Move". The wrong choices: the look-alike folder "Invoices 2019"
right beside the right one, "Cancel" in the dialog; under the decoy perturbation a look-alike
file "invoice_march (1).pdf" sits next to the right file."""
from __future__ import annotations

import tkinter as tk

from ..steps import click, drag
from .base import TaskApp

FILE, FOLDER, LOOKALIKE = "invoice_march.pdf", "Invoices", "Invoices 2019"
DECOY_FILE = "invoice_march (1).pdf"
COLS, ROWS, CELL_W, CELL_H = 4, 3, 118, 88


class DragFile(TaskApp):
    name = "drag_file"
    title = "Files — Downloads"
    description = "open a folder view, drag a file onto the right folder, confirm the move"
    n_phases = 3
    steps = (
        click("loc_downloads"),
        drag("file", to="folder", fumble=(drag("file", to="folder_lookalike"),)),
        click("move", fumble=(click("cancel"),)),
    )

    def phase_names(self):
        return ["desktop", "downloads", "confirm"]

    def build(self, parent):
        self.decoy_for = "file"  # the look-alike row/icon sits beside it
        t = self.theme
        self.label(parent, "Files", font=t.font(1.4, "bold")).pack(anchor="w", pady=(0, 6))
        body = tk.Frame(parent, bg=t.bg)
        body.pack(anchor="w")
        side = tk.Frame(body, bg=t.bg)
        for place in ("Desktop", "Documents", "Downloads"):
            self.button(side, place, lambda p=place: self.show(p), name="loc_" + place.lower()).pack(
                fill="x", pady=(0, t.pad // 2))
        self.canvas = tk.Canvas(body, width=COLS * CELL_W, height=ROWS * CELL_H, bg=t.entry_bg,
                                highlightthickness=1, highlightbackground=t.fg, bd=0)
        self.form(body, [[side, self.canvas]], sticky="nw")
        self.canvas.bind("<ButtonPress-1>", self.press)
        self.canvas.bind("<B1-Motion>", self.motion)
        self.canvas.bind("<ButtonRelease-1>", self.release)
        self.place = None
        self.dragging = None
        self.dlg = None
        self.show("Desktop")

    # ----- drawing ----------------------------------------------------------------------------
    def _cells(self) -> list[tuple[int, int]]:
        """Grid cells (col, row); the layout perturbation shuffles which item gets which."""
        cells = [(c, r) for r in range(ROWS) for c in range(COLS)]
        if self.variant.layout > 0 and self.layout_rng.random() < self.variant.layout:
            self.layout_rng.shuffle(cells)
        return cells

    @staticmethod
    def _beside(cell, free):
        """A free cell next to `cell` (same row first), else the first free one."""
        c, r = cell
        for n in ((c + 1, r), (c - 1, r), (c, r + 1), (c, r - 1)):
            if n in free:
                return n
        return free[0]

    def _downloads(self) -> dict[str, tuple[int, int]]:
        """Where each item of Downloads goes: the look-alike folder always beside the right one,
        the look-alike file (decoy perturbation) beside the right file."""
        free = self._cells()
        slots = {}
        def put(name, cell):
            slots[name] = cell
            free.remove(cell)
        put(FOLDER, next(c for c in free if c[0] < COLS - 1 and (c[0] + 1, c[1]) in free))
        put(LOOKALIKE, (slots[FOLDER][0] + 1, slots[FOLDER][1]))
        for name in ("Photos", "Music"):
            put(name, free[0])
        put(FILE, free[0])
        if self.variant.decoy:
            put(DECOY_FILE, self._beside(slots[FILE], free))
        for name in ("holiday.jpg", "notes.txt"):
            put(name, free[0])
        return slots

    def show(self, place: str):
        if self.outcome is not None or place == self.place or self.dlg is not None:
            return
        first = self.place is None
        self.place = place
        c, t = self.canvas, self.theme
        c.delete("all")
        if place == "Downloads":
            slots = self._downloads()
        else:
            items = ["Letters", "cv.docx", "taxes 2023.pdf"] if place == "Documents" else ["Projects", "todo.txt"]
            slots = dict(zip(items, [(col, r) for r in range(ROWS) for col in range(COLS)]))
        self.names = {}
        for i, (name, (col, row)) in enumerate(slots.items()):
            x, y = col * CELL_W + CELL_W // 2, row * CELL_H + 30
            role = {FILE: "file", DECOY_FILE: "decoy", FOLDER: "folder", LOOKALIKE: "folder_lookalike"}.get(name)
            key = f"i{i}"
            self.names[key] = name
            is_file = "." in name
            tags = ("icon", key, "draggable" if is_file else "drop") + ((role,) if role else ())
            # the whole cell is the hit area (filled with the background, so invisible)
            c.create_rectangle(x - CELL_W // 2 + 8, y - 24, x + CELL_W // 2 - 8, y + CELL_H - 32,
                               fill=t.entry_bg, outline="", tags=tags)
            if is_file:
                c.create_polygon(x - 15, y - 20, x + 7, y - 20, x + 15, y - 12, x + 15, y + 20, x - 15, y + 20,
                                 fill=t.button_bg, outline=t.fg, tags=tags)
            else:
                c.create_polygon(x - 24, y - 16, x - 8, y - 16, x - 4, y - 10, x + 24, y - 10, x + 24, y + 18,
                                 x - 24, y + 18, fill=t.accent, outline=t.fg, tags=tags)
            c.create_text(x, y + 33, text=name, fill=t.fg, font=t.font(0.9), width=CELL_W - 6, tags=tags)
        if not first:
            self.enter_phase(place.lower())

    def extra_targets(self):
        return {name: self.canvas_item_rect(self.canvas, name)
                for name in ("file", "decoy", "folder", "folder_lookalike")}

    # ----- dragging ---------------------------------------------------------------------------
    def _item_at(self, x, y, kind: str, exclude=None) -> str | None:
        for item in reversed(self.canvas.find_overlapping(x - 1, y - 1, x + 1, y + 1)):
            tags = self.canvas.gettags(item)
            key = next((tg for tg in tags if tg in self.names), None)
            if key and key != exclude and kind in tags:
                return key
        return None

    def press(self, e):
        key = self._item_at(e.x, e.y, "draggable")
        self.dragging = (key, e.x, e.y, e.x, e.y) if key else None

    def motion(self, e):
        if self.dragging and self.outcome is None:
            key, x0, y0, lx, ly = self.dragging
            self.canvas.move(key, e.x - lx, e.y - ly)
            self.canvas.tag_raise(key)
            self.dragging = (key, x0, y0, e.x, e.y)

    def release(self, e):
        if not self.dragging or self.outcome is not None:
            self.dragging = None
            return
        key, x0, y0, lx, ly = self.dragging
        self.dragging = None
        folder = self._item_at(e.x, e.y, "drop", exclude=key)
        if folder is None:  # dropped on empty space: the icon goes back
            self.canvas.move(key, x0 - lx, y0 - ly)
            return
        name, folder = self.names[key], self.names[folder]
        if name != FILE:
            self.fail(f"moved {name!r} instead of {FILE!r}")
        elif folder != FOLDER:
            self.fail(f"dropped {FILE!r} on {folder!r}, not {FOLDER!r}")
        else:
            self.canvas.itemconfigure(key, state="hidden")
            self.confirm()

    def confirm(self):
        self.enter_phase("confirm")
        top = self.dlg = self.dialog("Move file", dx=100, dy=90)
        body = tk.Frame(top, bg=self.theme.bg)
        body.pack(padx=14, pady=10)
        move = self.button(body, "Move", self.succeed, name="move")
        cancel = self.button(body, "Cancel", lambda: self.fail("pressed Cancel in 'Move file'"), name="cancel")
        self.form(body, [[self.label(body, f"Move {FILE!r} to {FOLDER!r}?", font=self.theme.font(1.05, "bold"))],
                         [move, cancel]])
        self.show_modal(top, focus=move)
