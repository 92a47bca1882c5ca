#!/usr/bin/env python
"""The retraining loop end to end (issue 14): weak v1 → detect → scripted review → v2 → again → v3.

    .venv/bin/python bench/bench_loop.py                      # cached in var/bench/loop; a rerun skips finished versions
    .venv/bin/python bench/bench_loop.py --rounds 1 --epochs 10

  v1   a train job from scratch on a few rendered frames (`--base-images`, `--v1-epochs`, `--imgsz`): deliberately weak;
  then per round: a training-family render (classic, varied, ...) is registered as a recording, the active version
       detects it (a detect job, which fills the active-learning queue), and a scripted reviewer works it through the
       pages' own HTTP calls as a staff user (Django's test client): approve each detected event the render's truth
       has, delete the others, add the events it missed (the review page's add form); then every frame those events
       were seen on is opened in the box editor and saved with the boxes the renderer drew when what is proposed
       differs (the same drawing code, so the reviewer is exact); then the queue, page by page: accept proposals
       that match the drawn boxes, mark frames with nothing on them as hard negatives, draw the rest in the editor;
  retrain a train job from the active version on every reviewed recording so far plus the same base frames, and
       the new version is activated with the Models page's button.
  after each version: detector mAP50 on the train job's fixed held-out frames, and the event evaluator's recall and
       precision per type on a held-out-family render (`--heldout-family`, never trained on), detected as
       `manage.py detect --model <version>` does.

State (versions made, recordings reviewed, figures) is kept in <cache>/state.json beside its own VODSCOPE_HOME, so a
rerun resumes after the last finished version; renders are cached by their parameters.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TYPES = ("raid_start", "kill", "raid_end", "state_transition")
SIZE, FPS = (960, 540), 30
TRAINING_ROUND_FAMILIES = ("classic", "varied")


@dataclass(frozen=True)
class RenderSpec:
    name: str
    family: str
    seed: int
    seconds: float

    @property
    def key(self) -> str:
        return f"{self.name}-{self.family}-s{self.seed}-{self.seconds:g}s-{SIZE[0]}x{SIZE[1]}-{FPS}fps-quick"


def render_cached(spec: RenderSpec, cache: Path) -> tuple[Path, Path]:
    """(video, truth) of `spec`, rendered the first time (QUICK_PACING: a whole raid loop in about 30 s)."""
    from datetime import UTC, datetime

    from detection.render.session import render_session
    from detection.render.timeline import QUICK_PACING

    folder = cache / "renders" / spec.key
    video, truth = folder / f"{spec.name}.mkv", folder / f"{spec.name}.truth.json"
    if not truth.exists():
        render_session(out_dir=folder, seconds=spec.seconds, fps=FPS, size=SIZE, seed=spec.seed, name=spec.name,
                       started_at=datetime(2026, 5, 1, 20, 0, tzinfo=UTC), pacing=QUICK_PACING, style_family=spec.family)
    return video, truth


class TruthBoxes:
    """The boxes the renderer drew on a frame of a render, by drawing it again (render_session's random draws
    in the same order): what a careful reviewer would draw, in the editor's 0..1 coordinates."""

    def __init__(self, spec: RenderSpec) -> None:
        from detection.render.compositor import Compositor, Look
        from detection.render.families import family_named
        from detection.render.profile import load_profile
        from detection.render.style import random_style
        from detection.render.timeline import QUICK_PACING, plan_session
        from detection.render.writer import frame_times

        rng = random.Random(spec.seed)
        self.profile = load_profile()
        self.timeline = plan_session(spec.seconds, self.profile, random.Random(rng.getrandbits(64)), QUICK_PACING)
        self.style = random_style(random.Random(rng.getrandbits(64)), family=family_named(spec.family))
        look = Look.random(random.Random(rng.getrandbits(64)))
        self.compositor = Compositor(self.timeline, SIZE, self.style, self.profile, seed=spec.seed, look=look)
        self.times = frame_times(spec.seconds, FPS, vfr=False, rng=random.Random(0))
        self.seed = spec.seed

    def __call__(self, frame_number: int) -> list[dict[str, Any]]:
        from detection.render import screens
        from detection.render.frames import PAINTERS
        from detection.render.layout import Painter

        t = self.times[min(frame_number, len(self.times) - 1)]
        segment = self.timeline.segment_at(t)
        painter, drawn = Painter(SIZE, self.style), {}
        if segment.screen == "raid":
            hud = self.timeline.hud_at(t)
            drawn.update(screens.paint_hud(painter, self.profile, random.Random(f"{self.seed}:hud"), hp=hud.hp,
                                           shield=hud.shield, ammo=hud.ammo, capacity=hud.capacity))
            kill = self.timeline.kill_at(t)
            if kill is not None:
                drawn.update(screens.paint_kill(painter, self.profile, random.Random(f"{self.seed}:kill"),
                                                enemy=kill.enemy, weapon=kill.weapon, headshot=kill.headshot))
        elif segment.screen in PAINTERS:
            content = {**segment.content, **self.compositor._dynamic(segment, t)}  # the compositor's own countdowns
            drawn.update(PAINTERS[segment.screen](painter, self.profile, random.Random(f"{self.seed}:layout:{segment.screen}"),
                                                  **content))
        width, height = SIZE
        return [{"label": label, "box": [round(b.x0 / width, 4), round(b.y0 / height, 4), round(b.x1 / width, 4),
                                         round(b.y1 / height, 4)]} for label, b in sorted(drawn.items())]


