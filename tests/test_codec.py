"""models.codec and models.bundle: the numpy side the runtime shares with training."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from models import codec
from models.bundle import BUNDLE_FORMAT_VERSION, BundleError, load

ACTIONS = [
    {"kind": "click", "x": 0.25, "y": 0.5, "frame": "000000.png"},
    {"kind": "type", "text": "alice"},
    {"kind": "key", "combo": "ctrl+s"},
    {"kind": "drag", "x": 0.1, "y": 0.2, "x2": 0.8, "y2": 0.9},
    {"kind": "scroll", "x": 0.5, "y": 0.5, "dx": 0, "dy": -3},
    {"kind": "scroll", "x": 0.5, "y": 0.5, "dx": 2, "dy": 0},
    {"kind": "type", "text": "héllo €"},
    {"kind": "key", "combo": "enter"},
]


def test_vocab_tables_and_tokens():
    v = codec.Vocab.build(ACTIONS)
    assert v.keys == ["ctrl+s", "enter"] and v.texts == ["alice", "héllo €"]
    assert v.tokens[:9] == list(codec.FIXED_TOKENS)
    assert v.tokens[9:] == ["key:ctrl+s", "key:enter", "type:alice", "type:héllo €"]
    assert v.start == len(v)
    assert [v.name(v.token(a)) if v.token(a) is not None else None for a in ACTIONS] == [
        "click", "type:alice", "key:ctrl+s", "drag", "scroll_down", None, "type:héllo €", "key:enter"]
    assert v.token({"kind": "key", "combo": "alt+f4"}) is None  # not in the tables
    assert codec.Vocab.from_json(json.loads(json.dumps(v.to_json()))) == v
    bad = v.to_json()
    bad["tokens"] = bad["tokens"][::-1]
    with pytest.raises(codec.CodecError):
        codec.Vocab.from_json(bad)


def test_chunk_round_trip_pads_with_done():
    v = codec.Vocab.build(ACTIONS)
    acts = [a for a in ACTIONS if v.token(a) is not None]
    toks = [v.token(a) for a in acts]
    kinds, pos = codec.encode_chunk(toks[:3], [codec.action_pos(a) for a in acts[:3]], 5)
    assert kinds.dtype == np.int64 and pos.shape == (5, 4) and pos.dtype == np.float32
    assert kinds.tolist()[3:] == [codec.DONE, codec.DONE]
    assert pos[1].tolist() == [0, 0, 0, 0]  # typing has no position
    out = codec.decode_chunk(kinds, pos, v)
    assert [a["kind"] for a in out] == ["click", "type", "key", "done"]
    assert out[0]["x"] == pytest.approx(0.25) and out[1]["text"] == "alice" and out[2]["combo"] == "ctrl+s"
    kinds, pos = codec.encode_chunk(toks[3:5], [codec.action_pos(a) for a in acts[3:5]], 2)
    drag, scroll = codec.decode_chunk(kinds, pos, v)
    assert (drag["x2"], drag["y2"]) == pytest.approx((0.8, 0.9))
    assert scroll["dy"] < 0


def test_cells_round_trip_and_nms():
    for x, y in [(0.0, 0.0), (0.123, 0.777), (0.999, 0.5), (0.5, 0.999)]:
        cell, ox, oy = codec.xy_to_cell(x, y)
        assert -0.5 <= ox <= 0.5 and -0.5 <= oy <= 0.5
        assert codec.cell_to_xy(cell, (ox, oy)) == pytest.approx((x, y), abs=1e-5)
    logits = np.zeros(codec.GRID_H * codec.GRID_W)
    logits[[0, 1, 2 * codec.GRID_W + 5]] = [5.0, 4.9, 3.0]
    assert codec.top_cells(logits, 2) == [0, 2 * codec.GRID_W + 5]  # cell 1 is next to cell 0


def test_preprocess_any_size_and_channel_orders():
    rng = np.random.default_rng(0)
    for h, w in [(800, 1280), (768, 1024), (1800, 2880)]:
        x = codec.preprocess(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        assert x.shape == (3, codec.INPUT_H, codec.INPUT_W) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
    bgra = np.zeros((10, 10, 4), np.uint8)
    bgra[..., 2] = 200  # red in BGRA
    assert codec.to_rgb(bgra, "BGRA")[0, 0].tolist() == [200, 0, 0]
    with pytest.raises(codec.CodecError):
        codec.to_rgb(np.zeros((10, 10), np.uint8))


def test_crop_is_native_resolution_and_scale_aware():
    gray = np.zeros((800, 1280), np.uint8)
    gray[395:405, 630:650] = 255  # a 20x10 logical box at the centre
    c = codec.cut_crop(gray, 640 / 1280, 400 / 800)
    assert c.shape == (codec.CROP_SIZE[1], codec.CROP_SIZE[0])
    retina = np.kron(gray, np.ones((2, 2), np.uint8))  # the same screen at pixel scale 2
    c2 = codec.cut_crop(retina, 0.5, 0.5, scale=2.0)
    assert np.abs(c - c2).max() < 0.05  # same logical window, same crop
    assert codec.cut_crop(gray, 0.0, 0.0).shape == c.shape  # at the border: padded
    assert codec.cut_crop(gray, 3.0, 3.0).shape == c.shape  # outside: no crash
    pos = np.full((3, 4), 0.5, np.float32)
    crops, index = codec.chunk_crops(gray, [(np.array([1, 9, 1]), pos), (np.array([9, 1, 9]), pos)], slots=2)
    assert crops.shape == (3, 1, codec.CROP_SIZE[1], codec.CROP_SIZE[0])  # blank + 2 pointer slots
    assert crops[0].max() == 0.0 and crops[1].max() == 1.0 and crops[2].max() == 1.0
    assert index.tolist() == [[1, 0], [0, 2]]  # slot 2 of the first chunk is beyond slots


def test_load_frame_corrupt(tmp_path):
    p = tmp_path / "f.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(codec.CodecError, match="not a readable image"):
        codec.load_frame(p)


def _fake_bundle(path, version=BUNDLE_FORMAT_VERSION):
    path.mkdir()
    meta = {"format_version": version, "chunk_size": 4, "abstain_threshold": 0.4, "crop": {"slots": 2},
            "vocab": codec.Vocab(["enter"], ["alice"]).to_json(), "models": {}, "exemplars": []}
    for name in ("policy", "critic"):
        data = f"not really {name}".encode()
        (path / f"{name}.onnx").write_bytes(data)
        meta["models"][name] = {"file": f"{name}.onnx", "sha256": hashlib.sha256(data).hexdigest()}
    (path / "bundle.json").write_text(json.dumps(meta))
    return path


def test_bundle_load_checks(tmp_path):
    b = load(_fake_bundle(tmp_path / "ok"))
    assert b.chunk_size == 4 and b.abstain_threshold == 0.4 and b.vocab.texts == ["alice"]
    with pytest.raises(BundleError, match="no such bundle folder"):
        load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="no bundle.json"):
        load(tmp_path / "empty")
    with pytest.raises(BundleError, match="format version 99 is not supported"):
        load(_fake_bundle(tmp_path / "v99", version=99))
    p = _fake_bundle(tmp_path / "tampered")
    (p / "critic.onnx").write_bytes(b"tampered")
    with pytest.raises(BundleError, match="corrupt bundle"):
        load(p)
    p = _fake_bundle(tmp_path / "nofile")
    (p / "policy.onnx").unlink()
    with pytest.raises(BundleError, match="missing model file policy.onnx"):
        load(p)
    p = _fake_bundle(tmp_path / "badjson")
    (p / "bundle.json").write_text("{")
    with pytest.raises(BundleError, match="corrupt bundle"):
        load(p)
