"""Settings: tick "Auto-save" and "Spell check", press Apply, confirm "Apply changes?" with OK.
The wrong choices: a neighbouring checkbox, "Reset" beside "Apply", "Cancel" beside "OK"."""
from __future__ import annotations

import tkinter as tk

from ..steps import click
from .base import TaskApp

# (target name, label, initially ticked)
OPTIONS = (
    ("dark_mode", "Dark mode", False),
    ("auto_save", "Auto-save every 5 minutes", False),
    ("line_numbers", "Show line numbers", True),
    ("spell_check", "Spell check while typing", False),
    ("send_usage", "Send usage statistics", False),
    ("sound", "Play sounds", True),
)
WANTED = {"auto_save", "spell_check"}


class Settings(TaskApp):
    name = "settings"
    title = "Preferences"
    description = "tick two named checkboxes, Apply, confirm with OK"
    n_phases = 2
    steps = (
        click("auto_save", fumble=(click("dark_mode"),)),
        click("spell_check", fumble=(click("send_usage"),)),
        click("apply", fumble=(click("reset"),)),
        click("ok", fumble=(click("cancel"),)),
    )

    def phase_names(self):
        return ["settings", "confirm"]

    def build(self, parent):
        t = self.theme
        self.label(parent, "Preferences", font=t.font(1.4, "bold")).pack(anchor="w", pady=(0, 6))
        body = tk.Frame(parent, bg=t.bg)
        body.pack(anchor="w")
        self.vars = {}
        rows = []
        for name, text, on in OPTIONS:
            v = self.vars[name] = tk.BooleanVar(value=on)
            rows.append([self.check(body, text, v, name=name)])
        apply = self.button(body, "Apply", self.confirm, name="apply")
        reset = self.button(body, "Reset", lambda: self.fail("pressed Reset (all settings reset)"), name="reset")
        rows.append(self.with_decoy([apply, reset], apply, "Apply to all"))
        self.form(body, rows)
        self.dlg = None

    def confirm(self):
        if self.dlg is not None or self.outcome is not None:
            return
        self.enter_phase("confirm")
        top = self.dlg = self.dialog("Apply changes?", dx=90, dy=80)
        body = tk.Frame(top, bg=self.theme.bg)
        body.pack(padx=14, pady=10)
        ok = self.button(body, "OK", self.finish, name="ok")
        cancel = self.button(body, "Cancel", lambda: self.fail("pressed Cancel in 'Apply changes?'"), name="cancel")
        self.form(body, [[self.label(body, "Apply changes?", font=self.theme.font(1.1, "bold"))],
                         [self.label(body, "Some settings take effect after a restart.")],
                         [ok, cancel]])
        self.show_modal(top, focus=ok)

    def finish(self):
        initial = {name: on for name, _, on in OPTIONS}
        wrong = [text for name, text, _ in OPTIONS
                 if self.vars[name].get() != (True if name in WANTED else initial[name])]
        if wrong:
            self.fail("wrong settings: " + ", ".join(wrong))
        else:
            self.succeed()
