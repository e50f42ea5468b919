"""Reading the words at a point (models/read.py): the label check's eyes under another font."""
from __future__ import annotations

import numpy as np
import pytest

from models import read


def test_same_label_allows_a_misread_letter_not_a_look_alike():
    assert read.same("Sign in", "sign  in") and read.same("invoice_march.pdf", "invoice_rnarch.pdf")
    assert read.same("Q3 budget review.xlsx", "Q3 budget reviev.xlsx")
    # the benchmark's look-alikes (sandbox/tasks: with_decoy, DECOY) differ by a few letters
    for a, b in [("Sign in", "Sign in as guest"), ("Save", "Save all"), ("OK", "OK, open it"),
                 ("Apply", "Apply to all"), ("invoice_march.pdf", "invoice_march (1).pdf"),
                 ("Q3 budget review.xlsx", "Q3 budget review (old).xlsx"), ("Invoices", "Invoices 2019"),
                 ("report_draft_v2.docx", "report_draft_v2 (copy).docx"), ("OK", "0K"), ("", "")]:
        assert not read.same(a, b), (a, b)


@pytest.mark.x11
def test_the_phrase_at_a_target_is_read_under_every_theme(no_leaks):
    """A real Tk app drawn in the demos' theme and in three others (fonts DejaVu Sans, Serif, Mono,
    7-14 pt, dark and light): the phrase at each button's centre reads as its text, and the
    look-alike beside Sign in reads as itself, not as Sign in."""
    from agent.screen import Screen
    from models import codec
    from sandbox.harness import TaskSession

    reader = read.Reader()
    for spec, seed in [("decoy", 700000), ("theme,decoy", 700000), ("theme,decoy", 700001), ("theme,decoy", 700002)]:
        with TaskSession("signin", seed=seed, perturb_spec=spec) as s:
            s.wait_target("decoy")
            targets = s.wait_target("sign_in") and s.targets()
            gray = codec.to_gray(codec.to_rgb(np.ascontiguousarray(Screen(display=s.display).grab()), "BGR"))
        got = {}
        for name in ("sign_in", "sign_up", "decoy"):
            x, y, w, h = targets[name]
            got[name] = reader.text_at(gray, (x + w / 2, y + h / 2))
        assert read.same(got["sign_in"], "Sign in") and read.same(got["sign_up"], "Sign up"), (spec, seed, got)
        assert read.same(got["decoy"], "Sign in as guest") and not read.same(got["decoy"], "Sign in"), (spec, seed, got)
        assert reader.text_at(gray, (targets["sign_in"][0] - 200, targets["sign_in"][1] + 60)) == ""  # blank


def test_a_missing_model_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(read.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(read.ReadError, match="pip install rapidocr"):
        read.Reader()
