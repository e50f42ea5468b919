"""The recorder on a real X server: a Tk app on the session Xvfb, real XTEST input (the same
path a person's hardware events take), the real recorder in this process."""
import json
import os
import stat
import time

import pytest
from PIL import Image

from recorder.capture import Recorder
from recorder.episode import Episode
from recorder.errors import EpisodeError, RecorderError
from recorder_app import ProbeApp

pytestmark = pytest.mark.x11

GREY, GREEN = (0x80, 0x80, 0x80), (0x00, 0xC0, 0x00)


@pytest.fixture(scope="module")
def injector():
    from recorder.platform.x11 import Injector

    return Injector()


_current = []


def settle():
    """Let the app redraw, then wait for fresh ring frames (robust on a loaded machine)."""
    time.sleep(0.1)
    if _current and _current[-1]._ring is not None and not _current[-1]._stopped:
        assert _current[-1].sync_frames(2)
    else:
        time.sleep(0.2)


def recorder(*args, **kw):
    rec = Recorder(*args, **kw)
    _current.append(rec)
    return rec


def near(a, xy, tol=2.0):
    w, h = 1280, 800
    return abs(a["x"] * w - xy[0]) <= tol and abs(a["y"] * h - xy[1]) <= tol


@pytest.fixture(scope="module")
def session(tmp_path_factory, injector):
    """One scripted demonstration of everything the recorder must catch, recorded once."""
    tmp = tmp_path_factory.mktemp("rec")
    inj = injector
    with ProbeApp(tmp) as app:
        w = app.widgets
        cx, cy = w["canvas"]
        rec = recorder(tmp / "ep", hotkeys=False, meta_extra={"task": "probe"})
        rec.start()
        settle()
        inj.click(*w["button"])                         # 0 click: button turns green
        app.wait_state(lambda s: s.get("clicks") == 1)  # a starved app may redraw late (CI)
        settle()
        inj.click(*w["entry"])                          # 1 click
        settle()
        inj.type_text("héllo €")                        # 2 type
        app.wait_state(lambda s: s.get("entry") == "héllo €")  # saved at idle, after the redraw
        settle()
        inj.hotkey("ctrl+s")                            # 3 key ctrl+s
        settle()
        inj.click(*w["entry2"], count=2)                # 4 double click
        settle()
        inj.type_text("Abcd")                           # 5 type with shift and backspace edits
        inj.hotkey("backspace")
        inj.hotkey("backspace")
        inj.type_text("X")
        settle()
        inj.hotkey("ctrl+shift+z")                      # 6 key ctrl+shift+z
        settle()
        inj.hotkey("enter")                             # 7 key enter
        settle()
        inj.hotkey("tab")                               # 8 key tab
        settle()
        inj.click(cx, cy, button="right")               # 9 right click
        settle()
        inj.move(cx - 150, cy - 50)                     # 10 drag
        inj.button("left", True)
        for i in range(1, 11):
            inj.move(cx - 150 + 25 * i, cy - 50 + 8 * i)
            time.sleep(0.01)
        inj.button("left", False)
        settle()
        for _ in range(3):                              # 11 scroll down 3 (one burst)
            inj.scroll(-1, cx, cy + 60)
            time.sleep(0.05)
        time.sleep(0.8)
        inj.scroll(2, cx, cy + 60)                      # 12 scroll up 2 (after a gap: new action)
        settle()
        inj.click(cx + 100, cy, button="middle")        # 13 middle click
        settle()
        summary = rec.stop(outcome="success", reason="scripted")
        app_state = app.wait_state(lambda s: s.get("entry2") == "AbX")
    expected = [
        ("click", w["button"]), ("click", w["entry"]), ("type", "héllo €"), ("key", "ctrl+s"),
        ("double_click", w["entry2"]), ("type", "AbX"), ("key", "ctrl+shift+z"), ("key", "enter"),
        ("key", "tab"), ("right_click", (cx, cy)), ("drag", ((cx - 150, cy - 50), (cx + 100, cy + 30))),
        ("scroll", ((cx, cy + 60), -3)), ("scroll", ((cx, cy + 60), 2)), ("middle_click", (cx + 100, cy)),
    ]
    return {"summary": summary, "ep": Episode.load(tmp / "ep"), "app": app_state, "expected": expected,
            "path": tmp / "ep"}


