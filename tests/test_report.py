"""The HTML report opened in real headless Chromium: the steps, the drawn chunk and the end
reason must be visible to a person."""
from __future__ import annotations

import shutil
import subprocess

import cv2
import numpy as np
import pytest

from agent.report import CHOSEN, Report


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _screen(step_colour=(235, 235, 235)):
    frame = np.full((800, 1280, 3), step_colour, np.uint8)
    cv2.rectangle(frame, (200, 200), (420, 240), (255, 255, 255), -1)
    return frame


def make_report(tmp_path):
    r = Report(tmp_path / "rep", "deskact run demo-bundle", "sandbox signin")
    chunk = [{"kind": "click", "x": 0.24, "y": 0.275}, {"kind": "type", "text": "alice"}, {"kind": "key", "combo": "tab"}]
    cands = [{"actions": chunk, "score": 0.93, "source": "policy"},
             {"actions": [{"kind": "click", "x": 0.6, "y": 0.3}], "score": 0.12, "source": "exemplar:0"}]
    r.add_step(_screen(), chunk, cands, {"grab": 0.001, "decide": 0.012})
    r.add_step(_screen(), [{"kind": "click", "x": 0.1, "y": 0.6}], cands[:1], {"decide": 0.011})
    return r.finish("the agent finished the workflow (done)")


def test_report_contents(tmp_path):
    html = make_report(tmp_path).read_text()
    assert html.count('class="step"') == 2
    assert "the agent finished the workflow (done)" in html
    assert "type &#x27;alice&#x27;" in html and "0.930" in html and "exemplar:0" in html
    assert (tmp_path / "rep" / "report.json").exists()


@pytest.mark.skipif(_chromium() is None, reason="needs chromium (scripts/test installs it)")
def test_report_renders_in_chromium(tmp_path):
    path = make_report(tmp_path)
    png = tmp_path / "shot.png"
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars", "--window-size=1100,2400",
           f"--screenshot={png}", path.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=90)
    img = cv2.imread(str(png))
    assert img is not None, "chromium wrote no screenshot"
    # The chosen chunk is drawn in green on both steps' screenshots: find those pixels.
    b, g, r = (img[..., i].astype(int) for i in range(3))
    green = (abs(b - CHOSEN[0]) < 40) & (abs(g - CHOSEN[1]) < 40) & (abs(r - CHOSEN[2]) < 40)
    rows = np.where(green.any(axis=1))[0]
    assert rows.size > 0, "no drawn chunk visible"
    # two step images, one below the other: green rows in two separate bands
    assert rows.max() - rows.min() > 300
    dom = subprocess.run([*cmd[:-2], "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=90).stdout
    assert dom.count('class="step"') == 2 and "finished the workflow" in dom
