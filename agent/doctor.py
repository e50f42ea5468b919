"""`deskact doctor`: can this machine record demonstrations and run the agent?

Each check returns Results (ok / warn / fail / skip) with a fix for anything that is not ok.
Every check runs in a daemon thread with a time limit, so a hung X server (or a stuck import)
costs at most `timeout` seconds instead of hanging doctor; once the X connection itself fails,
the checks that need it are skipped rather than each waiting out its own time limit.
"""
from __future__ import annotations

import importlib

import os
import shutil
import sys
import threading
import time
from dataclasses import asdict, dataclass

from recorder.platform import check_display, session_kind

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
XLIB_WANTED = (0, 33)
KIND_LABELS = {"x11": "X11", "xwayland": "XWayland", "wayland": "pure Wayland", "macos": "macOS", "none": "none"}


@dataclass
class Result:
    name: str
    status: str
    detail: str
    fix: str = ""


def run_bounded(name: str, fn, timeout: float, hung: str = "") -> list[Result]:
    """Run fn() -> Result | list[Result] in a daemon thread; a time-out or exception is a fail."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 -- any failure of a check is a finding
            box["error"] = e

    t = threading.Thread(target=target, name=f"doctor-{name}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return [Result(name, FAIL, f"did not finish within {timeout:g} s",
                       hung or "something is hung: check that the display server responds "
                               "(e.g. `xdpyinfo`), then run doctor again")]
    if "error" in box:
        e = box["error"]
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return [Result(name, FAIL, f"{type(e).__name__}: {msg}"[:200], _FIXES.get(name, ""))]
    value = box.get("value")
    return value if isinstance(value, list) else [value]


_FIXES = {
    "pynput listener": "pynput records input: on X11 it needs the RECORD extension and python-xlib 0.33; "
                       "on macOS the Accessibility and Input Monitoring permissions",
    "mss grab": "mss takes the screenshots: check the display (X11) or the Screen Recording permission (macOS)",
    "pyautogui move": "pyautogui sends input: on X11 it needs XTEST and python-xlib 0.33; "
                      "on macOS the Accessibility permission",
    "screen": "the screen size could not be read: check the display",
    "onnxruntime": "the agent runs its models with onnxruntime: pip install onnxruntime",
    "text models": "the label check reads words under another theme with the models of rapidocr: pip install rapidocr",
}


# ----- the checks ------------------------------------------------------------------------------

def check_session(kind: str, environ) -> Result:
    where = ", ".join(f"{k}={environ[k]}" for k in ("DISPLAY", "WAYLAND_DISPLAY") if environ.get(k))
    label = KIND_LABELS[kind] + (f" ({where})" if where else "")
    if kind == "xwayland":
        return Result("display server", WARN, label,
                      "XWayland: only X11 apps can be recorded and driven, and global hotkeys miss "
                      "Wayland-native windows; log in to an X11 session for full support")
    return Result("display server", OK, label)


def check_xlib_version(version: tuple | None) -> Result:
    """python-xlib must be 0.33: pyautogui's python3-Xlib 0.15 installs into the same folder."""
    if version is None:
        return Result("python-xlib", FAIL, "not installed", "pip install python-xlib==0.33")
    text = ".".join(map(str, version))
    if tuple(version[:2]) != XLIB_WANTED:
        return Result("python-xlib", FAIL, f"{text} (0.33 needed)",
                      "python3-Xlib (a pyautogui dependency) overwrote python-xlib: "
                      "pip install --force-reinstall --no-deps python-xlib==0.33")
    return Result("python-xlib", OK, text)


def _xlib_version() -> tuple | None:
    try:
        import Xlib
    except ImportError:
        return None
    return tuple(getattr(Xlib, "__version__", (0, 0)))


def check_x_extensions(display_name: str | None) -> list[Result]:
    """Connect to the X server and look for XTEST (input injection) and RECORD (input capture)."""
    from Xlib.display import Display

    try:
        d = Display(display_name)
    except Exception as e:  # noqa: BLE001 -- Xlib raises several unrelated types here
        return [Result("X connection", FAIL, f"cannot connect to {display_name}: {type(e).__name__}: {e}"[:200],
                       "check DISPLAY and that the X server runs and lets you in (xauth, `xhost +SI:localuser:$USER`)")]
    try:
        vendor = d.get_display_name()
        out = [Result("X connection", OK, f"{vendor}")]
        for ext, use, fix in (
            ("XTEST", "sending input (pyautogui, xdotool)",
             "enable XTEST: Xvfb `+extension XTEST`; Xorg loads it by default (check xorg.conf)"),
            ("RECORD", "recording input (pynput)",
             "enable RECORD: Xvfb `+extension RECORD`; Xorg: Section \"Module\" Load \"record\" in xorg.conf"),
        ):
            if d.has_extension(ext):
                out.append(Result(ext, OK, f"present ({use})"))
            else:
                out.append(Result(ext, FAIL, f"missing: needed for {use}", fix))
        return out
    finally:
        d.close()