def test_every_injected_action_appears_exactly_once_in_order_within_2px(session):
    actions = session["ep"].actions
    expected = session["expected"]
    assert [a["kind"] for a in actions] == [k for k, _ in expected], [
        (a["kind"], a.get("text") or a.get("combo")) for a in actions]
    for a, (kind, want) in zip(actions, expected):
        if kind in ("click", "double_click", "right_click", "middle_click"):
            assert near(a, want), (a, want)
        elif kind == "type":
            assert a["text"] == want
        elif kind == "key":
            assert a["combo"] == want
        elif kind == "drag":
            assert near(a, want[0]) and near({"x": a["x2"], "y": a["y2"]}, want[1]), (a, want)
        elif kind == "scroll":
            assert near(a, want[0]) and a["dy"] == want[1] and a["dx"] == 0
    assert actions[4]["count"] == 2
    assert [a["button"] for a in actions if "button" in a] == ["left", "left", "left", "right", "left", "middle"]


def test_the_app_received_the_same_input(session):
    # The recording is only useful if what it says happened is what the app got.
    app = session["app"]
    assert app["entry"] == "héllo €"
    assert app["entry2"] == "AbX"
    assert app["clicks"] == 1 and app["saves"] == 1
    assert app["canvas"][:1] == [["release", pytest.approx(app["canvas"][0][1]), pytest.approx(app["canvas"][0][2])]]
    assert [c[0] for c in app["canvas"]].count("down") == 3 and [c[0] for c in app["canvas"]].count("up") == 2


def test_frame_before_a_click_shows_the_screen_before_that_click(session):
    ep = session["ep"]
    bx, by = ep.actions[0]["x"] * 1280, ep.actions[0]["y"] * 800
    probe = (int(bx) - 60, int(by))  # inside the button, away from its text

    def colour(action):
        with Image.open(ep.frame_path(action["frame"])) as im:
            return im.convert("RGB").getpixel(probe)

    assert colour(ep.actions[0]) == GREY  # the click that turned it green: frame shows it grey
    assert colour(ep.actions[1]) == GREEN  # the next action's frame shows the result
    # the type action's frame shows the entry still empty; the ctrl+s frame shows the text
    assert ep.actions[2]["frame"] != ep.actions[3]["frame"], {
        k: session["summary"].get(k) for k in ("frames_missing", "capture_fps", "frames_skipped_backlog",
                                               "frames_grabbed", "frames")}


def test_a_pointer_action_keeps_the_screen_from_before_the_pointer_set_off(tmp_path, injector):
    # The agent decides with the pointer elsewhere; the person's "frame" shows the target hovered.
    RED = (0xC0, 0x00, 0x00)
    with ProbeApp(tmp_path) as app:
        hx, hy = app.widgets["hover"]
        injector.move(hx + 300, hy + 300)
        rec = recorder(tmp_path / "ep", hotkeys=False)
        rec.start()
        settle()
        for i in range(1, 9):  # a person's approach: several motion events
            injector.move(hx + 300 - 300 * i / 8, hy + 300 - 300 * i / 8)
            time.sleep(0.03)
        settle()
        injector.click(hx, hy)
        settle()
        rec.stop(outcome="success")
    ep = Episode.load(tmp_path / "ep")
    (a,) = ep.actions

    def colour(name):
        with Image.open(ep.frame_path(name)) as im:
            return im.convert("RGB").getpixel((int(hx) - 60, int(hy)))

    assert colour(a["frame"]) == RED
    assert colour(a["frame_still"]) == GREY


def test_fidelity_summary_and_meta(session):
    s, ep = session["summary"], session["ep"]
    assert s["dropped_events"] == 0 and s["actions_without_frame"] == 0 and s["frame_write_errors"] == 0
    assert s["actions"] == len(session["expected"]) and s["frames"] == len(ep.frames) >= 8
    assert s["capture_fps"] >= 9.0
    assert not ep.truncated and ep.outcome == "success" and ep.meta["outcome_reason"] == "scripted"
    assert ep.meta["screen"] == {"width": 1280, "height": 800} and ep.meta["pixel_scale"] == 1.0
    assert ep.meta["task"] == "probe"
    # unused frames were pruned: every stored frame belongs to an action
    assert set(ep.frames) == {a[k] for a in ep.actions for k in ("frame", "frame_still") if a.get(k)}
    assert sorted(os.listdir(ep.path / "frames")) == sorted(ep.frames)
    # rebuilding the actions from the raw events gives the same actions
    rebuilt = Episode.load(ep.path, rebuild_actions=True).actions
    assert rebuilt == ep.actions


