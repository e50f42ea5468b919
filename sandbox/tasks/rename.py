"""Rename a file: right-click it, choose "Rename…" in the context menu, ctrl+a in the name
field that appears, type the new name, Enter. The wrong choices: "Delete" right below
"Rename…", the file next to the right one, End instead of ctrl+a (appends), Escape."""
from __future__ import annotations

import tkinter as tk

from ..steps import click, key, right_click, type_text
from .base import TaskApp

OLD, NEW = "report_draft_v2.docx", "Q3 report final.docx"
DECOY = "report_draft_v2 (copy).docx"
OTHERS = ("agenda.docx", "budget.xlsx", "photo_0412.jpg", "contract_signed.pdf", "notes.txt",
          "slides_v1.pptx", "invoice_0457.pdf", "readme.md")
MENU = ("Open", "Rename…", "Delete", "Properties")


class Rename(TaskApp):
    name = "rename"
    title = "Files — Projects"
    description = "right-click a file, Rename… from the context menu, select all, type, Enter"
    n_phases = 2
    steps = (
        right_click("file", fumble=(right_click("neighbour"),)),
        click("ctx_rename", fumble=(click("ctx_delete"),)),
        key("ctrl+a", fumble=(key("end"),)),
        type_text(NEW, fumble=(type_text("Q3 reprot final.docx"),)),
        key("enter", fumble=(key("escape"),)),
    )

    def phase_names(self):
        return ["files", "renaming"]

    def build(self, parent):
        self.decoy_for = "file"  # the look-alike row/icon sits beside it
        t = self.theme
        files = list(OTHERS)
        self.rng.shuffle(files)
        files.insert(self.rng.randint(1, len(files) - 1), OLD)
        if self.variant.decoy:
            i = files.index(OLD)
            files.insert(i + 1 if self.variant.decoy_side == "right" else i, DECOY)
        self.files = files
        self.label(parent, "Projects", font=t.font(1.4, "bold")).pack(anchor="w", pady=(0, 6))
        body = tk.Frame(parent, bg=t.bg)
        body.pack(anchor="w")
        self.list = self.listbox(body, "file_list", width=32, height=len(files))
        for f in files:
            self.list.insert("end", f)
        info = self.label(body, f"{len(files)} items")
        tools = tk.Frame(body, bg=t.bg)
        for text in ("New folder", "Upload"):
            self.button(tools, text, lambda: None).pack(side="left", padx=(0, 4))
        self.form(body, [[tools], [self.list], [info]])
        self.edit_row = tk.Frame(parent, bg=t.bg)
        self.edit_row.pack(anchor="w", pady=(t.pad, 0))
        self.ctx = self.menu(self.root)
        actions = {"Open": lambda: self.fail("opened the file instead of renaming it"),
                   "Rename…": self.start_rename, "Delete": self.delete,
                   "Properties": lambda: self.fail("opened Properties instead of renaming")}
        # the impossible variant: no "Rename…" in the menu (Delete sits where it was)
        self.menu_labels = [m for m in MENU if not (self.variant.missing and m == "Rename…")]
        for label in self.menu_labels:
            self.ctx.add_command(label=label, command=actions[label])
        self.list.bind("<Button-3>", self.context)
        self.chosen: str | None = None
        self.name_entry: tk.Entry | None = None

    def _row(self, name):
        return self.listbox_row_rect(self.list, self.files.index(name)) if name in self.files else None

    def extra_targets(self):
        out = {"file": self._row(OLD), "decoy": self._row(DECOY)}
        i = self.files.index(OLD)
        for j in (i + 1, i - 1):
            if 0 <= j < len(self.files) and self.files[j] != DECOY:
                out["neighbour"] = self.listbox_row_rect(self.list, j)
                break
        for i, label in enumerate(self.menu_labels):
            out["ctx_" + label.lower().rstrip("…")] = self.menu_entry_rect(self.ctx, i)
        return out

    def context(self, e):
        if self.outcome is not None or self.name_entry is not None:
            return
        i = self.list.nearest(e.y)
        self.list.selection_clear(0, "end")
        self.list.selection_set(i)
        self.chosen = self.files[i]
        self.ctx.tk_popup(e.x_root + 2, e.y_root + 2)

    def delete(self):
        self.fail(f"deleted {self.chosen!r}")

    def start_rename(self):
        if self.chosen != OLD:
            self.fail(f"chose Rename on {self.chosen!r}, not {OLD!r}")
            return
        self.enter_phase("renaming")
        self.label(self.edit_row, "New name").pack(side="left", padx=(0, 6))
        e = self.name_entry = self.entry(self.edit_row, "name_field", width=30)
        e.insert(0, OLD)
        e.icursor(len(OLD) - len(".docx"))  # like a file manager: the cursor before the extension
        e.pack(side="left")
        e.bind("<Control-a>", self._select_all)
        e.bind("<Return>", lambda ev: self.finish())
        e.bind("<Escape>", lambda ev: self.fail("pressed Escape (the rename was cancelled)"))
        self.root.update_idletasks()
        e.focus_force()

    def _select_all(self, event):
        event.widget.select_range(0, "end")
        event.widget.icursor("end")
        return "break"  # Tk's own ctrl+a moves to the line start

    def finish(self):
        got = self.name_entry.get()
        if got != NEW:
            self.fail(f"wrong file name {got!r}")
        else:
            self.succeed()
