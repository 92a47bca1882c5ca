"""Screen painters: one function per screen of the spec, each returning the boxes it drew.

Each painter draws onto a transparent frame-sized layer (`Painter`) and returns
`{class_name: Box}` for the detector classes it shows. The box contract is in the
package docstring (`detection/render/__init__.py`). Painters take their own `rng` so
a video can repaint a screen with new digits and keep its layout: same seed, same
positions.
"""
from __future__ import annotations

import random

from .layout import Bar, Box, Button, Check, Item, Painter, Row, Table, Text, place_block
from .profile import DemoProfile
from .style import mix

Boxes = dict[str, Box]


def mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _region(p: Painter, profile: DemoProfile, name: str) -> Box:
    return Box.of_region(profile.regions[name], p.width, p.height)


def _next_button(p: Painter, rng: random.Random, label: str) -> None:
    """Clutter outside every spec region: the READY/NEXT button real menus have."""
    area = Box(round(p.width * 0.78), round(p.height * 0.86), round(p.width * 0.98), round(p.height * 0.97))
    place_block(p, [Button(label, rng.random() < 0.5)], area, rng, panel=False)


def paint_stash(p: Painter, profile: DemoProfile, rng: random.Random, *, tab: int = 0) -> Boxes:
    region = _region(p, profile, "stash_screen")
    s = p.style
    inset = round(p.width * rng.choice([0.0, 0.0, rng.uniform(0.0, 0.03)]))
    top = round(p.height * rng.uniform(0.0, 0.012))
    bar_h = round(p.height * rng.uniform(0.045, 0.078 - top / p.height))
    bar = Box(inset, top, p.width - inset, top + bar_h).clip(region)
    p.draw.rectangle((bar.x0, bar.y0, bar.x1 - 1, bar.y1 - 1), fill=s.panel + (max(200, s.panel_alpha),))
    if s.border:
        p.draw.line((bar.x0, bar.y1 - 1, bar.x1, bar.y1 - 1), fill=s.accent + (255,), width=max(2, bar_h // 20))
    title = s.font("title", bar_h * 0.5 / s.scale * rng.uniform(0.85, 1.1))
    body = s.font("body", bar_h * 0.32 / s.scale * rng.uniform(0.85, 1.15))
    x = bar.x0 + p.width * rng.uniform(0.01, 0.04)
    cap = p.text_size("H", title)[1]
    p.text(x, bar.y0 + (bar_h - cap) / 2, "STASH", title, s.text)
    x += p.text_size("STASH", title)[0] + p.width * rng.uniform(0.03, 0.12)
    gap = p.width * rng.uniform(0.02, 0.06)
    for i, name in enumerate(("CHARACTER", "TRADERS", "FLEA MARKET")):
        w, h = p.text_size(name, body)
        y = bar.y0 + (bar_h - h) / 2
        p.text(x, y, name, body, s.accent if i == tab else s.dim_text)
        if i == tab:
            p.draw.line((x, y + h + h * 0.35, x + w, y + h + h * 0.35), fill=s.accent + (255,), width=max(2, h // 8))
        x += w + gap
    _stash_grid(p, rng, bar.y1)
    return {"stash_screen": bar}


def _stash_grid(p: Painter, rng: random.Random, top: int) -> None:
    cell = int(p.height * rng.uniform(0.035, 0.06))
    x0 = int(p.width * rng.uniform(0.02, 0.5))
    y0 = top + int(p.height * rng.uniform(0.03, 0.08))
    cols = max(4, int(p.width * rng.uniform(0.3, 0.45)) // cell)
    rows = max(4, int(p.height * 0.92 - y0) // cell)
    grid = mix((40, 40, 40), (100, 100, 100), rng.random()) + (255,)
    for c in range(cols):
        for r in range(rows):
            box = (x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell - 1, y0 + (r + 1) * cell - 1)
            p.draw.rectangle(box, fill=(20, 20, 22, 160), outline=grid)
            if rng.random() < 0.35:
                tint = mix(p.style.accent, (80, 80, 80), rng.uniform(0.4, 0.9))
                p.draw.rectangle((box[0] + 3, box[1] + 3, box[2] - 3, box[3] - 3), fill=tint + (255,))


def paint_character_select(p: Painter, profile: DemoProfile, rng: random.Random, *, choice: str = "PMC") -> Boxes:
    order = ("PMC", "SCAV") if rng.random() < 0.7 else ("SCAV", "PMC")
    buttons = Row(tuple(Button(name, name == choice) for name in order), gap_em=rng.uniform(0.8, 3.0))
    lines: list[Item] = [Text("CHOOSE YOUR CHARACTER", "title"), buttons]
    box = place_block(p, lines, _region(p, profile, "character_select"), rng, panel=rng.random() < 0.8)
    _next_button(p, rng, "NEXT")
    return {"character_select": box}


def paint_map_select(p: Painter, profile: DemoProfile, rng: random.Random, *, map_name: str, pve: bool) -> Boxes:
    header = Text("SELECT LOCATION", rng.choice(["title", "body"]), rng.choice(["text", "dim", "accent"]))
    box = place_block(p, [header, Text(map_name, "big")], _region(p, profile, "map_select"), rng,
                      panel=rng.random() < 0.6, spread=0.3)
    place_block(p, [Check("PVE", pve)], _region(p, profile, "map_select_checkbox"), rng, panel=rng.random() < 0.4, spread=0.1)
    _map_list(p, profile, rng, map_name)
    _next_button(p, rng, "READY")
    return {"map_select": box}


def _map_list(p: Painter, profile: DemoProfile, rng: random.Random, current: str) -> None:
    """The list of locations down the left edge, outside the name region."""
    if rng.random() < 0.3:
        return
    area = Box(round(p.width * 0.02), round(p.height * 0.2), round(p.width * 0.22), round(p.height * 0.85))
    lines: list[Item] = [Text(name, "small", "accent" if name == current else "dim") for name in profile.maps]
    place_block(p, lines, area, rng, panel=False, align="left")


def paint_queue(p: Painter, profile: DemoProfile, rng: random.Random, *, elapsed: float, estimate: float) -> Boxes:
    lines: list[Item] = [Text("SEARCHING FOR MATCH", "title"), Text(mmss(elapsed), "digits", rng.choice(["text", "accent"])),
                         Text(f"ESTIMATED TIME: {mmss(estimate)}", "small", "dim")]
    return {"queue_timer": place_block(p, lines, _region(p, profile, "queue_timer"), rng, panel=rng.random() < 0.85, spread=0.3)}


def paint_match_found(p: Painter, profile: DemoProfile, rng: random.Random, *, countdown: int) -> Boxes:
    lines: list[Item] = [Text("MATCH FOUND", "title", rng.choice(["accent", "text"])), Text(f"DEPLOYING IN: {countdown}", "body")]
    return {"match_found": place_block(p, lines, _region(p, profile, "match_found"), rng, panel=rng.random() < 0.9, spread=0.3)}


def paint_loading(p: Painter, profile: DemoProfile, rng: random.Random, *, progress: float) -> Boxes:
    lines: list[Item] = [Text("LOADING LOCATION DATA...", rng.choice(["body", "small"])), Bar(progress, rng.uniform(10, 26))]
    if rng.random() < 0.5:
        lines.reverse()
    return {"loading_screen": place_block(p, lines, _region(p, profile, "loading_screen"), rng, panel=rng.random() < 0.4, spread=0.2)}


def paint_hud(p: Painter, profile: DemoProfile, rng: random.Random, *, hp: int, shield: int, ammo: int, capacity: int) -> Boxes:
    region = _region(p, profile, "gameplay_hud")
    left_area = Box(region.x0 + round(p.width * rng.uniform(0.0, 0.03)), region.y0, region.x0 + round(p.width * 0.4), region.y1)
    right_area = Box(region.x0 + round(p.width * 0.6), region.y0, region.x1 - round(p.width * rng.uniform(0.0, 0.03)), region.y1)
    panel = rng.random() < 0.5
    vitals: list[Item] = [Text(f"HP {hp}%", "body"), Text(f"SHIELD {shield}%", "body", rng.choice(["text", "dim", "accent"]))]
    if rng.random() < 0.35:
        vitals = [Row(tuple(vitals), gap_em=rng.uniform(1.0, 2.5))]
    left = place_block(p, vitals, left_area, rng, panel=panel, align="left", spread=0.05)
    right = place_block(p, [Text(f"{ammo}/{capacity}", "digits")], right_area, rng, panel=panel, align="right", spread=0.05)
    return {"gameplay_hud": left.union(right)}


def paint_kill(p: Painter, profile: DemoProfile, rng: random.Random, *, enemy: str, weapon: str, headshot: bool) -> Boxes:
    gap = rng.uniform(1.0, 2.0)
    victim: list[Item] = [Text(enemy, "body"), Text(weapon, "body", rng.choice(["text", "dim"]))]
    lines: list[Item] = [Text("ELIMINATED", rng.choice(["title", "body"]), rng.choice(["accent", "text", "outcome1"]))]
    tag: Item = Button("HEADSHOT", True) if rng.random() < 0.5 else Text("HEADSHOT", "small", "accent")
    if headshot and rng.random() < 0.5:
        lines.append(Row((*victim, tag), gap_em=gap))
    else:
        lines.append(Row(tuple(victim), gap_em=gap))
        if headshot:
            lines.append(tag)
    align = "right" if rng.random() < 0.6 else rng.choice(["left", "center"])
    return {"kill_notification": place_block(p, lines, _region(p, profile, "kill_notification"), rng,
                                             panel=rng.random() < 0.85, align=align, spread=0.15)}


def paint_survived(p: Painter, profile: DemoProfile, rng: random.Random, *, extract: str, time_in_raid: float) -> Boxes:
    lines: list[Item] = [Text("SURVIVED", "big", "outcome0"), Text(f"EXFILTRATED AT: {extract}", "body"),
                         Text(f"TIME IN RAID: {mmss(time_in_raid)}", "body", "dim")]
    return {"survived_screen": place_block(p, lines, _region(p, profile, "survived_screen"), rng, spread=0.4)}


def paint_death(p: Painter, profile: DemoProfile, rng: random.Random, *, killed_by: str) -> Boxes:
    lines: list[Item] = [Text("KILLED IN ACTION", "big", "outcome1"), Text(f"KILLED BY: {killed_by}", "body")]
    return {"death_screen": place_block(p, lines, _region(p, profile, "death_screen"), rng, spread=0.4)}


def paint_mia(p: Painter, profile: DemoProfile, rng: random.Random) -> Boxes:
    lines: list[Item] = [Text("MISSING IN ACTION", "big", "outcome2"), Text("FAILED TO EXTRACT IN TIME", "body")]
    return {"mia_screen": place_block(p, lines, _region(p, profile, "mia_screen"), rng, spread=0.4)}


def paint_post_raid(p: Painter, profile: DemoProfile, rng: random.Random, *, kills: list[tuple[str, str, bool]]) -> Boxes:
    rows = tuple((enemy, weapon, "HEADSHOT") if headshot else (enemy, weapon) for enemy, weapon, headshot in kills[:12])
    lines: list[Item] = [Text("RAID SUMMARY", "title"), Text("KILL LIST", "body", "accent")]
    if rows:
        lines.append(Table(rows, gap_em=rng.uniform(1.0, 3.0)))
    region = _region(p, profile, "post_raid_screen")
    return {"post_raid_screen": place_block(p, lines, region, rng, align=rng.choice(["left", "center"]), spread=0.9)}
