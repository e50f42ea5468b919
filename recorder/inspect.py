"""Human-readable views of an episode: a text summary, the recorder's fidelity report, and a
contact sheet (each action drawn on the frame it was taken from, in order)."""
from __future__ import annotations

import os
from pathlib import Path

from .episode import FILE_MODE, Episode

TILE_W = 480
COLS = 3


def describe_action(a: dict, screen: tuple[int, int]) -> str:
    w, h = screen
    k = a["kind"]
    if k in ("click", "double_click", "right_click", "middle_click"):
        mods = "+".join(a.get("mods", []))
        extra = f" x{a['count']}" if a.get("count", 1) > 2 else ""
        return f"{(mods + '+') if mods else ''}{k} at ({a['x'] * w:.0f}, {a['y'] * h:.0f}){extra}"
    if k == "drag":
        return f"drag ({a['x'] * w:.0f}, {a['y'] * h:.0f}) -> ({a['x2'] * w:.0f}, {a['y2'] * h:.0f})"
    if k == "scroll":
        parts = []
        if a.get("dy"):
            parts.append(f"{'up' if a['dy'] > 0 else 'down'} {abs(a['dy'])}")
        if a.get("dx"):
            parts.append(f"{'right' if a['dx'] > 0 else 'left'} {abs(a['dx'])}")
        return f"scroll {' '.join(parts)} at ({a['x'] * w:.0f}, {a['y'] * h:.0f})"
    if k == "key":
        return f"key {a['combo']}"
    if k == "type":
        return f"type {a['text']!r}"
    return k


def _counts(items, key="kind") -> str:
    c: dict[str, int] = {}
    for it in items:
        c[it.get(key)] = c.get(it.get(key), 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: -kv[1]))


def summary_text(ep: Episode, max_actions: int = 200) -> str:
    w, h = ep.screen_size
    meta = ep.meta
    rec = meta.get("recorder") or {}
    last_t = ep.events[-1]["t"] if ep.events else 0.0
    lines = [
        f"Episode   {ep.path}",
        f"outcome   {ep.outcome}" + (f" ({meta['outcome_reason']})" if meta.get("outcome_reason") else ""),
        f"screen    {w}x{h} logical, pixel scale {meta.get('pixel_scale', 1.0)}, {meta.get('os')}",
        f"recorded  {meta.get('started_at')} for {last_t:.1f} s"
        + ("  [CUT OFF: not closed cleanly; loaded up to the last flushed event]" if ep.truncated else ""),
        f"options   fps {rec.get('fps')}, redact typing {'yes' if rec.get('redact_typing') else 'no'}, "
        f"excluded regions {len(rec.get('exclude_regions') or [])}",
        f"events    {len(ep.events)}" + (f" ({_counts(ep.events)})" if ep.events else ""),
        f"actions   {len(ep.actions)}" + (f" ({_counts(ep.actions)})" if ep.actions else ""),
        f"frames    {len(ep.frames)}; actions without a frame: {sum(1 for a in ep.actions if not a.get('frame'))}",
    ]
    for a in ep.actions[:max_actions]:
        lines.append(f"  {a['i']:>3}  {a['t']:7.2f}s  {describe_action(a, (w, h))}")
    if len(ep.actions) > max_actions:
        lines.append(f"  ... {len(ep.actions) - max_actions} more")
    return "\n".join(lines)


def fidelity_report(summary: dict) -> str:
    """The recorder's end-of-recording report (summary from Recorder.stop)."""
    ev = summary.get("events_by_kind", {})
    lines = [
        f"Episode   {summary['path']}",
        f"outcome   {summary.get('outcome', 'unknown')}",
        f"duration  {summary['duration']:.1f} s",
        f"events    {summary['events']} (" + ", ".join(f"{k} {v}" for k, v in ev.items()) + ")",
        f"actions   {summary['actions']} ("
        + ", ".join(f"{k} {v}" for k, v in summary.get("actions_by_kind", {}).items()) + ")",
        f"frames    {summary['frames']} saved of {summary['frames_grabbed']} captured "
        f"({summary['capture_fps']} fps)",
        f"dropped   {summary['dropped_events']} events; {summary['actions_without_frame']} actions without a "
        f"frame; {summary['frame_write_errors']} frame write errors",
        f"size      {summary['bytes'] / 1e6:.2f} MB",
    ]
    if summary.get("frames_skipped_backlog"):
        lines.append(f"skipped   {summary['frames_skipped_backlog']} frames: the PNG writer fell behind "
                     "(those actions use an earlier frame)")
    if summary.get("paused_events"):
        lines.append(f"paused    {summary['paused_events']} events while paused (not recorded)")
    if summary.get("last_error"):
        lines.append(f"error     {summary['last_error']}")
    return "\n".join(lines)


