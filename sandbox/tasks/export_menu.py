"""Export through a menu: File > Export > CSV, then OK in the "Exported" dialog.

The menu bar is a row of Tk Menubuttons with real tk.Menu drop-downs and a cascade (a Tk
menubar proper is drawn by a clone widget whose geometry Tk does not expose); entries of a
posted menu are published as targets (menu.yposition + the posted menu's root position).
The wrong choices: "Print…" next to "Export", "PDF" next to "CSV", "Undo export" next to "OK".
"""
from __future__ import annotations

import tkinter as tk

from ..steps import click
from .base import TaskApp

FILE_ENTRIES = ("New", "Open…", "Save", "Export", "Print…", "Close")
EXPORT_ENTRIES = ("CSV", "PDF", "JSON")


class ExportMenu(TaskApp):
    name = "export_menu"
    title = "Sales 2024 — Sheets"
    description = "File > Export > CSV in a menu with a cascade, then OK in a dialog"
    n_phases = 2
    steps = (
        click("menu_file"),
        click("file_export", fumble=(click("file_print"),)),
        click("export_csv", steer=True, fumble=(click("export_pdf", steer=True),)),
        click("ok", fumble=(click("undo_export"),)),
    )

    def phase_names(self):
        return ["sheet", "exported"]

    def build(self, parent):
        t = self.theme
        bar = tk.Frame(parent, bg=t.button_bg, bd=1, relief="raised")
        bar.pack(fill="x", anchor="w")
        self.menus: dict[str, tk.Menu] = {}
        buttons = []
        for label in ("File", "Edit", "View", "Help"):
            mb = tk.Menubutton(bar, text=label, bg=t.button_bg, fg=t.button_fg, activebackground=t.accent,
                               activeforeground=t.button_fg, font=t.font(), padx=t.pad + 4, pady=2)
            m = self.menus[label] = self.menu(mb)
            mb["menu"] = m
            buttons.append(self.target("menu_" + label.lower(), mb))
        self.form(bar, [buttons])
        self.export_menu = self.menu(self.menus["File"])
        for label in EXPORT_ENTRIES:
            self.export_menu.add_command(label=label, command=lambda f=label: self.export(f))
        file_menu = self.menus["File"]
        actions = {"Export": None, "Print…": lambda: self.fail("chose Print… instead of Export"),
                   "Close": lambda: self.fail("closed the sheet")}
        for label in FILE_ENTRIES:
            if label == "Export":
                file_menu.add_cascade(label=label, menu=self.export_menu)
            else:
                file_menu.add_command(label=label, command=actions.get(label) or (lambda: None))
        for label in ("Undo", "Copy", "Paste"):
            self.menus["Edit"].add_command(label=label)
        for label in ("Zoom in", "Zoom out"):
            self.menus["View"].add_command(label=label)
        self.menus["Help"].add_command(label="About")
        self._sheet(parent)
        self.dlg = None

    def _sheet(self, parent):
        """A small grid of cells, so the window looks like the spreadsheet it claims to be."""
        t = self.theme
        grid = tk.Frame(parent, bg=t.fg)
        grid.pack(anchor="w", pady=(t.pad, 0))
        rows = [("Region", "Q1", "Q2", "Q3")] + [
            (r, *(f"{self.rng.randint(40, 400)}" for _ in range(3))) for r in ("North", "South", "East", "West")]
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                tk.Label(grid, text=v, width=9, anchor="w", bg=t.entry_bg if i else t.button_bg, fg=t.fg,
                         font=t.font(1.0, "bold" if i == 0 else "normal")).grid(row=i, column=j, padx=1, pady=1)

    def extra_targets(self):
        out = {}
        file_menu = self.menus["File"]
        for i, label in enumerate(FILE_ENTRIES):
            out["file_" + _slug(label)] = self.menu_entry_rect(file_menu, i)
        for i, label in enumerate(EXPORT_ENTRIES):
            out["export_" + _slug(label)] = self.menu_entry_rect(self.export_menu, i)
        return out

    def export(self, fmt: str):
        if fmt != "CSV":
            self.fail(f"exported {fmt}, not CSV")
            return
        self.root.after(50, self._exported)  # after the menu has unposted and released its grab

    def _exported(self):
        if self.dlg is not None or self.outcome is not None:
            return
        self.enter_phase("exported")
        top = self.dlg = self.dialog("Exported", dx=80, dy=70)
        body = tk.Frame(top, bg=self.theme.bg)
        body.pack(padx=14, pady=10)
        ok = self.button(body, "OK", self.succeed, name="ok")
        undo = self.button(body, "Undo export", lambda: self.fail("pressed Undo export"), name="undo_export")
        self.form(body, [[self.label(body, "Exported", font=self.theme.font(1.2, "bold"))],
                         [self.label(body, "Saved ~/Documents/sales-2024.csv")],
                         self.with_decoy([ok, undo], ok, "OK, open it")])
        self.show_modal(top, focus=ok)


def _slug(label: str) -> str:
    return label.lower().rstrip("…").replace(" ", "_")
