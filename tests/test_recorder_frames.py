"""Frames on a HiDPI-like screen (pixel scale 2): exclusion regions are given in logical pixels
and must black out the matching frame pixels; the contact sheet must zoom on the right spot."""
import json
import os
import stat
import time

from PIL import Image

from recorder.episode import Episode, create_episode_dir, new_meta, write_json_atomic
from recorder.frames import Frame, FrameWriter
from recorder.inspect import COLS, TILE_W, contact_sheet

W, H, SCALE = 320, 200, 2.0  # logical screen; frames are 640x400


def bgra(img: Image.Image) -> bytearray:
    r, g, b = img.split()
    return bytearray(Image.merge("RGBA", (b, g, r, Image.new("L", img.size, 255))).tobytes())


def test_writer_blacks_out_logical_regions_at_pixel_scale_and_stores_identical_frames_once(tmp_path):
    ep = create_episode_dir(tmp_path / "ep")
    img = Image.new("RGB", (int(W * SCALE), int(H * SCALE)), (200, 200, 200))
    raw = bgra(img)
    t0 = time.monotonic()
    writer = FrameWriter(ep, t0, exclude_regions=[(10, 10, 20, 20)], scale=SCALE)
    writer.submit(Frame(1, t0 + 0.1, raw, img.width, img.height))
    writer.submit(Frame(2, t0 + 0.2, bytearray(raw), img.width, img.height))  # same picture
    writer.submit(Frame(2, t0 + 0.2, raw, img.width, img.height))  # same grab again: ignored
    writer.close()
    assert writer.skipped_same == 1 and list(writer.written) == ["000001.png"]
    rows = [json.loads(line) for line in (ep / "frames.jsonl").read_text().splitlines()]
    assert rows == [{"file": "000001.png", "t": 0.1, "w": 640, "h": 400}]
    with Image.open(ep / "frames" / "000001.png") as png:
        assert png.size == (640, 400)
        assert png.convert("RGB").crop((20, 20, 60, 60)).getextrema() == ((0, 0), (0, 0), (0, 0))
        assert png.getpixel((61, 30))[:3] == (200, 200, 200) and png.getpixel((19, 19))[:3] == (200, 200, 200)
    assert stat.S_IMODE(os.stat(ep / "frames" / "000001.png").st_mode) == 0o600


def test_contact_sheet_zooms_on_the_clicked_spot_at_pixel_scale_2(tmp_path):
    path = create_episode_dir(tmp_path / "retina")
    frame = Image.new("RGB", (int(W * SCALE), int(H * SCALE)), (230, 230, 230))
    # the target: logical (80..120, 60..90) = frame pixels (160..240, 120..180)
    frame.paste((220, 0, 0), (160, 120, 240, 180))
    frame.save(path / "frames" / "000001.png")
    (path / "frames.jsonl").write_text(json.dumps({"file": "000001.png", "t": 0.5}) + "\n")
    meta = new_meta(W, H, SCALE)
    meta["ended_at"] = "now"
    write_json_atomic(path / "meta.json", meta)
    action = {"i": 0, "t": 1.0, "t_end": 1.1, "kind": "click", "button": "left", "count": 1,
              "x": 100 / W, "y": 75 / H, "frame": "000001.png"}
    (path / "actions.jsonl").write_text(json.dumps(action) + "\n")
    ep = Episode.load(path)
    sheet_path = contact_sheet(ep, tmp_path / "sheet.png")
    with Image.open(sheet_path) as sheet:
        sheet = sheet.convert("RGB")
        assert sheet.width == COLS * TILE_W + (COLS + 1) * 8
        # the zoom inset sits in the tile corner away from the click (bottom right here); its
        # centre shows the target at native resolution
        tw, th = TILE_W, round(TILE_W * H / W)
        ox, oy = 8, 54 + 24
        iw, ih = tw * 3 // 8, th * 3 // 8
        ix, iy = ox + tw - iw - 4, oy + th - ih - 4
        assert sheet.getpixel((ix + iw // 2, iy + ih // 2)) == (220, 0, 0)
        # at 1.5x zoom the 80 px (40 logical) target is 60 px wide in the inset
        row = [sheet.getpixel((x, iy + ih // 2)) == (220, 0, 0) for x in range(ix, ix + iw)]
        assert 50 <= sum(row) <= 70
