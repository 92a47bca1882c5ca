"""Synthetic test material: OpenCV-drawn screens, videos made of them, and a tiny ONNX "detector".

Each screen class has a key colour painted in a strip at the left edge; a kill notification
carries its own key colour in its right part. The ONNX graph classifies the mean colour of
those two patches, so it behaves like a trained model on these frames: the pipeline's real
onnxruntime path (letterbox, batch, decode, NMS) runs unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from detection.pipeline.profile import GameProfile, load_profile

PROFILE = load_profile("demo")
IMAGE_SIZE = 64
SIGMA = 0.12
# BGR key colours, far apart from each other (distance > 0.4 in 0..1 units).
KEYS: dict[str, tuple[int, int, int]] = {
    "stash_screen": (40, 40, 200),
    "character_select": (40, 200, 40),
    "map_select": (200, 40, 40),
    "queue_timer": (40, 200, 200),
    "match_found": (200, 40, 200),
    "loading_screen": (200, 200, 40),
    "gameplay_hud": (120, 120, 120),
    "survived_screen": (230, 230, 230),
    "death_screen": (20, 20, 20),
    "mia_screen": (40, 120, 230),
    "post_raid_screen": (230, 120, 40),
}
KILL_KEY = (120, 230, 120)
KEY_STRIP = (0.0, 0.3, 0.06, 0.7)
KILL_BOX = (0.55, 0.05, 0.98, 0.30)
KILL_PATCH = (0.88, 0.08, 0.97, 0.27)


@dataclass(frozen=True)
class Shot:
    """`seconds` of one screen; `kill` draws a notification (enemy, weapon, headshot) over it."""

    screen: str
    seconds: float
    kill: tuple[str, str, bool] | None = None
    lines: tuple[str, ...] = ()
    tick: bool | None = None
    chosen: str | None = None
    key: str | None = None  # the class whose key colour is painted (default: the screen's); "" paints none


@dataclass
class Script:
    shots: list[Shot] = field(default_factory=list)

    def add(self, screen: str, seconds: float, **extra: object) -> Script:
        self.shots.append(Shot(screen, seconds, **extra))  # type: ignore[arg-type]
        return self


def _px(region: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = region
    return int(x0 * width), int(y0 * height), int(x1 * width), int(y1 * height)


def draw(shot: Shot, width: int = 640, height: int = 360) -> np.ndarray:
    image = np.full((height, width, 3), 60, dtype=np.uint8)
    x0, y0, x1, y1 = _px(KEY_STRIP, width, height)
    key = shot.screen if shot.key is None else shot.key
    if key:
        image[y0:y1, x0:x1] = KEYS[key]
    scale = height / 360
    words = PROFILE.keywords.get(shot.screen, ())
    if words and not shot.lines:
        # The screen's fixed words inside its region, as the game shows them (the pipeline checks them).
        rx0, ry0, rx1, ry1 = _px(PROFILE.regions[shot.screen].to_json(), width, height)  # type: ignore[arg-type]
        y = ry0 + min(ry1 - ry0, int(60 * scale)) * 3 // 4
        cv2.putText(image, words[0], (rx0 + int(8 * scale), y), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale,
                    (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)
    for i, text in enumerate(shot.lines):
        cv2.putText(image, text, (int(0.3 * width), int((0.36 + 0.08 * i) * height)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.8 * scale, (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)
    if shot.tick is not None:
        bx0, by0, bx1, by1 = _px((0.44, 0.72, 0.47, 0.77), width, height)
        side = by1 - by0
        cv2.rectangle(image, (bx0, by0), (bx0 + side, by1), (255, 255, 255), 2)
        if shot.tick:
            cv2.line(image, (bx0 + side // 5, by0 + side // 2), (bx0 + side // 2, by1 - side // 5), (0, 200, 255), 3)
            cv2.line(image, (bx0 + side // 2, by1 - side // 5), (bx0 + side - 2, by0 + 3), (0, 200, 255), 3)
        cv2.putText(image, "PVE", (bx0 + side + int(10 * scale), by1 - 2), cv2.FONT_HERSHEY_SIMPLEX,
                    0.7 * scale, (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)
    if shot.chosen is not None:
        for i, label in enumerate(("PMC", "SCAV")):
            left = int((0.32 + 0.2 * i) * width)
            top, bottom = int(0.5 * height), int(0.6 * height)
            fill = (0, 160, 255) if label == shot.chosen else (60, 60, 60)
            cv2.rectangle(image, (left, top), (left + int(0.14 * width), bottom), fill, -1)
            cv2.putText(image, label, (left + int(0.02 * width), bottom - int(0.025 * height)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.7 * scale, (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)
    if shot.kill is not None:
        enemy, weapon, headshot = shot.kill
        kx0, ky0, kx1, ky1 = _px(KILL_BOX, width, height)
        cv2.rectangle(image, (kx0, ky0), (kx1, ky1), (30, 30, 30), -1)
        px0, py0, px1, py1 = _px(KILL_PATCH, width, height)
        image[py0:py1, px0:px1] = KILL_KEY
        texts = ["ELIMINATED", f"{enemy}  {weapon}"] + (["HEADSHOT"] if headshot else [])
        for i, text in enumerate(texts):
            cv2.putText(image, text, (kx0 + int(8 * scale), ky0 + int((22 + 24 * i) * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.55 * scale, (255, 255, 255), max(1, int(scale)), cv2.LINE_AA)
    return image


def write_video(script: Script, path: Path, *, fps: int = 30, width: int = 640, height: int = 360,
                vfr: bool = False, creation_time: str | None = None, bframes: int = 0) -> Path:
    """H.264 in MKV; with `vfr`, frame gaps alternate between 1 and 3 frame periods (PTS in ms);
    `bframes` B-frames between reference frames, the middle one a reference (b-pyramid), as OBS writes."""
    container = av.open(str(path), mode="w")
    if creation_time:
        container.metadata["creation_time"] = creation_time
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"preset": "ultrafast", "g": str(fps)}
    if bframes:
        stream.options = {**stream.options, "x264-params": f"bframes={bframes}:b-pyramid=normal:b-adapt=0"}
    stream.codec_context.time_base = Fraction(1, 1000)
    t = 0.0
    step = 1.0 / fps
    index = 0
    for shot in script.shots:
        image = draw(shot, width, height)
        end = t + shot.seconds
        while t < end - 1e-9:
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = int(round(t * 1000))
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
            index += 1
            t += step * (1 if not vfr or index % 2 else 3)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def build_model(path: Path, profile: GameProfile = PROFILE, *, classes: list[str] | None = None) -> Path:
    """An ONNX graph with the ultralytics export's interface that recognises the key colours."""
    names = classes or list(profile.classes)
    count = len(names)
    size = IMAGE_SIZE
    pad = (size - size * 9 / 16) / 2
    scale = size / 16 * 9 / size

    def patch(region: tuple[float, float, float, float]) -> tuple[list[int], list[int]]:
        x0, y0, x1, y1 = region
        ys = [int(pad + y0 * size * scale) + 1, int(pad + y1 * size * scale) - 1]
        xs = [int(x0 * size) + 1, max(int(x0 * size) + 2, int(x1 * size) - 1)]
        return [0, 0, ys[0], xs[0]], [2**31 - 1, 3, ys[1], xs[1]]

    palette = np.full((count, 3), 5.0, dtype=np.float32)
    kill_palette = np.full((count, 3), 5.0, dtype=np.float32)
    for i, name in enumerate(names):
        if name in KEYS:
            palette[i] = np.array(KEYS[name][::-1], dtype=np.float32) / 255.0  # RGB input
        if name == "kill_notification":
            kill_palette[i] = np.array(KILL_KEY[::-1], dtype=np.float32) / 255.0
    boxes = np.zeros((1, 4, count), dtype=np.float32)
    for i, name in enumerate(names):
        x0, y0, x1, y1 = profile.regions.get(name, profile.regions["post_raid_screen"]).to_json()
        boxes[0, :, i] = [(x0 + x1) / 2 * size, pad + (y0 + y1) / 2 * size * scale, (x1 - x0) * size, (y1 - y0) * size * scale]
    s_start, s_end = patch(KEY_STRIP)
    k_start, k_end = patch(KILL_PATCH)
    init = [
        numpy_helper.from_array(np.array(s_start, np.int64), "s_start"),
        numpy_helper.from_array(np.array(s_end, np.int64), "s_end"),
        numpy_helper.from_array(np.array(k_start, np.int64), "k_start"),
        numpy_helper.from_array(np.array(k_end, np.int64), "k_end"),
        numpy_helper.from_array(palette[None], "palette"),
        numpy_helper.from_array(kill_palette[None], "kill_palette"),
        numpy_helper.from_array(np.array([2], np.int64), "axis2"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array(-1.0 / (2 * SIGMA**2), np.float32), "gain"),
        numpy_helper.from_array(np.eye(count, dtype=np.float32)[None], "eye"),
        numpy_helper.from_array(boxes, "boxes"),
        numpy_helper.from_array(np.array([4, count], np.int64), "box_dims"),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
    ]
    nodes = []
    for tag, start, end, pal in (("s", "s_start", "s_end", "palette"), ("k", "k_start", "k_end", "kill_palette")):
        nodes += [
            helper.make_node("Slice", ["images", start, end], [f"{tag}_patch"]),
            helper.make_node("ReduceMean", [f"{tag}_patch"], [f"{tag}_mean"], axes=[2, 3], keepdims=0),
            helper.make_node("Unsqueeze", [f"{tag}_mean", "axis1"], [f"{tag}_mean3"]),
            helper.make_node("Sub", [f"{tag}_mean3", pal], [f"{tag}_diff"]),
            helper.make_node("Mul", [f"{tag}_diff", f"{tag}_diff"], [f"{tag}_sq"]),
            helper.make_node("ReduceSum", [f"{tag}_sq", "axis2"], [f"{tag}_dist"], keepdims=0),
            helper.make_node("Mul", [f"{tag}_dist", "gain"], [f"{tag}_logit"]),
            helper.make_node("Exp", [f"{tag}_logit"], [f"{tag}_score"]),
        ]
    nodes += [
        helper.make_node("Max", ["s_score", "k_score"], ["score"]),
        helper.make_node("Unsqueeze", ["score", "axis2"], ["score3"]),
        helper.make_node("Mul", ["score3", "eye"], ["class_scores"]),
        helper.make_node("Shape", ["images"], ["in_shape"]),
        helper.make_node("Slice", ["in_shape", "zero", "axis1"], ["batch"]),
        helper.make_node("Concat", ["batch", "box_dims"], ["box_shape"], axis=0),
        helper.make_node("Expand", ["boxes", "box_shape"], ["box_batch"]),
        helper.make_node("Concat", ["box_batch", "class_scores"], ["output0"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "synthetic_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 4 + count, count])],
        init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    names_meta = "{" + ", ".join(f"{i}: '{n}'" for i, n in enumerate(names)) + "}"
    for key, value in (("names", names_meta), ("imgsz", f"[{size}, {size}]"), ("task", "detect")):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def session_script() -> Script:
    """One full loop of the demo game: pre-raid, a raid with two kills, survived, back to the stash."""
    script = Script()
    script.add("stash_screen", 2).add("character_select", 2, chosen="SCAV")
    script.add("map_select", 2, lines=("SELECT LOCATION", "CUSTOMS"), tick=True)
    script.add("queue_timer", 2).add("match_found", 1).add("loading_screen", 1).add("gameplay_hud", 3)
    script.add("gameplay_hud", 3, kill=("RAIDER", "AK-74M", True)).add("gameplay_hud", 2)
    script.add("gameplay_hud", 2.5, kill=("SCAV", "MOSIN", False)).add("gameplay_hud", 1)
    script.add("survived_screen", 2, lines=("SURVIVED", "EXFILTRATED AT: CROSSROADS"))
    script.add("post_raid_screen", 2).add("stash_screen", 1)
    return script


# (type, offset seconds, data) the session above must produce.
EXPECTED = [
    ("state_transition", 0.0, {"from_state": "idle", "to_state": "stash"}),
    ("state_transition", 2.0, {"from_state": "stash", "to_state": "pre_raid"}),
    ("state_transition", 6.0, {"from_state": "pre_raid", "to_state": "queuing"}),
    ("state_transition", 8.0, {"from_state": "queuing", "to_state": "deploying"}),
    ("raid_start", 10.0, {"map_name": "customs", "character_type": "scav", "game_mode": "pve"}),
    ("state_transition", 10.0, {"from_state": "deploying", "to_state": "raid_active"}),
    ("kill", 13.0, {"enemy_type": "raider", "weapon": "AK-74M", "headshot": True}),
    ("kill", 18.0, {"enemy_type": "scav", "weapon": "MOSIN", "headshot": False}),
    ("raid_end", 21.5, {"outcome": "survived", "extract_location": "crossroads"}),
    ("state_transition", 21.5, {"from_state": "raid_active", "to_state": "survived"}),
    ("state_transition", 23.5, {"from_state": "survived", "to_state": "post_raid_review"}),
    ("state_transition", 25.5, {"from_state": "post_raid_review", "to_state": "stash"}),
]