def _font(size: int):
    from PIL import ImageFont

    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/System/Library/Fonts/Helvetica.ttc",
                 "/Library/Fonts/Arial.ttf"):
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def contact_sheet(ep: Episode, out_path, max_tiles: int = 60, cols: int = COLS, tile_w: int = TILE_W) -> Path:
    """One tile per action (up to max_tiles): the frame before it, scaled, with the action drawn
    (red: left button, blue: right, green arrow: drag, orange: scroll, text box: keys and text)."""
    from PIL import Image, ImageDraw

    w, h = ep.screen_size
    tile_h = round(tile_w * h / w)
    cap_h = 24
    actions = ep.actions[:max_tiles]
    rows = max(1, (len(actions) + cols - 1) // cols)
    head_h = 54
    sheet = Image.new("RGB", (cols * tile_w + (cols + 1) * 8, head_h + rows * (tile_h + cap_h + 8) + 8),
                      (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    f_big, f, f_small = _font(18), _font(14), _font(13)
    draw.text((8, 6), f"{ep.path}", fill=(255, 255, 255), font=f_big)
    sub = (f"outcome {ep.outcome}   {len(ep.actions)} actions   {len(ep.events)} events   "
           f"{len(ep.frames)} frames   screen {w}x{h}" + ("   CUT OFF" if ep.truncated else ""))
    if len(ep.actions) > max_tiles:
        sub += f"   (first {max_tiles} actions shown)"
    draw.text((8, 30), sub, fill=(200, 200, 200), font=f)
    sx, sy = tile_w / w, tile_h / h
    cache: dict[str, Image.Image] = {}
    for n, a in enumerate(actions):
        col, row = n % cols, n // cols
        ox = 8 + col * (tile_w + 8)
        oy = head_h + row * (tile_h + cap_h + 8)
        draw.text((ox, oy + 3), f"#{a['i']}  {a['t']:.2f}s  {describe_action(a, (w, h))}"[:64],
                  fill=(255, 255, 255), font=f_small)
        oy += cap_h
        name = a.get("frame")
        full = None
        if name and name in ep.frames:
            if name not in cache:
                if len(cache) > 8:
                    cache.pop(next(iter(cache)))
                with Image.open(ep.frame_path(name)) as im:
                    full = im.convert("RGB")
                cache[name] = (full, full.resize((tile_w, tile_h), Image.BILINEAR))
            full, small = cache[name]
            sheet.paste(small, (ox, oy))
        else:
            draw.rectangle([ox, oy, ox + tile_w - 1, oy + tile_h - 1], fill=(90, 0, 0))
            draw.text((ox + 10, oy + 10), "no frame", fill=(255, 255, 255), font=f)
        _draw_action(draw, a, ox, oy, tile_w, tile_h, f)
        if full is not None and "x" in a:
            _inset(sheet, draw, full, a, ox, oy, tile_w, tile_h, ep.meta.get("pixel_scale", 1.0) or 1.0, (w, h))
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        sheet.save(fh, "PNG", optimize=False, compress_level=6)
    os.replace(tmp, out_path)
    return out_path


def _inset(sheet, draw, full, a: dict, ox: int, oy: int, tw: int, th: int, scale: float, screen) -> None:
    """A native-resolution zoom of what the pointer action is aimed at, in the tile corner
    away from it: what a person checks first ("did it click the right button?")."""
    from PIL import Image

    iw, ih = tw * 3 // 8, th * 3 // 8
    cw, ch = round(iw * scale / 1.5), round(ih * scale / 1.5)  # 1.5x zoom of logical pixels
    px, py = a["x"] * screen[0] * scale, a["y"] * screen[1] * scale
    left = int(min(max(0, px - cw / 2), max(0, full.width - cw)))
    top = int(min(max(0, py - ch / 2), max(0, full.height - ch)))
    crop = full.crop((left, top, left + cw, top + ch)).resize((iw, ih), Image.LANCZOS)
    ix = ox + 4 if a["x"] > 0.5 else ox + tw - iw - 4
    iy = oy + th - ih - 4 if a["y"] < 0.5 else oy + 4
    sheet.paste(crop, (ix, iy))
    draw.rectangle([ix - 1, iy - 1, ix + iw, iy + ih], outline=(255, 255, 255), width=2)
    cx, cy = ix + (px - left) * iw / cw, iy + (py - top) * ih / ch
    colour = {"right_click": (40, 120, 255), "middle_click": (200, 0, 200), "scroll": (255, 150, 0),
              "drag": (0, 200, 0)}.get(a["kind"], (255, 30, 30))
    draw.ellipse([cx - 16, cy - 16, cx + 16, cy + 16], outline=colour, width=2)


def _draw_action(draw, a: dict, ox: int, oy: int, tw: int, th: int, font) -> None:
    k = a["kind"]

    def pt(nx, ny):
        return ox + nx * tw, oy + ny * th

    if "x" in a:
        x, y = pt(a["x"], a["y"])
        colour = {"right_click": (40, 120, 255), "middle_click": (200, 0, 200), "scroll": (255, 150, 0),
                  "drag": (0, 200, 0)}.get(k, (255, 30, 30))
        for r in ([9, 15] if k == "double_click" else [11]):  # white halo: visible on any screen
            draw.ellipse([x - r - 1, y - r - 1, x + r + 1, y + r + 1], outline=(255, 255, 255), width=5)
            draw.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=3)
        draw.line([x - 4, y, x + 4, y], fill=colour, width=2)
        draw.line([x, y - 4, x, y + 4], fill=colour, width=2)
        if k == "drag":
            x2, y2 = pt(a["x2"], a["y2"])
            _arrow(draw, (x, y), (x2, y2), colour)
        elif k == "scroll":
            length = 14 + 6 * min(5, abs(a.get("dy") or a.get("dx") or 1))
            dy = -1 if (a.get("dy") or 0) > 0 else 1
            dx = (1 if (a.get("dx") or 0) > 0 else -1) if a.get("dx") and not a.get("dy") else 0
            _arrow(draw, (x, y), (x + dx * length, y + (dy * length if not dx else 0)), colour)
    if k in ("key", "type"):
        label = f"⌨ {a['combo']}" if k == "key" else f"type: {a['text']}"
        label = label if len(label) < 48 else label[:45] + "..."
        try:
            bbox = draw.textbbox((0, 0), label, font=font)
        except Exception:
            bbox = (0, 0, 8 * len(label), 16)
        bw, bh = bbox[2] - bbox[0] + 12, bbox[3] - bbox[1] + 10
        x0, y0 = ox + 8, oy + th - bh - 8
        draw.rectangle([x0, y0, x0 + bw, y0 + bh], fill=(255, 255, 160), outline=(0, 0, 0), width=2)
        draw.text((x0 + 6, y0 + 3), label, fill=(0, 0, 0), font=font)


def _arrow(draw, p0, p1, colour) -> None:
    import math

    ang = math.atan2(p1[1] - p0[1], p1[0] - p0[0])
    heads = [(p1[0] + 10 * math.cos(ang + d), p1[1] + 10 * math.sin(ang + d)) for d in (2.6, -2.6)]
    for fill, width in (((255, 255, 255), 6), (colour, 3)):  # halo, then the arrow
        draw.line([p0, p1], fill=fill, width=width)
        for h in heads:
            draw.line([p1, h], fill=fill, width=width)
