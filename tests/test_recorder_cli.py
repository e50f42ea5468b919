"""`deskact record` and `deskact inspect` as a person runs them: a subprocess on the session
Xvfb, stopped by Ctrl+C (SIGINT) or killed with SIGKILL mid-recording."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from recorder.episode import Episode
from recorder_app import ProbeApp

pytestmark = pytest.mark.x11
ROOT = Path(__file__).resolve().parent.parent


def deskact(*args, **kw):
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, **kw)


def start_recording(out, *extra):
    proc = subprocess.Popen([sys.executable, "-m", "agent", "record", "probe", "--out", str(out), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert first.startswith("Recording to "), first + proc.stderr.read()
    path = Path(first[len("Recording to "):].strip())
    return proc, path


@pytest.fixture(scope="module")
def injector():
    from recorder.platform.x11 import Injector

    return Injector()


def lines(path):
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_kill_9_mid_recording_keeps_everything_flushed(tmp_path, injector, no_leaks):
    with ProbeApp(tmp_path) as app:
        proc, path = start_recording(tmp_path / "eps", "--no-hotkeys")
        try:
            time.sleep(0.4)
            for name in ("button", "entry", "entry2"):
                injector.click(*app.widgets[name])
                time.sleep(0.3)
            injector.type_text("typed before the crash")
            deadline = time.monotonic() + 10
            seen, stable_since = -1, time.monotonic()
            while time.monotonic() < deadline:  # until every injected event is on disk
                n = lines(path / "events.jsonl")
                if n != seen:
                    seen, stable_since = n, time.monotonic()
                elif n >= 3 * 3 + 2 * 22 and time.monotonic() - stable_since > 0.5:
                    break
                time.sleep(0.05)
            while lines(path / "frames.jsonl") < 4 and time.monotonic() < deadline + 5:
                time.sleep(0.05)  # the PNG writer lists a frame once it is complete
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
    assert not (path / "actions.jsonl").exists()  # it really died before a clean stop
    ep = Episode.load(path)
    assert ep.truncated and ep.outcome == "unknown"
    assert [(a["kind"], a.get("text")) for a in ep.actions] == [
        ("click", None), ("click", None), ("click", None), ("type", "typed before the crash")]
    for a in ep.actions:
        assert a["frame"] in ep.frames and ep.frame_path(a["frame"]).exists()
    # a line torn by the kill is tolerated: the episode loads up to the last complete event
    with open(path / "events.jsonl", "ab") as f:
        f.write(b'{"t": 99.0, "kind": "butt')
    assert len(Episode.load(path).events) == len(ep.events)
    # and inspect can still show it
    r = deskact("inspect", str(path), "--out", str(tmp_path / "sheet.png"))
    assert r.returncode == 0, r.stderr
    assert "CUT OFF" in r.stdout


def test_ctrl_c_stops_cleanly_with_a_fidelity_report_and_inspect_draws_it(tmp_path, injector, no_leaks):
    with ProbeApp(tmp_path) as app:
        proc, path = start_recording(tmp_path / "eps", "--no-hotkeys", "--fps", "12")
        time.sleep(0.4)
        injector.click(*app.widgets["button"])
        time.sleep(0.3)
        injector.click(*app.widgets["entry"])
        time.sleep(0.3)
        injector.type_text("hi")
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Stopped (Ctrl+C)." in out
    report = out[out.index("Stopped"):]
    for needle in ("events", "actions   3 (click 2, type 1)", "frames", "dropped   0 events; 0 actions without a frame"):
        assert needle in report, report
    ep = Episode.load(path)
    assert not ep.truncated and ep.outcome == "success" and ep.meta["stopped_by"] == "sigint"
    assert ep.meta["recorder"]["fps"] == 12
    assert path.parent.name == "probe" and path.parent.parent == tmp_path / "eps"

    sheet = tmp_path / "contact.png"
    r = deskact("inspect", str(path), "--out", str(sheet))
    assert r.returncode == 0, r.stderr
    assert "type 'hi'" in r.stdout and "click at" in r.stdout
    with Image.open(sheet) as im:
        assert im.width >= 3 * 480 and im.height > 300
        # three tiles: the first shows the grey button before it was clicked (with a marker)
        assert len(im.convert("L").resize((64, 64)).getcolors(4096)) > 10


def test_hotkeys_mark_failed_and_stop_a_recording_from_any_window(tmp_path, injector, no_leaks):
    with ProbeApp(tmp_path) as app:
        proc, path = start_recording(tmp_path / "eps")  # default hotkeys: F9, F10, F8
        time.sleep(0.4)
        injector.click(*app.widgets["entry"])
        time.sleep(0.3)
        injector.type_text("oops")
        injector.hotkey("f8")
        time.sleep(0.2)
        injector.hotkey("f10")
        out, err = proc.communicate(timeout=30)
        app_keys = app.state()["keys"]
    assert proc.returncode == 0, err
    assert "attempt marked as FAILED" in out and "Stopped (hotkey)." in out and "outcome   failure" in out
    ep = Episode.load(path)
    assert ep.outcome == "failure" and ep.meta["stopped_by"] == "hotkey"
    assert [(a["kind"], a.get("text")) for a in ep.actions] == [("click", None), ("type", "oops")]
    assert "F8" not in app_keys and "F10" not in app_keys  # grabbed: the app never saw them


def test_display_going_away_stops_the_recording_and_keeps_it(tmp_path, virtual_display, no_leaks):
    vd = virtual_display(640, 480)
    proc = subprocess.Popen([sys.executable, "-m", "agent", "record", "gone", "--out", str(tmp_path), "--no-hotkeys",
                             "--display", vd.display], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    first = proc.stdout.readline()
    assert first.startswith("Recording to "), first + proc.stderr.read()
    path = Path(first[len("Recording to "):].strip())
    subprocess.run(["xdotool", "mousemove", "100", "100", "click", "1"], env=vd.env(), check=True)
    time.sleep(0.3)
    vd.stop()  # the X server dies under the recorder
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "display went away" in out and "WARNING" in err
    ep = Episode.load(path)
    assert not ep.truncated and ep.meta["stopped_by"] == "display-lost"
    assert [a["kind"] for a in ep.actions] == ["click"]


@pytest.mark.parametrize("out", ["/proc/deskact-cannot-write", "{tmp}/a-file/below"])
def test_unwritable_output_is_one_line_error_before_recording(tmp_path, out):
    (tmp_path / "a-file").write_text("x")
    r = deskact("record", "probe", "--out", out.format(tmp=tmp_path), "--no-hotkeys", "--duration", "1")
    assert r.returncode == 1
    assert r.stdout == ""  # nothing recorded, nothing announced
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr


def test_full_disk_is_one_line_error_before_recording(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        r = deskact("record", "probe", "--out", str(mnt), "--no-hotkeys", "--duration", "1")
        assert r.returncode == 1 and r.stdout == ""
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1 and "MB free" in r.stderr, r.stderr
        assert not list((mnt / "probe").iterdir())  # no half-made episode left behind
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_bad_arguments_are_one_line_errors(tmp_path):
    r = deskact("record", "probe", "--out", str(tmp_path), "--exclude-region", "1,2,3")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "x,y,w,h" in r.stderr
    r = deskact("record", "probe", "--out", str(tmp_path), "--hotkey-stop", "ctrl+nokey")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "nokey" in r.stderr
    r = deskact("inspect", str(tmp_path / "nothing"))
    assert r.returncode == 1 and r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1


def test_record_help_names_the_hotkeys():
    r = deskact("record", "--help")
    assert r.returncode == 0
    for needle in ("F9", "F10", "F8", "--redact-typing", "--exclude-region", "--fps"):
        assert needle in r.stdout
