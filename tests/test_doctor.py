"""`deskact doctor` as a user runs it (the console command, in a subprocess) on real displays:
a working one, none, pure Wayland, a hung X server and one without RECORD."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent import doctor

DESKACT = shutil.which("deskact", path=str(Path(sys.executable).parent)) or "deskact"


def run_doctor(*args, env=None, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run([DESKACT, "doctor", *args], env=env, capture_output=True, text=True, timeout=timeout)
    return p, time.monotonic() - t0


def bare_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env.update(extra)
    return env


def rows(out: str) -> dict[str, tuple[str, str]]:
    """The table's rows: name -> (STATUS, detail)."""
    table = out.split("\n\n")[0].splitlines()[1:]
    result = {}
    for line in table:
        name, status, detail = (re.split(r"\s{2,}", line, maxsplit=2) + [""])[:3]
        result[name] = (status, detail)
    return result


@pytest.mark.x11
def test_doctor_passes_on_the_test_display():
    p, _ = run_doctor()
    assert p.returncode == 0, p.stdout + p.stderr
    r = rows(p.stdout)
    assert r["display server"] == ("OK", f"X11 (DISPLAY={os.environ['DISPLAY']})")
    assert r["XTEST"][0] == "OK" and r["RECORD"][0] == "OK"
    for name in ("python-xlib", "X connection", "screen", "pynput listener", "mss grab", "pyautogui move",
                 "onnxruntime", "text models"):
        assert r[name][0] == "OK", (name, r[name])
    assert r["screen"][1].startswith("1280x800 logical, pixel scale 1")
    assert p.stdout.rstrip().endswith("Ready: this machine can record demonstrations and run the agent.")
    assert p.stderr == ""


@pytest.mark.x11
def test_doctor_json():
    p, _ = run_doctor("--json")
    assert p.returncode == 0, p.stdout + p.stderr
    data = json.loads(p.stdout)
    assert data["ok"] is True and data["session"] == "x11"
    status = {c["name"]: c["status"] for c in data["checks"]}
    assert status["XTEST"] == status["RECORD"] == status["pynput listener"] == "ok"


@pytest.mark.parametrize("env,says", [
    (bare_env(), "Error: no display: DISPLAY is not set."),
    (bare_env(WAYLAND_DISPLAY="wayland-0"), "Error: pure Wayland session without XWayland"),
    (bare_env(XDG_SESSION_TYPE="wayland"), "Error: pure Wayland session without XWayland"),
], ids=["no-display", "wayland", "wayland-session-type"])
def test_doctor_without_a_usable_display_says_so_in_one_line(env, says):
    p, _ = run_doctor(env=env)
    assert p.returncode == 1
    lines = (p.stdout + p.stderr).splitlines()
    assert len(lines) == 1 and lines[0].startswith(says), lines
    assert "Traceback" not in p.stderr


def test_doctor_json_without_a_display():
    p, _ = run_doctor("--json", env=bare_env())
    assert p.returncode == 1
    assert len(p.stdout.splitlines()) == 1 and p.stderr == ""
    data = json.loads(p.stdout)
    assert data["ok"] is False and data["error"].startswith("no display")


@pytest.mark.x11
def test_doctor_does_not_hang_on_a_hung_x_server(virtual_display):
    d = virtual_display(320, 200)
    os.kill(d.pid, signal.SIGSTOP)  # accepts connections (kernel backlog), never answers
    try:
        p, took = run_doctor("--timeout", "1.5", env=d.env())
    finally:
        os.kill(d.pid, signal.SIGCONT)
    assert p.returncode == 1
    assert took < 15, f"doctor took {took:.1f} s"
    r = rows(p.stdout)
    assert r["X connection"] == ("FAIL", "did not finish within 1.5 s")
    assert r["mss grab"] == ("SKIP", "skipped: no working X connection")
    assert "accepts connections but does not answer" in p.stdout
    assert "Traceback" not in p.stdout + p.stderr


