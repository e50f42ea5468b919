"""`deskact run` / `replay` on bad input: one clear line, exit code 1, no traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from models.bundle import BUNDLE_FORMAT_VERSION


def deskact(*args, env=None):
    return subprocess.run([sys.executable, "-m", "agent", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60, stdin=subprocess.DEVNULL)


def one_error_line(p, *words):
    assert p.returncode == 1, p.stdout + p.stderr
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), p.stderr
    assert "Traceback" not in p.stderr
    for w in words:
        assert w in lines[0], lines[0]


def fake_bundle(path, version=BUNDLE_FORMAT_VERSION, sha="0" * 64):
    path.mkdir()
    (path / "policy.onnx").write_bytes(b"not a model")
    (path / "critic.onnx").write_bytes(b"not a model")
    models = {n: {"file": f"{n}.onnx", "sha256": sha} for n in ("policy", "critic")}
    (path / "bundle.json").write_text(json.dumps({
        "format_version": version, "chunk_size": 4, "abstain_threshold": 0.5, "crop": {"slots": 1},
        "vocab": {"keys": [], "texts": []}, "models": models}))
    return path


@pytest.mark.x11
def test_missing_bundle(tmp_path):
    one_error_line(deskact("run", tmp_path / "nope"), "no such bundle")


@pytest.mark.x11
def test_corrupt_bundle_sha_mismatch(tmp_path):
    one_error_line(deskact("run", fake_bundle(tmp_path / "b")), "corrupt bundle", "sha256")


@pytest.mark.x11
def test_bundle_of_another_format_version(tmp_path):
    one_error_line(deskact("run", fake_bundle(tmp_path / "b", version=99)), "format version 99")


def test_no_display(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    one_error_line(deskact("run", fake_bundle(tmp_path / "b"), env=env), "no display")


def test_pure_wayland(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["WAYLAND_DISPLAY"] = "wayland-0"
    one_error_line(deskact("run", fake_bundle(tmp_path / "b"), env=env), "Wayland")


@pytest.mark.x11
def test_bad_var_and_candidates(tmp_path):
    one_error_line(deskact("run", fake_bundle(tmp_path / "b"), "--var", "novalue"), "NAME=VALUE")
    one_error_line(deskact("run", tmp_path / "b", "--candidates", "0"), "--candidates")


def test_replay_of_a_folder_that_is_no_episode(tmp_path):
    one_error_line(deskact("replay", tmp_path), "not an episode")