def iou(a: list[float], b: list[float]) -> float:
    ix, iy = max(0.0, min(a[2], b[2]) - max(a[0], b[0])), max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def boxes_agree(proposed: list[dict[str, Any]], truth: list[dict[str, Any]], threshold: float = 0.7) -> bool:
    """Same classes, each proposal on its drawn box: the reviewer would accept the frame as it is."""
    if sorted(b["label"] for b in proposed) != sorted(b["label"] for b in truth):
        return False
    left = list(truth)
    for box in proposed:
        match = next((t for t in left if t["label"] == box["label"] and iou(t["box"], box["box"]) >= threshold), None)
        if match is None:
            return False
        left.remove(match)
    return True


@dataclass
class ReviewTally:
    approved: int = 0
    deleted: int = 0
    added: int = 0
    accepted: int = 0
    negatives: int = 0
    drawn: int = 0
    queue_frames: int = 0  # worked from the queue: frames the detector was unsure about or that disagreed
    frames_labelled: int = 0
    seconds: float = 0.0


class ScriptedReviewer:
    """A staff user working one recording through the review page, the box editor and the queue over HTTP."""

    def __init__(self, client: Any, recording: Any, truth_path: Path, boxes: TruthBoxes) -> None:
        self.client, self.recording, self.boxes, self.tally = client, recording, boxes, ReviewTally()
        from detection.pipeline.event_log import read_event_log

        self.truth = read_event_log(truth_path)

    def _post(self, url: str, data: Any = None, **extra: Any) -> Any:
        response = self.client.post(url, data, **extra)
        if response.status_code >= 400:
            raise RuntimeError(f"POST {url}: {response.status_code} {response.content[:300]!r}")
        return response

    def _editor(self, url: str) -> tuple[int, dict[str, Any]]:
        """GET the editor (following a redirect) → (frame id, its config as the page's script reads it)."""
        response = self.client.get(url, follow=True)
        found = re.search(r'<script id="editor-config" type="application/json">(.*?)</script>', response.content.decode(), re.S)
        if response.status_code != 200 or found is None:
            raise RuntimeError(f"GET {url}: {response.status_code}, no editor config")
        frame_id = int(response.redirect_chain[-1][0].split("/frames/")[1].split("/")[0]) if response.redirect_chain \
            else int(url.split("/frames/")[1].split("/")[0])
        return frame_id, json.loads(found.group(1))

    def _fix_frame(self, frame_id: int, proposed: list[dict[str, Any]], frame_number: int) -> None:
        from django.urls import reverse

        truth = self.boxes(frame_number)
        if boxes_agree(proposed, truth):
            return
        self._post(reverse("editor-save", args=[frame_id]), json.dumps({"boxes": truth}), content_type="application/json")
        self.tally.drawn += 1

    def review_events(self) -> None:
        from detection.evaluation import TOLERANCE_SECONDS, match_events
        from detection.models import DetectedEvent
        from django.urls import reverse
        from review.export import recording_event_log

        found = recording_event_log(recording=self.recording).events
        kept = {found_event.event_id for _, found_event in match_events(self.truth.events, found, TOLERANCE_SECONDS)}
        matched_truth = {t.event_id for t, _ in match_events(self.truth.events, found, TOLERANCE_SECONDS)}
        rows = DetectedEvent.objects.filter(recording=self.recording, review_status=DetectedEvent.ReviewStatus.UNREVIEWED)
        for row in rows:
            action = "approve" if row.event_id in kept else "delete"
            self._post(reverse("review-event-action", args=[self.recording.pk, row.pk, action]))
            setattr(self.tally, "approved" if action == "approve" else "deleted",
                    getattr(self.tally, "approved" if action == "approve" else "deleted") + 1)
            frame_id, config = self._editor(reverse("editor-for-event", args=[self.recording.pk, row.pk]))
            self._fix_frame(frame_id, config["boxes"], self._frame_number(frame_id))
        for missed in (t for t in self.truth.events if t.event_id not in matched_truth):
            data = {"event_type": missed.type, "video_offset_seconds": f"{missed.video_offset_seconds:.3f}",
                    **{f"{missed.type}-{k}": v for k, v in missed.data.items() if not isinstance(v, (list, dict))}}
            before = DetectedEvent.objects.filter(recording=self.recording).count()
            self._post(reverse("review-event-add", args=[self.recording.pk]), data)
            self.tally.added += DetectedEvent.objects.filter(recording=self.recording).count() - before

    @staticmethod
    def _frame_number(frame_id: int) -> int:
        from labeling.models import FrameAnnotation

        return FrameAnnotation.objects.get(pk=frame_id).frame_number

    def work_queue(self, max_pages: int = 20) -> None:
        """The recording's queue page by page: accept, no object, or draw in the editor, until it is empty."""
        from django.urls import reverse
        from labeling.models import FrameAnnotation

        for _ in range(max_pages):
            page = self.client.get(reverse("queue-recording", args=[self.recording.pk])).content.decode()
            ids = [int(i) for i in re.findall(r'data-frame-id="(\d+)"', page)]
            todo = list(FrameAnnotation.objects.filter(pk__in=ids, status=FrameAnnotation.Status.CANDIDATE)
                        .values_list("pk", "frame_number"))
            if not todo:
                return
            for frame_id, frame_number in todo:
                self.tally.queue_frames += 1
                _, config = self._editor(reverse("editor-page", args=[frame_id]))
                truth = self.boxes(frame_number)
                if not truth:
                    self._post(reverse("queue-frame-action", args=[frame_id, "negative"]), {"rank": "0"})
                    self.tally.negatives += 1
                elif boxes_agree(config["boxes"], truth):
                    self._post(reverse("queue-frame-action", args=[frame_id, "accept"]), {"rank": "0"})
                    self.tally.accepted += 1
                else:
                    self._fix_frame(frame_id, config["boxes"], frame_number)

    def run(self) -> ReviewTally:
        from labeling.models import FrameAnnotation

        started = time.perf_counter()
        self.review_events()
        self.work_queue()
        self.tally.seconds = round(time.perf_counter() - started, 1)
        self.tally.frames_labelled = FrameAnnotation.objects.filter(
            recording=self.recording, status=FrameAnnotation.Status.LABELLED).count()
        return self.tally