def test_events_pair_releases_and_carry_resolved_characters(session):
    events = session["ep"].events
    keys = [e for e in events if e["kind"] == "key"]
    presses = [e for e in keys if e["pressed"]]
    assert [e["char"] for e in presses if e["char"]][:7] == list("héllo €")
    down = {}
    for e in keys:
        if e["pressed"]:
            down[e["keycode"]] = e["key"]
        else:
            assert down.pop(e["keycode"]) == e["key"]
    assert not down  # nothing left held
    ts = [e["t"] for e in events]
    assert ts == sorted(ts)


def test_privacy_redact_typing_exclude_region_and_owner_only_files(tmp_path, injector):
    with ProbeApp(tmp_path) as app:
        rec = recorder(tmp_path / "private", hotkeys=False, redact_typing=True,
                       exclude_regions=[(0, 0, 400, 200)])
        rec.start()
        settle()
        injector.click(*app.widgets["entry"])
        settle()
        injector.type_text("Secret pw1")
        settle()
        injector.hotkey("ctrl+s")
        settle()
        rec.stop()
        assert app.wait_state(lambda s: s.get("entry") == "Secret pw1")["entry"] == "Secret pw1"
    path = tmp_path / "private"
    raw = (path / "events.jsonl").read_text() + (path / "actions.jsonl").read_text()
    for word in ("Secret", "ecret", "pw1", '"S"', '"p"', '"w"'):
        assert word not in raw
    ep = Episode.load(path)
    assert [(a["kind"], a.get("text") or a.get("combo")) for a in ep.actions] == [
        ("click", None), ("type", "**********"), ("key", "ctrl+s")]
    with Image.open(ep.frame_path(ep.actions[0]["frame"])) as im:
        im = im.convert("RGB")
        assert im.crop((0, 0, 400, 200)).getextrema() == ((0, 0), (0, 0), (0, 0))  # all black
        assert im.getpixel((401, 201)) != (0, 0, 0)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path / "frames").st_mode) == 0o700
    for p in [*path.iterdir(), *(path / "frames").iterdir()]:
        if p.is_file():
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p


def test_hotkeys_pause_mark_failed_and_stop_and_are_never_recorded(tmp_path, injector):
    with ProbeApp(tmp_path) as app:
        w = app.widgets
        rec = recorder(tmp_path / "hk", hotkeys={"stop": "ctrl+alt+q"})
        rec.start()
        settle()
        injector.click(*w["entry"])
        settle()
        injector.hotkey("f9")  # pause
        injector.click(*w["button"])  # not recorded
        injector.type_text("zz")
        settle()
        injector.hotkey("f9")  # resume
        settle()
        injector.type_text("ok")
        injector.hotkey("f8")  # mark failed
        settle()
        assert not rec.stop_requested.is_set()
        injector.hotkey("ctrl+alt+q")
        assert rec.wait(3), "the stop hotkey did not request a stop"
        summary = rec.stop()
        app_keys = app.wait_state(lambda s: s.get("entry") == "zzok")["keys"]
    ep = Episode.load(tmp_path / "hk")
    assert summary["outcome"] == "failure" and ep.outcome == "failure"
    assert [(a["kind"], a.get("text")) for a in ep.actions] == [("click", None), ("type", "ok")]
    recorded = {e.get("key") for e in ep.events if e["kind"] == "key"}
    assert not recorded & {"f8", "f9", "q"}, recorded
    assert [m["what"] for m in ep.events if m["kind"] == "mark"] == ["pause", "resume", "failure", "stop"]
    # the grab kept the hotkeys from the focused app; the typing while paused did reach it
    assert not {"F8", "F9", "q"} & set(app_keys), app_keys
    assert summary["paused_events"] > 0


def test_modifier_held_when_recording_started_does_not_stick(tmp_path, injector):
    with ProbeApp(tmp_path) as app:
        injector.click(*app.widgets["entry"])
        injector.key("ctrl", True)  # held before the start
        rec = recorder(tmp_path / "held", hotkeys=False)
        rec.start()
        settle()
        injector.hotkey("s")  # ctrl+s: ctrl's press was never seen, the X state says it is down
        injector.key("ctrl", False)
        settle()
        injector.type_text("ab")
        settle()
        rec.stop()
    ep = Episode.load(tmp_path / "held")
    assert [(a["kind"], a.get("combo") or a.get("text")) for a in ep.actions] == [("key", "ctrl+s"), ("type", "ab")]


