"""Search and pick: click the search field, type a query, Enter, scroll the results until the
wanted document is visible, double-click it. The wrong choices: a typo in the query (no
results), Escape (clears the search), the row next to the wanted one; under the decoy
perturbation a look-alike row ("… (old).xlsx") sits right beside it.

List rows are published as targets ("wanted", "neighbour", "decoy") only while wholly visible,
so the demonstrator has to scroll to reach them, the way a person does."""
from __future__ import annotations

import tkinter as tk

from ..steps import click, double_click, key, scroll, type_text
from .base import TaskApp

QUERY, WANTED = "budget", "Q3 budget review.xlsx"
DECOY = "Q3 budget review (old).xlsx"
TEAMS = ("Sales", "Marketing", "Support", "Research", "Legal", "Facilities", "IT", "HR", "Design")
OTHER = ("holiday rota.pdf", "team photo.png", "minutes 2024-03.docx", "printer manual.pdf")


class SearchPick(TaskApp):
    name = "search_pick"
    title = "Files — Search"
    description = "search, scroll the results, double-click the wanted document"
    missing_target = "wanted"  # a list row: build() leaves it out
    n_phases = 2
    steps = (
        click("search"),
        type_text(QUERY, fumble=(type_text("budgte"),)),
        key("enter", fumble=(key("escape"),)),
        scroll("results", until="wanted", clicks=-2),
        double_click("wanted", fumble=(double_click("neighbour"),)),
    )

    def phase_names(self):
        return ["search", "results"]

    def build(self, parent):
        self.decoy_for = "wanted"  # the look-alike row/icon sits beside it
        t = self.theme
        r = self.rng
        docs = [f"{team} budget {year}.xlsx" for team in TEAMS for year in (2022, 2023, 2024)]
        r.shuffle(docs)
        docs = docs[:26]
        self.wanted_at = r.randint(14, len(docs) - 2)
        if not self.variant.missing:  # the impossible variant: the document is not there
            docs.insert(self.wanted_at, WANTED)
        if self.variant.decoy:
            docs.insert(self.wanted_at + (1 if self.variant.decoy_side == "right" else 0), DECOY)
            if WANTED in docs:
                self.wanted_at = docs.index(WANTED)
        self.docs = docs + list(OTHER)
        self.shown: list[str] = []

        self.label(parent, "Find a document", font=t.font(1.4, "bold")).pack(anchor="w", pady=(0, 6))
        body = tk.Frame(parent, bg=t.bg)
        body.pack(anchor="w")
        self.query = self.entry(body, "search", width=28)
        go = self.button(body, "Search", self.search, name="search_button")
        box = tk.Frame(body, bg=t.bg)
        self.results = self.listbox(box, "results", width=34, height=8)
        bar = tk.Scrollbar(box, command=self.results.yview, bg=t.button_bg, troughcolor=t.bg)
        self.results.configure(yscrollcommand=bar.set)
        self.results.pack(side="left")
        bar.pack(side="left", fill="y")
        self.form(body, [[self.label(body, "Search"), self.query, go], [box]])
        self.query.bind("<Return>", lambda e: self.search())
        self.query.bind("<Escape>", lambda e: self.fail("pressed Escape (the search was cleared)"))
        self.results.bind("<Double-Button-1>", self.open_row)

    def search(self):
        if self.outcome is not None or self.shown:
            return
        q = self.query.get().strip().lower()
        if not q:
            return  # searching for nothing does nothing, as in most apps
        hits = [d for d in self.docs if q in d.lower()]
        if not hits:
            self.fail(f"no results for {self.query.get()!r}")
            return
        self.shown = hits
        for d in hits:
            self.results.insert("end", d)
        self.enter_phase("results")

    def _row(self, name: str):
        if name not in self.shown:
            return None
        return self.listbox_row_rect(self.results, self.shown.index(name))

    def extra_targets(self):
        out = {"wanted": self._row(WANTED), "decoy": self._row(DECOY)}
        if out["wanted"] and WANTED in self.shown:
            i = self.shown.index(WANTED)
            for j in (i - 1, i + 1):  # the row next to it that is not the decoy
                if 0 <= j < len(self.shown) and self.shown[j] != DECOY:
                    out["neighbour"] = self.listbox_row_rect(self.results, j)
                    if out["neighbour"]:
                        break
        return out

    def open_row(self, event):
        if not self.shown:
            return
        i = self.results.nearest(event.y)
        name = self.shown[i]
        if name == WANTED:
            self.succeed()
        else:
            self.fail(f"opened {name!r}, not {WANTED!r}")
