"""A randomised look: fonts, sizes, colours and layout habits the spec leaves open.

One `Style` is one "build" of the game's UI, drawn from a style family (families.py).
Datasets draw a fresh style per image; a demo video keeps one style for the whole
recording, as a real game does.
"""
from __future__ import annotations

import colorsys
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from PIL import ImageFont

from .families import CLASSIC, FONT_DIR, Family

RGB = tuple[int, int, int]
T = TypeVar("T")


@lru_cache(maxsize=512)
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / name), max(6, int(size)))


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    red, green, blue = (int(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return red, green, blue


@dataclass(frozen=True)
class Style:
    title_font: str
    body_font: str
    digit_font: str
    scale: float  # multiplies every font size (the hard slice goes small)
    text: RGB
    dim_text: RGB
    accent: RGB
    panel: RGB
    panel_alpha: int
    border: RGB | None
    border_width: int
    shadow: bool
    align: str  # "left" | "center" | "right"
    padding: float  # panel padding in em
    line_gap: float  # extra gap between lines in em
    corner: int  # rounded-corner radius in px; 0 = square
    hue: float  # base hue of backdrops
    outcome_hues: tuple[float, float, float]  # survived, killed, mia accents
    family: str = CLASSIC.name
    muted: bool = False
    title_place: str = "above"  # where a title sits beside its screen's key element (families.py)
    stash_align: str = "left"
    checkbox: str = "tick"
    highlight: str = "fill"
    backdrop: str = "plain"
    hud: str = "split"

    def font(self, role: str, height_px: float) -> ImageFont.FreeTypeFont:
        name = {"title": self.title_font, "digits": self.digit_font}.get(role, self.body_font)
        return load_font(name, round(height_px * self.scale))

    @property
    def dark_text(self) -> bool:
        """Dark-on-light styles: such text needs its panel, the game world behind it is dark too."""
        return 0.299 * self.text[0] + 0.587 * self.text[1] + 0.114 * self.text[2] < 128

    def outcome_accent(self, index: int) -> RGB:
        light_panel = 0.299 * self.panel[0] + 0.587 * self.panel[1] + 0.114 * self.panel[2] > 128
        if self.muted:
            return _hsv(self.outcome_hues[index], 0.5 if light_panel else 0.38, 0.38 if light_panel else 0.78)
        return _hsv(self.outcome_hues[index], 0.85 if light_panel else 0.75, 0.4 if light_panel else 0.95)


def pick(rng: random.Random, options: tuple[T, ...]) -> T:
    """`rng.choice`, except that a single option draws nothing (the classic look stays as it was)."""
    return options[0] if len(options) == 1 else rng.choice(options)


def random_style(rng: random.Random, *, hard: bool = False, family: Family = CLASSIC) -> Style:
    """`hard` makes the small, low-contrast slice; text stays readable for OCR otherwise."""
    title_font = rng.choice(family.title_fonts)
    body_font = rng.choice(family.body_fonts) if rng.random() < 0.5 else title_font
    digit_font = rng.choice(family.title_fonts) if rng.random() < 0.4 else title_font
    hue = rng.random()
    light_panel = rng.random() < 0.12
    muted = pick(rng, family.palettes) == "muted"
    if muted:
        # Greys and olive-greys, text well short of white, accents with little saturation.
        panel = _hsv(hue, rng.uniform(0.05, 0.25), rng.uniform(0.58, 0.72) if light_panel else rng.uniform(0.12, 0.26))
        text = _hsv(hue, rng.uniform(0.0, 0.15), rng.uniform(0.05, 0.15)) if light_panel else rng.choice(
            [(200, 200, 192), (190, 196, 186), (214, 206, 186), (186, 194, 204), (205, 205, 205)])
    elif light_panel:
        panel = _hsv(hue, rng.uniform(0.0, 0.2), rng.uniform(0.78, 0.95))
        text = _hsv(hue, rng.uniform(0.0, 0.3), rng.uniform(0.02, 0.18))
    else:
        panel = _hsv(hue, rng.uniform(0.0, 0.5), rng.uniform(0.03, 0.22))
        text = rng.choice([(240, 240, 240), (255, 255, 255), (232, 224, 196), (250, 240, 170), (210, 236, 240), (220, 240, 215)])
    accent = _hsv(rng.random(), rng.uniform(0.45, 0.95), rng.uniform(0.75, 1.0) if not light_panel else rng.uniform(0.35, 0.6))
    if muted:
        accent = _hsv(rng.random(), rng.uniform(0.2, 0.4), rng.uniform(0.62, 0.8) if not light_panel else rng.uniform(0.25, 0.4))
    if hard:
        # Low contrast: text pulled towards the panel, as some muted game UIs do.
        text = mix(text, panel, rng.uniform(0.3, 0.55))
        accent = mix(accent, panel, rng.uniform(0.2, 0.45))
    dim_text = mix(text, panel, rng.uniform(0.15, 0.35))
    # Real games colour their end screens consistently; mostly green / red / amber, not always.
    outcome_hues = (
        rng.uniform(0.25, 0.42) if rng.random() < 0.75 else rng.random(),
        rng.uniform(-0.04, 0.03) if rng.random() < 0.75 else rng.random(),
        rng.uniform(0.07, 0.14) if rng.random() < 0.75 else rng.random(),
    )
    return Style(
        title_font=title_font,
        body_font=body_font,
        digit_font=digit_font,
        scale=rng.uniform(0.55, 0.75) if hard else rng.uniform(0.85, 1.2),
        text=text,
        dim_text=dim_text,
        accent=accent,
        panel=panel,
        panel_alpha=rng.randint(150, 250),
        border=(accent if rng.random() < 0.6 else dim_text) if rng.random() < 0.55 else None,
        border_width=rng.randint(1, 4),
        shadow=not light_panel and rng.random() < 0.5,  # a dark drop shadow on a light panel reads as doubled text
        align=rng.choice(["left", "center", "center", "right"]),
        padding=rng.uniform(0.4, 1.2),
        line_gap=rng.uniform(0.25, 0.7),
        corner=rng.choice([0, 0, 4, 8, 14]),
        hue=hue,
        outcome_hues=outcome_hues,
        family=family.name,
        muted=muted,
        title_place=pick(rng, family.title_places),
        stash_align=pick(rng, family.stash_aligns),
        checkbox=pick(rng, family.checkboxes),
        highlight=pick(rng, family.highlights),
        backdrop=pick(rng, family.backdrops),
        hud=pick(rng, family.huds),
    )
