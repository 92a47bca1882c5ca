"""Backgrounds with no UI on them: busy raid scenes, menu backdrops, transition blacks.

Drawn at a fraction of the frame size with PIL and scaled up, which is both fast and
as soft as a game's distant geometry; `degrade` adds the camera-and-codec look.
"""
from __future__ import annotations

import colorsys
import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .style import RGB, mix


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, max(0.0, min(1.0, s)), max(0.0, min(1.0, v)))
    return int(r * 255), int(g * 255), int(b * 255)


def _vertical_gradient(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], top: RGB, bottom: RGB) -> None:
    x0, y0, x1, y1 = box
    for y in range(y0, y1):
        draw.line((x0, y, x1, y), fill=mix(top, bottom, (y - y0) / max(1, y1 - y0 - 1)))


def raid_scene(size: tuple[int, int], rng: random.Random, *, detail: float = 1.0) -> Image.Image:
    """A first-person outdoor scene: sky, ground, buildings, trees, props and a held weapon."""
    width, height = size
    sw, sh = max(64, width // 3), max(36, height // 3)
    img = Image.new("RGB", (sw, sh))
    draw = ImageDraw.Draw(img)
    light = rng.choice([0.25, 0.5, 0.75, 0.9, 1.0])  # night .. noon
    sky_h = rng.uniform(0.5, 0.65)
    horizon = int(sh * rng.uniform(0.3, 0.6))
    _vertical_gradient(draw, (0, 0, sw, horizon), _hsv(sky_h, 0.5, 0.55 * light), _hsv(sky_h, 0.2, 0.9 * light))
    ground_h = rng.choice([0.08, 0.1, 0.25, 0.3, 0.0])
    _vertical_gradient(draw, (0, horizon, sw, sh), _hsv(ground_h, 0.35, 0.5 * light), _hsv(ground_h, 0.45, 0.3 * light))
    for _ in range(int(rng.randint(3, 9) * detail)):  # buildings
        bw, bh = rng.randint(sw // 14, sw // 4), rng.randint(sh // 8, sh // 2)
        bx = rng.randint(-bw // 2, sw)
        base = horizon + rng.randint(0, sh // 10)
        wall = _hsv(rng.random(), rng.uniform(0.0, 0.3), rng.uniform(0.2, 0.6) * light)
        draw.rectangle((bx, base - bh, bx + bw, base), fill=wall)
        cols, rows = rng.randint(2, 6), rng.randint(2, 6)
        lit = rng.random() < 0.3
        for c in range(cols):
            for r in range(rows):
                wx = bx + (c + 0.3) * bw / cols
                wy = base - bh + (r + 0.3) * bh / rows
                glass = (230, 210, 140) if lit and rng.random() < 0.4 else mix(wall, (0, 0, 0), 0.5)
                draw.rectangle((wx, wy, wx + bw / cols * 0.4, wy + bh / rows * 0.4), fill=glass)
    for _ in range(int(rng.randint(4, 20) * detail)):  # trees
        tx, tb = rng.randint(0, sw), horizon + rng.randint(-sh // 20, sh // 3)
        th = rng.randint(sh // 10, sh // 2)
        leaf = _hsv(rng.uniform(0.2, 0.4), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.45) * light)
        draw.rectangle((tx - 1, tb - th // 3, tx + 1, tb), fill=(60, 45, 30))
        draw.polygon([(tx - th // 4, tb - th // 3), (tx + th // 4, tb - th // 3), (tx, tb - th)], fill=leaf)
    for _ in range(int(rng.randint(3, 14) * detail)):  # crates, rocks, vehicles
        px, py = rng.randint(0, sw), rng.randint(horizon, sh)
        ps = rng.randint(sh // 40 + 1, sh // 7 + 2)
        colour = _hsv(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.15, 0.6) * light)
        if rng.random() < 0.5:
            draw.rectangle((px, py - ps, px + ps * rng.uniform(1, 2.5), py), fill=colour, outline=mix(colour, (0, 0, 0), 0.4))
        else:
            draw.ellipse((px, py - ps, px + ps * 1.6, py), fill=colour)
    if rng.random() < 0.85:  # the held weapon, bottom right, reaching into the HUD strip
        gx, gy = sw * rng.uniform(0.5, 0.7), sh * rng.uniform(0.62, 0.78)
        metal = _hsv(rng.random(), 0.1, rng.uniform(0.08, 0.3))
        draw.polygon([(gx, gy), (gx + sw * 0.12, gy - sh * 0.02), (sw * 1.02, sh * 0.8), (sw * 1.02, sh * 1.02), (gx + sw * 0.15, sh * 1.02)], fill=metal)
        draw.rectangle((gx + sw * 0.05, gy - sh * 0.05, gx + sw * 0.12, gy - sh * 0.02), fill=mix(metal, (0, 0, 0), 0.4))
    if rng.random() < 0.4:  # fog or smoke
        fog = Image.new("RGB", (sw, sh), _hsv(sky_h, 0.1, 0.8 * light))
        img = Image.blend(img, fog, rng.uniform(0.1, 0.45))
    return img.resize(size, Image.Resampling.BILINEAR)


def menu_backdrop(size: tuple[int, int], rng: random.Random, hue: float) -> Image.Image:
    """A dark menu background: gradient, a faint pattern, a vignette; sometimes a dimmed scene."""
    width, height = size
    sw, sh = max(64, width // 4), max(36, height // 4)
    if rng.random() < 0.3:
        scene = raid_scene((sw, sh), rng, detail=0.6).filter(ImageFilter.GaussianBlur(rng.uniform(1, 4)))
        img = Image.blend(scene, Image.new("RGB", (sw, sh), _hsv(hue, 0.4, 0.05)), rng.uniform(0.45, 0.75))
    else:
        img = Image.new("RGB", (sw, sh))
        draw = ImageDraw.Draw(img)
        _vertical_gradient(draw, (0, 0, sw, sh), _hsv(hue, rng.uniform(0.2, 0.7), rng.uniform(0.08, 0.3)),
                           _hsv(hue + rng.uniform(-0.1, 0.1), rng.uniform(0.2, 0.7), rng.uniform(0.02, 0.15)))
        line = _hsv(hue, 0.3, rng.uniform(0.15, 0.35))
        pattern = rng.choice(["grid", "stripes", "dots", "none"])
        step = rng.randint(sw // 40 + 2, sw // 10 + 3)
        if pattern == "grid":
            for x in range(0, sw, step):
                draw.line((x, 0, x, sh), fill=line)
            for y in range(0, sh, step):
                draw.line((0, y, sw, y), fill=line)
        elif pattern == "stripes":
            for x in range(-sh, sw, step):
                draw.line((x, sh, x + sh, 0), fill=line)
        elif pattern == "dots":
            for x in range(0, sw, step):
                for y in range(0, sh, step):
                    draw.point((x, y), fill=line)
    arr = np.asarray(img, dtype=np.float32)
    yy, xx = np.mgrid[0:sh, 0:sw]
    dist = ((xx / sw - 0.5) ** 2 + (yy / sh - 0.5) ** 2) ** 0.5
    arr *= (1.0 - rng.uniform(0.2, 0.7) * np.clip(dist / 0.7, 0, 1))[..., None]
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)


def busy_backdrop(size: tuple[int, int], rng: random.Random, hue: float, *, muted: bool) -> Image.Image:
    """A busy menu background: overlapping shapes, bands and a grainy texture, as key art or a 3D lobby gives.

    Kept darker than the text above it (value at most ~0.5), as real menus keep their words readable.
    """
    width, height = size
    sw, sh = max(64, width // 4), max(36, height // 4)
    saturation = (0.1, 0.35) if muted else (0.3, 0.8)
    img = Image.new("RGB", (sw, sh))
    draw = ImageDraw.Draw(img, "RGBA")
    _vertical_gradient(draw, (0, 0, sw, sh), _hsv(hue, rng.uniform(*saturation), rng.uniform(0.15, 0.35)),
                       _hsv(hue + rng.uniform(-0.2, 0.2), rng.uniform(*saturation), rng.uniform(0.05, 0.2)))
    for _ in range(rng.randint(3, 7)):  # wide diagonal bands
        x, w = rng.randint(-sw, sw), rng.randint(sw // 20, sw // 5)
        colour = _hsv(hue + rng.uniform(-0.3, 0.3), rng.uniform(*saturation), rng.uniform(0.2, 0.5))
        draw.polygon([(x, sh), (x + w, sh), (x + w + sh, 0), (x + sh, 0)], fill=colour + (rng.randint(40, 110),))
    for _ in range(rng.randint(40, 120)):  # shapes of every size, some translucent
        x, y = rng.randint(-sw // 10, sw), rng.randint(-sh // 10, sh)
        r = rng.randint(2, max(3, sh // 5))
        colour = _hsv(rng.random() if not muted else hue + rng.uniform(-0.15, 0.15), rng.uniform(*saturation), rng.uniform(0.1, 0.5))
        fill = colour + (rng.randint(60, 255),)
        shape = rng.random()
        if shape < 0.35:
            draw.rectangle((x, y, x + r * rng.uniform(0.5, 3), y + r * rng.uniform(0.3, 2)), fill=fill)
        elif shape < 0.65:
            draw.ellipse((x, y, x + r, y + r), fill=fill)
        elif shape < 0.85:
            draw.polygon([(x, y), (x + r, y + rng.randint(-r, r)), (x + rng.randint(-r, r), y + r)], fill=fill)
        else:
            draw.line((x, y, x + rng.randint(-sw // 3, sw // 3), y + rng.randint(-sh // 3, sh // 3)), fill=fill, width=rng.randint(1, 3))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.2)))
    arr = np.asarray(img, dtype=np.float32)
    arr += np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(4, 14), (sh, sw, 1))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)


def transition_black(size: tuple[int, int], rng: random.Random) -> Image.Image:
    level = rng.randint(0, 25)
    return Image.new("RGB", size, (level, level, level + rng.randint(0, 6)))


def degrade(img: Image.Image, rng: random.Random, *, strength: float = 1.0) -> Image.Image:
    """Blur, sensor-ish noise and codec blocking, each sometimes, never all at full strength."""
    if rng.random() < 0.35 * strength:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.6) * strength * img.height / 1080))
    if rng.random() < 0.4 * strength:
        arr = np.asarray(img, dtype=np.int16)
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 9) * strength, arr.shape[:2])
        img = Image.fromarray((arr + noise[..., None].astype(np.int16)).clip(0, 255).astype(np.uint8))
    if rng.random() < 0.6 * strength:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(max(15, int(60 - 40 * strength)), 85))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    return img
