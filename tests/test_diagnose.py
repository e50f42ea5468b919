"""scripts/diagnose.py's judgement of one decision: was the task's next click among the candidates?
The steps are written as Report.annotate stores them (sandbox targets in logical px)."""
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("diagnose", Path(__file__).resolve().parent.parent / "scripts" / "diagnose.py")
diagnose = importlib.util.module_from_spec(spec)
spec.loader.exec_module(diagnose)

TARGETS = {"username": [100, 100, 200, 30], "sign_in": [100, 300, 80, 30]}


def step(executed, clicks, candidates, targets=TARGETS):
    return {"sandbox": {"targets": targets, "size": [1000, 1000], "executed": executed, "clicks": clicks},
            "candidates": [{"actions": a, "score": s} for a, s in candidates], "chosen": None}


def click(x, y, kind="click"):
    return [{"kind": kind, "x": x / 1000, "y": y / 1000}]


def test_the_right_click_is_found_with_its_rank_and_score():
    s = step([], [], [(click(500, 500), 0.9), (click(150, 110), 0.4), (click(160, 115), 0.3)])
    assert diagnose.right_click("signin", s) == (1, 0.4)


def test_no_candidate_clicks_the_next_target():
    s = step(["click", "type", "key", "type"], ["username"], [(click(150, 110), 0.9), ([{"kind": "done"}], 0.5)])
    assert diagnose.right_click("signin", s) is None  # the next click is Sign in, not User name


def test_off_track_and_non_click_steps_are_not_judged():
    assert diagnose.right_click("signin", step(["click"], ["sign_in"], [(click(150, 110), 0.9)])) is False
    assert diagnose.right_click("signin", step(["click"], ["username"], [(click(150, 110), 0.9)])) is False  # typing next
    assert diagnose.right_click("signin", {"candidates": [], "chosen": None}) is False  # no sandbox annotation


def test_while_the_popup_is_up_closing_it_is_the_right_click():
    t = dict(TARGETS, popup_close=[400, 400, 60, 24])
    s = step([], [], [(click(150, 110), 0.95), (click(420, 410), 0.5)], targets=t)
    assert diagnose.right_click("signin", s) == (1, 0.5)


def test_judged_counts_over_run_reports(tmp_path):
    import json

    steps = [step([], [], [(click(150, 110), 0.9)]), step([], [], [(click(500, 500), 0.9), (click(150, 110), 0.2)]),
             step([], [], [(click(500, 500), 0.9)]), step(["click"], ["username"], [])]
    (tmp_path / "report.json").write_text(json.dumps({"steps": steps}))
    line = diagnose.judged("signin", [tmp_path], 0.5)
    assert line.startswith("3 decisions before a click, on track: the right click among the candidates in 2, "
                           "ranked first in 1, and over the threshold 0.50 in 1")


def test_unknown_change_is_a_clear_error(tmp_path, capsys):
    rc = diagnose.main([str(tmp_path), "--task", "rename", "--perturb", "impossible", "--out", str(tmp_path / "out")])
    assert rc == 2
    assert "unknown perturbation 'impossible'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