def train(params: dict[str, Any], notes: list[str]) -> tuple[Any, float]:
    """A train job run here, as `manage.py train_model` runs it → (the version it registered, wall seconds).

    A job the parity check refuses (an undertrained model's box near 0.5 on one side only) is run once more
    with the next seed; the refusal is kept in `notes`."""
    for attempt in range(2):
        try:
            return _train_once({**params, "seed": params["seed"] + attempt})
        except RuntimeError as exc:
            notes.append(str(exc)[:300])
            if attempt or "parity" not in str(exc):
                raise
            print(f"{exc}; once more with the next seed", flush=True)
    raise AssertionError("unreachable")


def _train_once(params: dict[str, Any]) -> tuple[Any, float]:
    from detection.models import Job, ModelVersion
    from labeling.training.job import train_job_handle
    from labeling.training.params import train_params_clean
    from project.jobs.runner import job_run

    job = Job.objects.create(kind=Job.Kind.TRAIN, params=train_params_clean(params).to_json())
    started = time.perf_counter()
    finished = job_run(job_id=job.pk, handler=train_job_handle)
    seconds = time.perf_counter() - started
    if finished is None or finished.status != Job.Status.SUCCEEDED:
        raise RuntimeError(f"train job #{job.pk} {finished.status if finished else 'gone'}: {finished.error if finished else ''}")
    return ModelVersion.objects.get(pk=finished.result["version"]), seconds


