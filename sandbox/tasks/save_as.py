"""Save as: click into the document, type a line, ctrl+s, type a file name in the Save-as
dialog (its name field is focused, "Untitled.txt" selected), press Save. The wrong choices:
the document title field instead of the text, ctrl+w (closes without saving), "Cancel"."""
from __future__ import annotations

import tkinter as tk

from ..steps import click, key, type_text
from .base import TaskApp

LINE, FILENAME = "Call Dana about the Q3 budget.", "dana-notes.txt"


class SaveAs(TaskApp):
    name = "save_as"
    title = "Notes — Untitled.txt"
    description = "type a line into a text editor, ctrl+s, name the file in the dialog, Save"
    n_phases = 2
    steps = (
        click("text_area", fumble=(click("doc_title"),)),
        type_text(LINE, fumble=(type_text("Call Dana about the Q3 bugdet."),)),
        key("ctrl+s", fumble=(key("ctrl+w"),)),
        type_text(FILENAME, fumble=(type_text("dana-notes.tx"),)),
        click("save", fumble=(click("cancel"),)),
    )

    def phase_names(self):
        return ["editor", "save dialog"]

    def build(self, parent):
        t = self.theme
        body = tk.Frame(parent, bg=t.bg)
        body.pack(anchor="w", fill="both", expand=True)
        bar = tk.Frame(body, bg=t.bg)
        for text in ("Bold", "Italic", "Undo"):
            self.button(bar, text, lambda: None).pack(side="left", padx=(0, 4))
        doc_title = self.entry(body, "doc_title", width=30)
        doc_title.insert(0, "Untitled")
        self.text_area = self.text(body, "text_area", width=48, height=9, wrap="word", undo=True)
        self.text_area.insert("1.0", "Meeting notes, Monday\n- agenda sent\n- room booked\n")
        self.form(body, [
            [self.label(body, "Title"), doc_title],
            [bar],
            [self.text_area],
        ])
        self.root.bind("<Control-s>", self.open_save)
        self.root.bind("<Control-w>", lambda e: self.fail("closed the document without saving (ctrl+w)"))
        self.dlg = None

    def open_save(self, event=None):
        if self.dlg is not None or self.outcome is not None:
            return "break"
        self.enter_phase("save dialog")
        top = self.dlg = self.dialog("Save as")
        t = self.theme
        self.label(top, "Save document as", font=t.font(1.2, "bold")).pack(anchor="w", padx=12, pady=(10, 4))
        body = tk.Frame(top, bg=t.bg)
        body.pack(padx=12, pady=(0, 10), anchor="w")
        name = self.name_entry = self.entry(body, "file_name", width=26)
        name.insert(0, "Untitled.txt")
        name.select_range(0, "end")
        name.icursor("end")
        folder = self.label(body, "~/Documents")
        save = self.button(body, "Save", self.save, name="save")
        cancel = self.button(body, "Cancel", lambda: self.fail("pressed Cancel"), name="cancel")
        self.form(body, [
            [self.label(body, "File name"), name],
            [self.label(body, "Folder"), folder],
            self.with_decoy([save, cancel], save, "Save all"),
        ])
        name.bind("<Return>", lambda e: self.save())
        self.show_modal(top, focus=name)
        return "break"

    def save(self):
        content = self.text_area.get("1.0", "end")
        if LINE not in content:
            self.fail("the document does not contain the typed line")
        elif self.name_entry.get() != FILENAME:
            self.fail(f"wrong file name {self.name_entry.get()!r}")
        else:
            self.succeed()
