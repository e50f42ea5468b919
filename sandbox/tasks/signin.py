"""Sign in: click the user field, type the name, Tab, type a non-ASCII password, press Sign in.
The wrong choice beside the target is "Sign up"."""
from __future__ import annotations

import tkinter as tk

from ..steps import click, key, type_text
from .base import TaskApp

USER, PASSWORD = "alice", "héllo €"


class SignIn(TaskApp):
    name = "signin"
    title = "Acme — Sign in"
    description = "sign in with a user name and a non-ASCII password (click, type, Tab, click)"
    n_phases = 1
    steps = (
        click("username", fumble=(click("password"),)),
        type_text(USER, fumble=(type_text("alcie"),)),
        key("tab"),
        type_text(PASSWORD, fumble=(type_text("hello"),)),
        click("sign_in", fumble=(click("sign_up"),)),
    )

    def phase_names(self):
        return ["form"]

    def build(self, parent):
        self.label(parent, "Sign in to Acme", font=self.theme.font(1.4, "bold")).pack(anchor="w", pady=(0, 8))
        body = tk.Frame(parent, bg=self.theme.bg)
        body.pack(anchor="w")
        user = self.entry(body, "username")
        pw = self.entry(body, "password", show="•")
        remember = tk.BooleanVar(value=False)
        sign_in = self.button(body, "Sign in", self.submit, name="sign_in")
        sign_up = self.button(body, "Sign up", lambda: self.fail("pressed 'Sign up'"), name="sign_up")
        self.user, self.pw = user, pw
        self.form(body, [
            [self.label(body, "User name"), user],
            [self.label(body, "Password"), pw],
            [self.check(body, "Remember me", remember)],
            self.with_decoy([sign_in, sign_up], sign_in, "Sign in as guest"),
        ])
        pw.bind("<Return>", lambda e: self.submit())

    def submit(self):
        if self.user.get() != USER:
            self.fail(f"wrong user name {self.user.get()!r}")
        elif self.pw.get() != PASSWORD:
            self.fail("wrong password")
        else:
            self.succeed()