def detect_recording(recording: Any, detection_fps: float) -> int:
    """A detect job on the recording with the active version (it fills the queue when it ends) → events found."""
    from detection.models import DetectedEvent, Job
    from detection.services.detect import detect_job_handle, detect_params_clean
    from project.jobs.runner import job_run

    job = Job.objects.create(kind=Job.Kind.DETECT, recording=recording, params=detect_params_clean({"detection_fps": detection_fps}))
    finished = job_run(job_id=job.pk, handler=detect_job_handle)
    if finished is None or finished.status != Job.Status.SUCCEEDED:
        sys.exit(f"detect job #{job.pk} {finished.status if finished else 'gone'}: {finished.error if finished else ''}")
    return DetectedEvent.objects.filter(recording=recording).count()


def measure(version: Any, heldout: tuple[Path, Path], out: Path, detection_fps: float) -> dict[str, Any]:
    """Held-out mAP50 (the train job's fixed frames) and the event evaluator on the held-out render."""
    from django.core.management import call_command

    from detection.evaluation import evaluate
    from detection.pipeline.event_log import read_event_log

    video, truth = heldout
    folder = out / f"{video.stem}-{version.name}"
    call_command("detect", video=str(video), model=str(version.pk), output=str(folder), detection_fps=detection_fps,
                 verbosity=0)
    scores = evaluate(read_event_log(truth), read_event_log(folder / f"{video.stem}.events.json")).to_json()
    version.refresh_from_db()
    metrics = version.metrics.get("heldout", {}) if isinstance(version.metrics, dict) else {}
    return {"map50": metrics.get("map50"), "events": {kind: {k: scores["types"].get(kind, {}).get(k)
                                                              for k in ("truth", "detected", "matched", "recall", "precision")}
                                                       for kind in TYPES}}


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def table(rows: list[dict[str, Any]], key: str = "measure") -> str:
    lines = ["| version | frames labelled | training s | mAP50 (held-out frames) | "
             + " | ".join(f"{t} recall / precision" for t in TYPES) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(TYPES)]
    for row in rows:
        if key not in row:
            continue
        cells = []
        for kind in TYPES:
            e = row[key]["events"][kind]
            cells.append(f"{_figure(e['recall'])} / {_figure(e['precision'])} ({e['matched']}/{e['truth']})")
        map50 = row[key]["map50"]
        lines.append(f"| {row['label']} | {row['frames_labelled']} | {row['train_seconds']:.0f} | "
                     f"{'–' if map50 is None else f'{map50:.3f}'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default=str(ROOT / "var" / "bench" / "loop"))
    parser.add_argument("--rounds", type=int, default=2, help="review + retrain rounds after v1")
    parser.add_argument("--base-images", type=int, default=48)
    parser.add_argument("--v1-epochs", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=15, help="epochs of each retraining")
    parser.add_argument("--imgsz", type=int, default=192)
    parser.add_argument("--batch", type=int, default=4, help="small: a few dozen frames still make many steps an epoch")
    parser.add_argument("--train-seconds", type=float, default=90, help="length of each training render")
    parser.add_argument("--recordings-per-round", type=int, default=2,
                        help="training renders reviewed per round (split by recording: one of the first two validates)")
    parser.add_argument("--heldout-seconds", type=float, default=120)
    parser.add_argument("--heldout-family", default="muted", choices=["muted", "serif"])
    parser.add_argument("--unseen-family", default="classic", choices=list(TRAINING_ROUND_FAMILIES),
                        help="the family of the second held-out render: a new recording of a look trained on")
    parser.add_argument("--heldout-frames", type=int, default=60, help="the train job's held-out frames (mAP50)")
    parser.add_argument("--detection-fps", type=float, default=10.0)
    args = parser.parse_args()
    cache = Path(args.cache).resolve()
    (cache / "library").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VODSCOPE_HOME", str(cache / "home"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from detection.models import ModelVersion, Recording
    from detection.services.ingest import recording_register_path

    settings.VODSCOPE_HELDOUT_FRAMES = args.heldout_frames
    settings.VODSCOPE_ALLOWED_ROOTS = [*getattr(settings, "VODSCOPE_ALLOWED_ROOTS", []), cache / "library"]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    staff, _ = get_user_model().objects.get_or_create(username="loop-reviewer", defaults={"is_staff": True})
    client = Client()
    client.force_login(staff)
    state_path = cache / "state.json"
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.exists() else {"rows": [], "recordings": [], "reviews": {}}
    state.setdefault("notes", [])
    state.setdefault("reviews", {})

    def save() -> None:
        state_path.write_text(json.dumps(state, indent=1))

    heldout = render_cached(RenderSpec("heldout", args.heldout_family, 7707, args.heldout_seconds), cache)
    # A new recording in the look the loop trains on: what its reviews teach, apart from footage drawn another way.
    unseen_recording = render_cached(RenderSpec("unseen", args.unseen_family, 7708, args.heldout_seconds), cache)
    base = {"imgsz": args.imgsz, "batch": args.batch, "base_images": args.base_images, "seed": 1}

    def activate(version: Any) -> None:
        response = client.post(reverse("model-activate", args=[version.pk]))
        if response.status_code != 302:
            sys.exit(f"activating {version.name}: {response.status_code}")

    if not state["rows"]:
        version, seconds = train({**base, "epochs": args.v1_epochs, "from": "scratch"}, state["notes"])
        activate(version)
        state["rows"].append({"label": "v1", "version": version.pk, "frames_labelled": 0, "train_seconds": seconds,
                              "review": None, "measure": measure(version, heldout, cache, args.detection_fps)})
        save()
    for round_number in range(len(state["rows"]), args.rounds + 1):
        activate(ModelVersion.objects.get(pk=state["rows"][-1]["version"]))
        if str(round_number) not in state["reviews"]:  # a rerun after a failed training keeps the review done
            tallies = []
            for k in range(args.recordings_per_round):
                spec = RenderSpec(f"round{round_number}{'abcdefgh'[k]}",
                                  TRAINING_ROUND_FAMILIES[(round_number - 1 + k) % len(TRAINING_ROUND_FAMILIES)],
                                  4100 + 10 * round_number + k, args.train_seconds)
                video, truth = render_cached(spec, cache)
                target = cache / "library" / f"2026-05-0{round_number} 2{k}-00-00.mkv"
                recording = Recording.objects.filter(source_path=str(target)).first()
                if recording is None:
                    shutil.copy(video, target)
                    recording = recording_register_path(owner=staff, path=str(target))
                found = detect_recording(recording, args.detection_fps)
                tally = ScriptedReviewer(client, recording, truth, TruthBoxes(spec)).run()
                print(f"round {round_number}: {spec.family} render {spec.name}, {found} events detected; "
                      f"review {asdict(tally)}", flush=True)
                tallies.append({"recording": spec.name, "family": spec.family, "events_detected": found, **asdict(tally)})
                state["recordings"] = sorted({*state["recordings"], recording.pk})
            state["reviews"][str(round_number)] = tallies
            save()
        try:
            version, seconds = train({**base, "epochs": args.epochs, "from": "active", "recordings": state["recordings"]},
                                     state["notes"])
        except RuntimeError as exc:
            save()
            print(table(state["rows"]))
            sys.exit(f"v{round_number + 1} not made: {exc}")
        activate(version)
        from labeling.models import FrameAnnotation

        labelled = FrameAnnotation.objects.filter(recording_id__in=state["recordings"],
                                                  status=FrameAnnotation.Status.LABELLED).count()
        state["rows"].append({"label": f"v{round_number + 1}", "version": version.pk, "frames_labelled": labelled,
                              "train_seconds": seconds, "review": state["reviews"][str(round_number)],
                              "measure": measure(version, heldout, cache, args.detection_fps)})
        save()
    for row in state["rows"]:
        if "measure_unseen" not in row:
            row["measure_unseen"] = measure(ModelVersion.objects.get(pk=row["version"]), unseen_recording, cache,
                                            args.detection_fps)
            save()
    print(f"base set {args.base_images} frames at {args.imgsz} px; v1 {args.v1_epochs} epochs from scratch, then "
          f"{args.epochs} epochs from the previous version")
    print(f"\nheld-out family render ({args.heldout_family}, {args.heldout_seconds:g} s, never trained on):")
    print(table(state["rows"]))
    print(f"\nunseen recording in a training family ({args.unseen_family}, {args.heldout_seconds:g} s, new seed):")
    print(table(state["rows"], "measure_unseen"))


if __name__ == "__main__":
    main()
