"""Drawing on a transparent RGBA layer, and a tiny layout engine for UI panels.

Screens are declared as stacked lines of items (text, buttons, bars, checkboxes,
tables); `place_block` measures them at the style's sizes, shrinks until the group
fits its spec region, puts it at a random spot inside that region and returns the
tight box it painted. Text is drawn cap-height aligned because every string in the
game is upper case.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Union

from PIL import Image, ImageDraw, ImageFont

from .style import RGB, Style, mix

# Font heights as fractions of the frame height, before the style's scale.
ROLE_HEIGHT = {"big": 0.07, "title": 0.045, "digits": 0.05, "body": 0.03, "small": 0.022}


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def clip(self, other: Box) -> Box:
        return Box(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))

    def grow(self, px: int) -> Box:
        return Box(self.x0 - px, self.y0 - px, self.x1 + px, self.y1 + px)

    @classmethod
    def of_region(cls, region: tuple[float, float, float, float], width: int, height: int) -> Box:
        x0, y0, x1, y1 = region
        return cls(round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height))


@dataclass(frozen=True)
class Text:
    text: str
    role: str = "body"
    colour: str = "text"


@dataclass(frozen=True)
class Button:
    text: str
    filled: bool


@dataclass(frozen=True)
class Bar:
    progress: float
    width_em: float = 12.0


@dataclass(frozen=True)
class Check:
    label: str
    ticked: bool


@dataclass(frozen=True)
class Row:
    items: tuple[Item, ...]
    gap_em: float = 1.0


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]
    gap_em: float = 1.5


Item = Union[Text, Button, Bar, Check, Row, Table]


class Painter:
    """A transparent frame-sized layer plus the style that decides how things look on it."""

    def __init__(self, size: tuple[int, int], style: Style) -> None:
        self.width, self.height = size
        self.style = style
        self.layer = Image.new("RGBA", size, (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.layer)
        self.k = 1.0  # the fit loop's shrink factor

    def font(self, role: str) -> ImageFont.FreeTypeFont:
        return self.style.font(role if role in ("title", "digits") else "body", ROLE_HEIGHT[role] * self.height * self.k)

    @property
    def em(self) -> float:
        return ROLE_HEIGHT["body"] * self.height * self.k * self.style.scale

    def colour(self, name: str) -> RGB:
        s = self.style
        if name.startswith("outcome"):
            return s.outcome_accent(int(name[-1]))
        return {"text": s.text, "dim": s.dim_text, "accent": s.accent, "panel": s.panel}[name]

    # -- primitives --------------------------------------------------------------
    def text_size(self, text: str, font: ImageFont.FreeTypeFont) -> tuple[int, int]:
        left, _, right, _ = font.getbbox(text)
        _, top, _, bottom = font.getbbox("H")
        return round(right - left), round(bottom - top)

    def text(self, x: float, y: float, text: str, font: ImageFont.FreeTypeFont, fill: RGB) -> Box:
        left = font.getbbox(text)[0]
        top = font.getbbox("H")[1]
        origin = (x - left, y - top)
        if self.style.shadow:
            off = max(1, round(font.size / 18))
            self.draw.text((origin[0] + off, origin[1] + off), text, font=font, fill=(0, 0, 0, 170))
        self.draw.text(origin, text, font=font, fill=fill + (255,))
        return Box(*(round(v) for v in self.draw.textbbox(origin, text, font=font)))

    def panel(self, box: Box, *, fill: RGB | None = None, alpha: int | None = None, border: bool = True) -> None:
        s = self.style
        rgba = (fill or s.panel) + (alpha if alpha is not None else s.panel_alpha,)
        outline = s.border + (255,) if border and s.border else None
        self.draw.rounded_rectangle(
            (box.x0, box.y0, box.x1 - 1, box.y1 - 1), radius=s.corner, fill=rgba, outline=outline,
            width=s.border_width if outline else 0,
        )

    # -- items -------------------------------------------------------------------
    def measure(self, item: Item) -> tuple[int, int]:
        em = self.em
        if isinstance(item, Text):
            return self.text_size(item.text, self.font(item.role))
        if isinstance(item, Button):
            w, h = self.text_size(item.text, self.font("body"))
            return round(w + 1.6 * em), round(h + 1.0 * em)
        if isinstance(item, Bar):
            return round(item.width_em * em), max(4, round(0.45 * em))
        if isinstance(item, Check):
            w, h = self.text_size(item.label, self.font("body"))
            side = round(h * 1.4)
            return round(side * (1.8 if self.style.checkbox == "toggle" else 1.0) + 0.5 * em + w), side
        if isinstance(item, Row):
            sizes = [self.measure(i) for i in item.items]
            return round(sum(w for w, _ in sizes) + item.gap_em * em * (len(sizes) - 1)), max(h for _, h in sizes)
        widths, line_h = self._table_columns(item)
        return round(sum(widths) + item.gap_em * em * (len(widths) - 1)), round(len(item.rows) * line_h * 1.6)

    def _button_look(self, chosen: bool) -> tuple[RGB, int, RGB, int, RGB]:
        """(fill, fill alpha, outline, outline width, ink) of a button, chosen or not, in the style's habit."""
        s = self.style
        line = max(2, s.border_width)
        if s.highlight == "outline":  # same fill for both; the chosen one has a thick accent frame and accent words
            return s.panel, max(200, s.panel_alpha), s.accent if chosen else mix(s.dim_text, s.panel, 0.5), line * (3 if chosen else 1), (
                s.accent if chosen else s.dim_text)
        if s.highlight == "bright":  # the chosen one lit up, the other one plain panel with dim words; no accent
            lit = mix(s.panel, (255, 255, 255), 0.45 if s.dark_text else 0.3)
            if chosen:
                return lit, 255, mix(lit, (255, 255, 255), 0.3), line, _contrasting(lit)
            return s.panel, max(200, s.panel_alpha), s.panel, line, s.dim_text
        fill = s.accent if chosen else s.panel
        outline = mix(s.accent, (255, 255, 255), 0.4) if chosen else s.accent
        return fill, 255 if chosen else s.panel_alpha, outline, line, _contrasting(s.accent) if chosen else s.dim_text

    def _checkbox(self, box: Box, x: float, y: float, ticked: bool) -> None:
        s, side = self.style, box.h
        self.draw.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=s.panel + (255,), outline=s.text + (255,), width=max(2, side // 10))
        if not ticked:
            return
        if s.checkbox == "cross":
            for a, b in (((0.22, 0.22), (0.78, 0.78)), ((0.22, 0.78), (0.78, 0.22))):
                self.draw.line((x + side * a[0], y + side * a[1], x + side * b[0], y + side * b[1]), fill=s.accent + (255,), width=max(2, side // 7))
        elif s.checkbox == "fill":
            inset = max(1, round(side * 0.24))
            if side - 1 - 2 * inset > 0:
                self.draw.rectangle((box.x0 + inset, box.y0 + inset, box.x1 - 1 - inset, box.y1 - 1 - inset), fill=s.accent + (255,))
        else:
            pts = [(x + side * 0.2, y + side * 0.5), (x + side * 0.42, y + side * 0.75), (x + side * 0.82, y + side * 0.22)]
            self.draw.line(pts, fill=s.accent + (255,), width=max(2, side // 6), joint="curve")

    def _toggle(self, box: Box, on: bool) -> None:
        s = self.style
        radius = box.h // 2
        track = s.accent if on else mix(s.panel, (0, 0, 0), 0.2)
        self.draw.rounded_rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), radius=radius, fill=track + (255,),
                                    outline=(s.accent if on else s.dim_text) + (255,), width=max(2, box.h // 12))
        pad = max(1, box.h // 7)
        knob = max(1, box.h - 2 * pad)
        knob_x = box.x1 - pad - knob if on else box.x0 + pad
        self.draw.ellipse((knob_x, box.y0 + pad, knob_x + knob, box.y0 + pad + knob), fill=s.text + (255,))

    def _table_columns(self, table: Table) -> tuple[list[int], int]:
        font = self.font("small")
        columns = max(len(r) for r in table.rows) if table.rows else 1
        widths = [0] * columns
        for row in table.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], self.text_size(cell, font)[0])
        return widths, self.text_size("H", font)[1]

    def paint(self, item: Item, x: float, y: float) -> Box:
        s, em = self.style, self.em
        w, h = self.measure(item)
        if isinstance(item, Text):
            return self.text(x, y, item.text, self.font(item.role), self.colour(item.colour))
        if isinstance(item, Button):
            box = Box(round(x), round(y), round(x + w), round(y + h))
            fill, fill_alpha, outline, line, ink = self._button_look(item.filled)
            self.draw.rounded_rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), radius=s.corner, fill=fill + (fill_alpha,),
                                        outline=outline + (255,), width=line)
            tw, th = self.text_size(item.text, self.font("body"))
            self.text(x + (w - tw) / 2, y + (h - th) / 2, item.text, self.font("body"), ink)
            return box
        if isinstance(item, Bar):
            box = Box(round(x), round(y), round(x + w), round(y + h))
            self.draw.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=mix(s.panel, s.dim_text, 0.25) + (255,), outline=s.dim_text + (255,))
            done = round(box.x0 + (w - 2) * max(0.0, min(1.0, item.progress)))
            if done > box.x0 + 1:
                self.draw.rectangle((box.x0 + 1, box.y0 + 1, done, box.y1 - 2), fill=s.accent + (255,))
            return box
        if isinstance(item, Check):
            side = h
            box = Box(round(x), round(y), round(x + side), round(y + side))
            if s.checkbox == "toggle":  # a switch: knob right on an accent track = ticked, knob left on an empty one
                box = Box(round(x), round(y), round(x + side * 1.8), round(y + side))
                self._toggle(box, item.ticked)
            else:
                self._checkbox(box, x, y, item.ticked)
            label = self.text(x + side * (1.8 if s.checkbox == "toggle" else 1.0) + 0.5 * em, y + (side - self.text_size("H", self.font("body"))[1]) / 2, item.label, self.font("body"), s.text)
            return box.union(label)
        if isinstance(item, Row):
            group: Box | None = None
            cx = x
            for child in item.items:
                cw, ch = self.measure(child)
                painted = self.paint(child, cx, y + (h - ch) / 2)
                group = painted if group is None else group.union(painted)
                cx += cw + item.gap_em * em
            assert group is not None
            return group
        widths, line_h = self._table_columns(item)
        box = Box(round(x), round(y), round(x + w), round(y + h))
        font = self.font("small")
        for r, row in enumerate(item.rows):
            cx = x
            for c, cell in enumerate(row):
                colour = s.accent if cell == "HEADSHOT" else s.text
                box = box.union(self.text(cx, y + r * line_h * 1.6, cell, font, colour))
                cx += widths[c] + item.gap_em * em
        return box


def _contrasting(colour: RGB) -> RGB:
    luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    return (15, 15, 15) if luma > 140 else (245, 245, 245)


def place_block(
    painter: Painter,
    lines: list[Item],
    region: Box,
    rng: random.Random,
    *,
    panel: bool = True,
    align: str | None = None,
    spread: float = 0.5,
) -> Box:
    """Paint `lines` stacked in a panel somewhere inside `region`; return the panel's (or ink's) tight box.

    `spread` is how much of the spare room the panel may grow into (0 = hug the text).
    """
    s = painter.style
    align = align or s.align
    panel = panel or s.dark_text
    painter.k = 1.0
    while True:
        sizes = [painter.measure(line) for line in lines]
        gap = s.line_gap * painter.em
        pad = s.padding * painter.em if panel else 0.0
        content_w = max(w for w, _ in sizes)
        content_h = sum(h for _, h in sizes) + gap * (len(sizes) - 1)
        if (content_w + 2 * pad <= region.w * 0.97 and content_h + 2 * pad <= region.h * 0.97) or painter.k < 0.2:
            break
        painter.k *= 0.9
    panel_w = content_w + 2 * pad + rng.uniform(0, spread) * max(0.0, region.w * 0.97 - content_w - 2 * pad)
    panel_h = content_h + 2 * pad + rng.uniform(0, spread * 0.6) * max(0.0, region.h * 0.97 - content_h - 2 * pad)
    x0 = region.x0 + rng.uniform(0.015, 0.985) * (region.w - panel_w)
    y0 = region.y0 + rng.uniform(0.015, 0.985) * (region.h - panel_h)
    outer = Box(round(x0), round(y0), round(x0 + panel_w), round(y0 + panel_h))
    if panel:
        painter.panel(outer)
    inner_w = panel_w - 2 * pad
    y = y0 + pad + (panel_h - 2 * pad - content_h) / 2
    ink: Box | None = None
    for line, (w, h) in zip(lines, sizes):
        offset = {"left": 0.0, "center": (inner_w - w) / 2, "right": inner_w - w}[align]
        box = painter.paint(line, x0 + pad + offset, y)
        ink = box if ink is None else ink.union(box)
        y += h + gap
    assert ink is not None
    painter.k = 1.0
    return (outer if panel else ink).clip(region)
