"""`deskact bench --quick` for real: demos recorded, bundles trained, practice, every method run
on private displays; the table must be what those runs say (recomputed here from results.json)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.x11, pytest.mark.slow]
pytest.importorskip("torch")


def test_quick_bench_tabulates_real_runs(tmp_path, no_leaks):
    from agent.bench import EVAL_SEED, METHODS, BenchConfig, summarise

    out = tmp_path / "bench"
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "agent", "bench", "--quick", "--out", str(out)], capture_output=True,
                       text=True, timeout=900, stdin=subprocess.DEVNULL)
    minutes = (time.monotonic() - t0) / 60
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    report = json.loads((out / "results.json").read_text())
    cfg = BenchConfig.quick(out)
    rows = report["results"]
    for m in METHODS:
        for change in cfg.perturbations:
            runs = [r for r in rows if r["method"] == m and r["change"] == change]
            assert len(runs) == cfg.eval_episodes, (m, change, runs)
            assert {r["seed"] for r in runs} == {EVAL_SEED + e for e in range(cfg.eval_episodes)}
            for r in runs:  # a real run on a task app: it reported an outcome and took time
                assert r["outcome"] in ("success", "failure"), r
                assert r["seconds"] > 0.2 and r["perturb"] == change, r
    impossible = [r for r in rows if r["change"] == "impossible"]
    assert len(impossible) == cfg.impossible_episodes and all(r["outcome"] != "success" for r in impossible)
    # the table is computed from these runs and nothing else
    table = (out / "table.md").read_text()
    for m in METHODS:
        cells = [f"{summarise([r for r in rows if r['method'] == m and r['change'] == c])['success']:.2f}"
                 for c in cfg.perturbations]
        line = next(ln for ln in table.splitlines() if ln.startswith(f"| {m} "))
        assert [c.split(" (")[0].strip() for c in line.split("|")[2:2 + len(cells)]] == cells, line
    # seeds of demos, practice and evaluation never overlap (see agent/bench.py)
    demos = [json.loads(f.read_text())["seed"] for f in out.glob("*/demos/*/meta.json")]
    practice = [json.loads(f.read_text())["seed"] for f in out.glob("*/practice/*/meta.json")]
    assert demos and practice and max(demos) < min(practice) and max(practice) < EVAL_SEED
    print(f"bench --quick took {minutes:.1f} min")  # the 5-minute target is measured in docs/benchmarks.md