def check_screen(mod) -> Result:
    w, h = mod.screen_size()
    scale = mod.pixel_scale()
    return Result("screen", OK, f"{w}x{h} logical, pixel scale {scale:g}")


def check_listener() -> Result:
    """A pynput keyboard and mouse listener start (are ready) and stop."""
    from pynput import keyboard, mouse

    t0 = time.monotonic()
    listeners = [keyboard.Listener(on_press=lambda k: None), mouse.Listener(on_move=lambda x, y: None)]
    try:
        for lst in listeners:
            lst.start()
        for lst in listeners:
            lst.wait()
            if not lst.is_alive():
                lst.join()  # re-raises the listener thread's error
                raise RuntimeError("listener stopped at start")
    finally:
        for lst in listeners:
            _stop_listener(lst)
    if any(lst.is_alive() for lst in listeners):
        return Result("pynput listener", FAIL, "started but did not stop", _FIXES["pynput listener"])
    return Result("pynput listener", OK, f"keyboard and mouse listeners started and stopped "
                                         f"({(time.monotonic() - t0) * 1000:.0f} ms)")


def _stop_listener(listener, timeout: float = 2.0) -> None:
    """Stop a pynput listener and wait for its thread.

    On X11 pynput's stop() queues RECORD's disable request on the recording connection without
    flushing it, so the thread only ends at the next input event, and a stop right after wait()
    can even reach the server before the enable request (both measured). So, like python-xlib's
    record demo, disable the context from a separate connection until the thread ends."""
    listener.stop()
    listener.join(0.05)
    context = getattr(listener, "_context", None)
    if not listener.is_alive() or context is None or sys.platform != "linux":
        return
    from Xlib.display import Display

    control = Display()
    try:
        deadline = time.monotonic() + timeout
        while listener.is_alive() and time.monotonic() < deadline:
            try:
                control.record_disable_context(context)
                control.sync()
            except Exception:  # noqa: BLE001 -- the listener may free the context meanwhile
                pass
            listener.join(0.05)
    finally:
        control.close()


def check_mss() -> Result:
    import mss

    with mss.MSS() as sct:
        t0 = time.perf_counter()
        shot = sct.grab(sct.monitors[1])
        ms = (time.perf_counter() - t0) * 1000
    return Result("mss grab", OK, f"{shot.width}x{shot.height} in {ms:.1f} ms (mss {getattr(mss, '__version__', '?')})")


def check_pointer(mod) -> Result:
    """Move the pointer a few pixels with the backend's Injector (pyautogui), read it back, restore."""
    inj = mod.Injector()
    pag = inj._p
    failsafe, pag.FAILSAFE = pag.FAILSAFE, False  # the pointer may rest in a corner
    try:
        w, h = mod.screen_size()
        x0, y0 = inj.position()
        tx, ty = min(max(x0 + 7, 2), w - 3), min(max(y0 + 5, 2), h - 3)
        if (tx, ty) == (x0, y0):
            tx -= 1
        inj.move(tx, ty)
        got = inj.position()
        inj.move(x0, y0)
        back = inj.position()
    finally:
        pag.FAILSAFE = failsafe
    if got != (tx, ty) or back != (x0, y0):
        return Result("pyautogui move", FAIL, f"moved to {(tx, ty)} but the pointer is at {got}, then {back}",
                      _FIXES["pyautogui move"])
    return Result("pyautogui move", OK, f"pointer moved to {tx},{ty} and back to {x0},{y0}")


def check_xdotool() -> Result:
    path = shutil.which("xdotool")
    if not path:
        return Result("xdotool", WARN, "not found: text with non-ASCII characters cannot be typed",
                      "apt-get install xdotool")
    return Result("xdotool", OK, path)


def check_onnxruntime() -> Result:
    import onnxruntime as ort

    return Result("onnxruntime", OK, f"{ort.__version__} ({', '.join(ort.get_available_providers())})")