@pytest.mark.x11
def test_doctor_says_when_nothing_answers_at_display():
    from sandbox.display import VirtualDisplay

    with VirtualDisplay(320, 200) as d:
        gone = d.display  # a display number that was free a moment ago and is free again
    p, _ = run_doctor(env=dict(os.environ, DISPLAY=gone))
    assert p.returncode == 1
    r = rows(p.stdout)
    assert r["X connection"][0] == "FAIL" and r["X connection"][1].startswith(f"cannot connect to {gone}: ")
    assert r["screen"] == ("SKIP", "skipped: no working X connection")
    assert "X connection (fail): check DISPLAY and that the X server runs" in p.stdout


def test_doctor_rejects_a_bad_timeout():
    p, _ = run_doctor("--timeout", "0")
    assert (p.returncode, p.stdout, p.stderr) == (1, "", "Error: --timeout must be more than 0 seconds, got 0\n")


def start_xvfb_without_record() -> tuple[subprocess.Popen, str]:
    """Xvfb without RECORD, which (one switch in the X server) also means without XTEST."""
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "320x200x24", "-nolisten", "tcp",
                             "-extension", "RECORD"], pass_fds=(w,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not start"
    return proc, f":{number}"


@pytest.mark.x11
def test_doctor_names_missing_extensions_and_how_to_enable_them(no_leaks):
    proc, display = start_xvfb_without_record()
    try:
        env = dict(os.environ, DISPLAY=display)
        p, _ = run_doctor(env=env)
    finally:
        proc.terminate()
        proc.wait(5)
    assert p.returncode == 1
    r = rows(p.stdout)
    assert r["X connection"][0] == "OK"
    assert r["XTEST"] == ("FAIL", "missing: needed for sending input (pyautogui, xdotool)")
    assert r["RECORD"] == ("FAIL", "missing: needed for recording input (pynput)")
    assert r["pynput listener"] == ("SKIP", "skipped: needs the RECORD extension")
    assert r["pyautogui move"] == ("SKIP", "skipped: needs the XTEST extension")
    assert r["mss grab"][0] == "OK"
    assert "RECORD (fail): enable RECORD: Xvfb `+extension RECORD`" in p.stdout
    assert "Not ready: 2 check(s) failed (XTEST, RECORD)." in p.stdout


# ----- the parts, in process ----------------------------------------------------------------------

def test_checks_are_time_bounded():
    t0 = time.monotonic()
    [r] = doctor.run_bounded("slow", lambda: time.sleep(5), timeout=0.2)
    assert time.monotonic() - t0 < 1.5
    assert (r.status, r.detail) == ("fail", "did not finish within 0.2 s")


def test_a_check_that_raises_is_a_failure_with_its_error():
    def broken():
        raise ImportError("libonnxruntime.so: cannot open shared object file")

    [r] = doctor.run_bounded("onnxruntime", broken, timeout=5)
    assert r.status == "fail"
    assert r.detail == "ImportError: libonnxruntime.so: cannot open shared object file"
    assert r.fix.startswith("the agent runs its models with onnxruntime")


@pytest.mark.parametrize("version,status", [((0, 33), "ok"), ((0, 15), "fail"), (None, "fail")])
def test_python_xlib_must_be_0_33(version, status):
    r = doctor.check_xlib_version(version)
    assert r.status == status
    if status == "fail":
        assert "python-xlib==0.33" in r.fix


def test_installed_python_xlib_is_0_33():
    """The pitfall: pyautogui's python3-Xlib 0.15 shares the Xlib/ folder and can win."""
    assert doctor.check_xlib_version(doctor._xlib_version()).status == "ok"


def test_missing_torch_is_only_a_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    r = doctor.check_torch()
    assert r.status == "warn" and "needed for training" in r.detail
    assert doctor.passed([r])


def test_table_lists_what_to_do_for_each_failure():
    results = [doctor.Result("XTEST", "ok", "present"),
               doctor.Result("RECORD", "fail", "missing", "enable RECORD"),
               doctor.Result("torch", "warn", "not installed", "pip install torch")]
    text = doctor.format_table(results)
    assert "  RECORD (fail): enable RECORD" in text and "  torch (warn): pip install torch" in text
    assert text.endswith("Not ready: 1 check(s) failed (RECORD).")
    assert not doctor.passed(results)
