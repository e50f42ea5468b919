"""The `deskact` command line: help of every subcommand, `sandbox list`, and `sandbox open` run
as a user would (the console command in a subprocess) on real Xvfb displays, including how it
ends: outcome, --close-after, Ctrl+C, SIGTERM; the app and the display are gone afterwards."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from Xlib.display import Display

from agent.cli import SUBCOMMANDS, build_parser, main
from sandbox.tasks import TASKS

DESKACT = shutil.which("deskact", path=str(Path(sys.executable).parent)) or "deskact"


def deskact(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([DESKACT, *args], env=env, capture_output=True, text=True, timeout=timeout)


def answers(display: str) -> bool:
    try:
        Display(display).close()
        return True
    except Exception:  # noqa: BLE001 -- refused / no socket
        return False


def registered() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return list(sub.choices)


# ----- help ----------------------------------------------------------------------------------------

def test_top_level_help_lists_the_subcommands():
    p = deskact("--help")
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.startswith("usage: deskact")
    for name in ("doctor", "sandbox"):
        assert re.search(rf"^\s+{name}\s", p.stdout, flags=re.M), name


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_registered_subcommand_has_help(name, capsys):
    if name not in registered():
        pytest.skip(f"agent/cli/{name}.py is not built yet")
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: deskact {name}")


@pytest.mark.parametrize("action", ["list", "open"])
def test_sandbox_actions_have_help(action, capsys):
    with pytest.raises(SystemExit) as e:
        main(["sandbox", action, "--help"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: deskact sandbox {action}")


# ----- sandbox list -------------------------------------------------------------------------------

def test_sandbox_list_prints_one_task_per_line(capsys):
    assert main(["sandbox", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == list(TASKS)


def test_sandbox_list_long_adds_descriptions(capsys):
    assert main(["sandbox", "list", "--long"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(TASKS)
    for line, (name, cls) in zip(lines, TASKS.items()):
        assert line.split()[0] == name and line.endswith(cls.description)


# ----- sandbox open: errors -----------------------------------------------------------------------

def test_open_unknown_task_is_one_error_line():
    p = deskact("sandbox", "open", "no-such-task", "--virtual", "640x480")
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.splitlines() == [f"Error: unknown task 'no-such-task' (built-in tasks: {', '.join(TASKS)})"]


@pytest.mark.parametrize("args,message", [
    (["--perturb", "layout,wobble"], "Error: unknown perturbation 'wobble' (choose from: none, all, layout"),
    (["--perturb", "theme:2"], "Error: perturbation strength for theme must be within 0..1, got 2.0"),
    (["--virtual", "big"], "Error: --virtual 'big' is not a size like 1280x800"),
    (["--virtual", "20x20"], "Error: --virtual 20x20 is out of range (64..16384 pixels per side)"),
    (["--close-after", "-1"], "Error: --close-after must be 0 or more, got -1"),
    (["--screenshot", "/no-such-dir/x.png"], "Error: cannot write the screenshot /no-such-dir/x.png: its folder"),
])
def test_open_bad_options_are_one_error_line(args, message, capsys, no_leaks):
    assert main(["sandbox", "open", "signin", *args]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert len(out.err.splitlines()) == 1 and out.err.startswith(message), out.err


def test_open_without_a_display_says_so():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    p = deskact("sandbox", "open", "signin", env=env)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("Error: no display: DISPLAY is not set.") and len(p.stderr.splitlines()) == 1


# ----- sandbox open: a real app on a real display ----------------------------------------------------

@pytest.mark.x11
def test_open_on_a_virtual_display_with_a_screenshot(tmp_path):
    png = tmp_path / "shot.png"
    p = deskact("sandbox", "open", "signin", "--virtual", "1024x768", "--screenshot", str(png), "--close-after", "0")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    display = re.search(r"DISPLAY=(:\d+) \(1024x768\)", p.stdout).group(1)
    assert f"Screenshot: {png} (1024x768)" in p.stdout
    assert p.stdout.rstrip().endswith("Closed after 0 s without an outcome.")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == (1024, 768)
        # the app's window is on it (Xvfb's empty root is black)
        assert im.convert("L").getextrema()[1] > 200
    assert not answers(display), "the virtual display outlived the command"


def start_open(*args) -> tuple[subprocess.Popen, str]:
    """Start `deskact sandbox open ...` and return it with its DISPLAY once the window is up."""
    proc = subprocess.Popen([DESKACT, "sandbox", "open", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    first = proc.stdout.readline()
    m = re.search(r"DISPLAY=(:\d+)", first)
    if not m:
        proc.kill()
        pytest.fail(f"no DISPLAY line: {first!r} {proc.communicate()}")
    return proc, m.group(1)


def xdotool(display: str, *args) -> str:
    return subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=display), capture_output=True,
                          text=True, timeout=10).stdout


@pytest.mark.x11
def test_open_prints_the_outcome_the_app_reports():
    proc, display = start_open("signin", "--virtual", "800x600")
    try:
        window = xdotool(display, "search", "--sync", "--name", "Sign in").split()[0]
        # focus follows the pointer (no window manager): Tab to the user name, Tab to the
        # password, Enter submits an empty user name
        xdotool(display, "mousemove", "--window", window, "5", "5", "key", "Tab", "Tab", "Return")
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("Outcome: failure (wrong user name '')")
    assert not answers(display)


@pytest.mark.x11
@pytest.mark.parametrize("sig,says,code", [(signal.SIGINT, "Closed (Ctrl+C).", 0),
                                           (signal.SIGTERM, "", 128 + signal.SIGTERM)],
                         ids=["ctrl-c", "sigterm"])
def test_open_on_the_current_display_cleans_up_on_ctrl_c_and_sigterm(sig, says, code):
    display = os.environ["DISPLAY"]
    proc, shown = start_open("signin", "--seed", "3")
    try:
        assert shown == display
        assert "Waiting for the task's outcome" in proc.stdout.readline()
        assert xdotool(display, "search", "--name", "Acme").split(), "no task window"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert out.strip() == says
    assert xdotool(display, "search", "--name", "Acme").split() == [], "the task window outlived the command"
    assert answers(display)  # the session display is left alone


@pytest.mark.parametrize("args,message", [
    (["--practice", "0"], "Error: bench: practice_episodes must be at least 1, got 0"),
    (["--methods", "ABX"], "Error: bench: unknown methods X (choose from ABCDEF)"),
])
def test_bench_bad_options_are_one_error_line(args, message, capsys, tmp_path):
    assert main(["bench", "--out", str(tmp_path / "b"), *args]) == 1
    out = capsys.readouterr()
    assert out.out == "" and not (tmp_path / "b").exists()
    assert len(out.err.splitlines()) == 1 and out.err.startswith(message), out.err