def test_unusable_output_folder_is_refused_before_recording(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for bad in (blocker / "ep", "/proc/deskact-ep"):
        with pytest.raises(EpisodeError) as e:
            Recorder(bad, hotkeys=False).start()
        assert "\n" not in str(e.value) and str(bad) in str(e.value)
    with pytest.raises(EpisodeError, match="MB free"):
        Recorder(tmp_path / "full", hotkeys=False, min_free_mb=1e12).start()
    assert not (tmp_path / "full").exists()
    with pytest.raises(RecorderError, match="the same"):
        Recorder(tmp_path / "x", hotkeys={"stop": "f9"})


def test_context_manager_stops_and_closes_the_episode(tmp_path, injector):
    with recorder(tmp_path / "cm", hotkeys=False) as rec:
        settle()
        injector.click(50, 700)
        settle()
    ep = Episode.load(tmp_path / "cm")
    assert not ep.truncated and [a["kind"] for a in ep.actions] == ["click"]
    assert json.loads((tmp_path / "cm" / "meta.json").read_text())["recorder"]["summary"]["events"] >= 2
    with pytest.raises(RecorderError):
        rec.stop()


def test_text_typed_through_transient_keymap_changes_is_recorded_as_typed(tmp_path, injector):
    # xdotool (like password managers' auto-type) binds a spare keycode, presses it and restores
    # the binding at once; the recorder must resolve the press with the binding of that moment.
    import shutil
    import subprocess

    if not shutil.which("xdotool"):
        pytest.skip("needs xdotool")
    with recorder(tmp_path / "xdo", hotkeys=False) as rec:
        settle()
        subprocess.run(["xdotool", "type", "--delay", "0", "héllo €ñ żółw"], check=True)
        settle()
    assert rec.events
    ep = Episode.load(tmp_path / "xdo")
    assert [(a["kind"], a.get("text")) for a in ep.actions] == [("type", "héllo €ñ żółw")]


def test_records_the_display_it_is_given_with_its_own_size(tmp_path, virtual_display):
    # A private 800x600 display while this process's pyautogui stays bound to the session one:
    # coordinates are normalised to the recorded screen, frames have its size.
    import subprocess

    vd = virtual_display(800, 600)
    rec = recorder(tmp_path / "other", display=vd.display, hotkeys=False)
    rec.start()
    assert os.environ["DISPLAY"] != vd.display  # the listener's start did not leave it switched
    rec.sync_frames(2)
    subprocess.run(["xdotool", "mousemove", "600", "450", "click", "1"], env=vd.env(), check=True)
    rec.sync_frames(2)
    rec.stop()
    ep = Episode.load(tmp_path / "other")
    assert ep.meta["screen"] == {"width": 800, "height": 600} and ep.meta["pixel_scale"] == 1.0
    (a,) = ep.actions
    assert a["kind"] == "click" and (a["x"], a["y"]) == (0.75, 0.75)
    with Image.open(ep.frame_path(a["frame"])) as im:
        assert im.size == (800, 600)


@pytest.fixture
def tiny_fs(tmp_path):
    """A 2 MB tmpfs: a real full disk (needs root, as the test machines run)."""
    import subprocess

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode:
        pytest.skip("cannot mount a small tmpfs here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_filling_up_mid_recording_is_reported_and_what_was_flushed_loads(tiny_fs, injector):
    said = []
    rec = recorder(tiny_fs / "ep", hotkeys=False, min_free_mb=0.5, on_status=said.append)
    rec.start()
    settle()
    injector.click(40, 700)  # written while there is space
    settle()
    with open(tiny_fs / "filler", "wb") as f:  # now fill the disk
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    for i in range(300):  # more than the page events.jsonl already has room in
        injector.move(100 + i, 600)
    injector.click(60, 700)
    settle()
    with pytest.raises(EpisodeError) as e:
        rec.stop()
    assert "\n" not in str(e.value) and "could not finish" in str(e.value)
    assert any("events are being lost" in s for s in said), said
    ep = Episode.load(tiny_fs / "ep")
    assert ep.truncated and [a["kind"] for a in ep.actions][:1] == ["click"]