def check_text_models() -> Result:
    from models import read

    r = read.Reader()
    return Result("text models", OK, f"{read.DET_MODEL}, {read.REC_MODEL} ({len(r.chars)} characters)")


def check_torch() -> Result:
    try:  # imported by name: the runtime package never imports torch itself
        torch = importlib.import_module("torch")
    except ImportError:
        return Result("torch", WARN, "not installed: fine for recording and running, needed for training",
                      "to train: pip install torch==2.13.0 first (CPU wheel), then pip install 'deskact[train]'")
    return Result("torch", OK, f"{torch.__version__} (training available)")


def check_mac_permissions(mod) -> list[Result]:
    status = mod.permissions()
    out = []
    for name, granted in status.items():
        need, where = mod.PERMISSIONS[name]
        label = name.replace("_", " ")
        if granted is None:
            out.append(Result(label, WARN, "could not be determined", f"check {where}"))
        elif granted:
            out.append(Result(label, OK, "granted"))
        else:
            out.append(Result(label, FAIL, f"not granted (needed for {need})",
                              f"allow the app that runs deskact (Terminal, iTerm, IDE or Python) in {where}, "
                              f"then restart it"))
    return out


# ----- running and reporting ---------------------------------------------------------------------

def run_checks(timeout: float = 10.0) -> list[Result]:
    """Every check, in order. Raises DisplayError (one line) when there is no usable display."""
    env = os.environ
    kind = check_display(env)
    results = [check_session(kind, env)]
    x11 = kind in ("x11", "xwayland")
    usable = True  # the display answers: checks that need it can run
    if x11:
        results.append(check_xlib_version(_xlib_version()))
        xres = run_bounded("X connection", lambda: check_x_extensions(env.get("DISPLAY")), timeout,
                           hung=f"the X server at {env.get('DISPLAY')} accepts connections but does not answer: "
                                f"it is hung or stopped; restart it (or the session)")
        results += xres
        status = {r.name: r.status for r in xres}
        usable = status.get("X connection") == OK
        record_ok, xtest_ok = status.get("RECORD") == OK, status.get("XTEST") == OK
    else:
        record_ok = xtest_ok = True

    from recorder.platform import backend

    def needs_display(name, fn, extra_ok=True, why=""):
        if not usable:
            results.append(Result(name, SKIP, "skipped: no working X connection"))
        elif not extra_ok:
            results.append(Result(name, SKIP, f"skipped: {why}"))
        else:
            results.extend(run_bounded(name, fn, timeout))

    if kind == "macos":  # first: missing permissions explain the failures below
        results.extend(run_bounded("permissions", lambda: check_mac_permissions(backend()), timeout))
    needs_display("screen", lambda: check_screen(backend()))
    needs_display("pynput listener", check_listener, record_ok, "needs the RECORD extension")
    needs_display("mss grab", check_mss)
    needs_display("pyautogui move", lambda: check_pointer(backend()), xtest_ok, "needs the XTEST extension")
    if x11:
        results.append(check_xdotool())
    results += run_bounded("onnxruntime", check_onnxruntime, timeout)
    results += run_bounded("text models", check_text_models, timeout)
    torch = run_bounded("torch", check_torch, timeout)
    for r in torch:  # torch is optional: whatever goes wrong with it is a warning
        if r.status == FAIL:
            r.status, r.fix = WARN, "needed only for training: " + (r.fix or "reinstall torch==2.13.0")
    return results + torch


def passed(results: list[Result]) -> bool:
    return not any(r.status == FAIL for r in results)


def format_table(results: list[Result]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'CHECK':<{width}}  STATUS  DETAIL"]
    lines += [f"{r.name:<{width}}  {r.status.upper():<6}  {r.detail}" for r in results]
    todo = [r for r in results if r.status in (FAIL, WARN) and r.fix]
    if todo:
        lines.append("")
        lines.append("What to do:")
        lines += [f"  {r.name} ({r.status}): {r.fix}" for r in todo]
    lines.append("")
    failed = [r.name for r in results if r.status == FAIL]
    lines.append(f"Not ready: {len(failed)} check(s) failed ({', '.join(failed)})." if failed
                 else "Ready: this machine can record demonstrations and run the agent.")
    return "\n".join(lines)


def as_dict(results: list[Result]) -> dict:
    return {"ok": passed(results), "session": session_kind(), "python": sys.version.split()[0],
            "checks": [asdict(r) for r in results]}
