"""The claim's numbers under the benchmark table are computed from the runs (agent.bench.targets)."""
from __future__ import annotations

from agent.bench import CHANGES, targets


def _runs(method, change, success, wrong=0, abstained=0, n=4):
    out = []
    for i in range(n):
        ok = i < success
        out.append({"method": method, "change": change, "outcome": "success" if ok else "failure",
                    "wrong_action": not ok and i < success + wrong,
                    "abstained": not ok and i >= success + wrong and i < success + wrong + abstained})
    return out


def test_targets_say_what_is_met_from_the_runs():
    rows = []
    for c in CHANGES:
        rows += _runs("A", c, 1, wrong=3) + _runs("B", c, 2, wrong=2) + _runs("D", c, 4 if c != "theme" else 2)
        rows += _runs("E", c, 0, wrong=4) + _runs("F", c, 2, wrong=0, abstained=2)
    rows += _runs("D", "impossible", 0, abstained=4)
    t = "\n".join(targets(rows))
    assert "D >= 0.95 under each UI change: not met (theme 0.50)" in t
    assert "D above A and B under each UI change: not under theme" in t  # B 0.50 = D 0.50
    assert "did not succeed: F 14/28, E 28/28, ratio 0.50 (not met" in t
    assert "wrong action: F 0/28, E 28/28, ratio 0.00 (met" in t
    assert "impossible task: D abstained in 4 of 4 runs, 0 with a wrong action (met)" in t
    rows += _runs("D", "impossible", 3, wrong=1)
    assert "abstained in 4 of 8 runs, 1 with a wrong action (not met)" in "\n".join(targets(rows))
