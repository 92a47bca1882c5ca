"""Training for real, but tiny: ultralytics in the training venv (.venv-train), one epoch on two dozen rendered
frames stored as two recordings' reviewed frames. Slow-ish (tens of CPU seconds): the suite's only real training.

Without the venv these tests fail, saying how to make it (`scripts/setup.sh train`; scripts/test.sh runs it).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from django.conf import settings as django_settings

from detection.models import Job, ModelVersion
from detection.pipeline.profile import load_profile
from detection.quantize import float_model_for, is_quantized
from detection.services.model_versions import model_version_choose
from labeling.datasets.transfer import dataset_export
from labeling.training.job import run_folder, train_job_start
from labeling.training.register import trained_weights_for
from labeling.training.worker import train_python
from project.jobs.dispatch import run_job
from tests.labeling.training_data import labelled_recordings, rendered_frames  # noqa: F401  # fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

WORKER = Path(django_settings.BASE_DIR) / "scripts" / "train_worker.py"


@pytest.fixture
def venv() -> Path:
    python = train_python()
    if not python.is_file():
        where = "CI" if os.environ.get("CI") else "this machine"
        pytest.fail(f"the training venv is missing on {where} ({python}): run `scripts/setup.sh train`")
    return python


def test_a_tiny_training_job_registers_a_version_with_metrics_and_curves(  # type: ignore[no-untyped-def]
    venv, settings, tmp_path, labelled_recordings, staff, client, django_capture_on_commit_callbacks
) -> None:
    settings.VODSCOPE_MODELS_DIR = tmp_path / "models"
    settings.VODSCOPE_MODELS_DIR.mkdir()
    settings.VODSCOPE_HELDOUT_FRAMES = 6
    settings.VODSCOPE_HELDOUT_RENDER_SECONDS = 30
    # From the active (bundled) model's weights, read back from its ONNX: its boxes are sure enough to compare.
    with django_capture_on_commit_callbacks(execute=False):
        job = train_job_start(params={"epochs": 1, "imgsz": 320, "batch": 8, "from": "active",
                                      "recordings": [r.pk for r in labelled_recordings]}, user=staff)
    run_job(job.pk)  # here, whichever mode: the production pass's worker would not see the test's database
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    version = ModelVersion.objects.get(pk=job.result["version"])
    profile = load_profile("demo")
    assert version.classes == list(profile.classes) and version.image_size == 320
    assert not version.active  # the bundled model stays active until someone activates this one
    assert model_version_choose(version_id=None, profile=profile).name.startswith("demo_yolo11n")

    metrics = version.metrics
    assert 0.0 <= metrics["map50_95"] <= metrics["map50"] <= 1.0
    assert metrics["per_class"] and all({"precision", "recall"} <= set(v) for v in metrics["per_class"].values())
    labels = metrics["confusion_matrix"]["labels"]
    assert labels == [*profile.classes, "background"]
    assert len(metrics["confusion_matrix"]["matrix"]) == len(labels)
    assert [e["epoch"] for e in metrics["epochs"]] == [1] and metrics["epochs"][0]["box_loss"] > 0
    assert metrics["dataset"]["train_recordings"] and metrics["dataset"]["val_recordings"]
    assert metrics["parity"]["mismatches"] == 0 and metrics["parity"]["compared"] > 0
    # Every training image was written at the training size by the detector's resize: ultralytics resized none.
    sides = {max(Image.open(p).size) for p in (run_folder(job) / "dataset" / "images").glob("*/*")}
    assert sides == {320}
    # The bundled version is the int8 copy; its weights were read back from the float model beside it.
    assert "(weights read back from demo_yolo11n.onnx)" in metrics["training"]["from"]
    # The version is the int8 copy (what detection runs), its float model and weights beside it for the next run.
    assert version.onnx_file.endswith(".int8.onnx") and is_quantized(version.onnx_file)
    assert not is_quantized(float_model_for(version.onnx_file))
    assert trained_weights_for(version.onnx_file) is not None  # the next run can start from this one's .pt
    # Both it and the active version measured by Vodscope's detector on the same held-out frames, drawn in
    # the style families no training set is drawn in.
    bundled = model_version_choose(version_id=None, profile=profile)
    for measured in (version, bundled):
        assert measured.metrics["heldout"]["frames"] == 6 and 0.0 <= measured.metrics["heldout"]["map50"] <= 1.0
        assert measured.metrics["heldout"]["families"] == ["muted", "serif"]
        # ... and by the whole pipeline on the same held-out render, scored by the event evaluator.
        events = measured.metrics["heldout_events"]
        assert events["family"] == "muted" and events["types"]["raid_start"]["truth"] == 1

    client.force_login(staff)
    for key in ("results", "confusion_matrix"):
        response = client.get(f"/models/{version.pk}/plots/{key}/")
        assert response.status_code == 200 and b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    card = client.get(f"/jobs/{job.pk}/progress/").content.decode()
    assert 'aria-label="training: 1 of 1 epochs"' in card and version.name in card


def test_the_yolo_export_loads_in_ultralytics(venv, labelled_recordings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    summary = dataset_export(recording_ids=[r.pk for r in labelled_recordings], format="yolo", out=tmp_path / "yolo")
    script = (
        "import json, sys\n"
        "from ultralytics.data.utils import check_det_dataset\n"
        "from ultralytics.data.dataset import YOLODataset\n"
        "data = check_det_dataset(sys.argv[1], autodownload=False)\n"
        "counts = {}\n"
        "for split in ('train', 'val'):\n"
        "    labels = YOLODataset(img_path=data[split], data=data, task='detect', augment=False).labels\n"
        "    counts[split] = [len(labels), sum(len(l['cls']) for l in labels)]\n"
        "print(json.dumps({'nc': data['nc'], 'names': list(data['names'].values()), 'counts': counts}))\n"
    )
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(tmp_path / "ultralytics")}
    done = subprocess.run([str(venv), "-c", script, str(tmp_path / "yolo" / "data.yaml")], capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["names"] == list(load_profile("demo").classes)
    assert sum(images for images, _ in loaded["counts"].values()) == summary.images
    assert sum(boxes for _, boxes in loaded["counts"].values()) == summary.boxes


def test_the_real_worker_stops_when_its_stop_file_appears(venv, labelled_recordings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dataset_export(recording_ids=[r.pk for r in labelled_recordings], format="yolo", out=tmp_path / "yolo")
    stop = tmp_path / "stop"
    stop.touch()  # already there: the worker leaves at the end of its first batch
    done = subprocess.run([str(venv), str(WORKER), "--data", str(tmp_path / "yolo" / "data.yaml"), "--out",
                           str(tmp_path / "run"), "--epochs", "5", "--imgsz", "64", "--batch", "4", "--stop-file",
                           str(stop)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # Only protocol lines on stdout, whatever ultralytics printed.
    assert [json.loads(line) for line in done.stdout.splitlines()] == [{"event": "stopped", "epoch": 1}]
    assert not (tmp_path / "run" / "summary.json").exists()
    assert not list((tmp_path / "run").rglob("*.onnx"))



def test_weights_read_back_from_an_onnx_train_as_they_infer(venv, rendered_frames, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A fine-tune from the active model starts from what it knew: in eval mode the rebuilt checkpoint scores as its
    ONNX does, and in training mode (batch statistics) its batch norms, calibrated on the train images, keep each
    image's best score per class near the ONNX's, where pass-through norms (unit scale, zero mean) stray."""
    script = (
        "import copy, json, sys\n"
        "from pathlib import Path\n"
        "import numpy as np, onnxruntime, torch\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from train_bundled_model import checkpoint_from_onnx, letterboxed, training_images\n"
        "onnx_path, data, out = Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])\n"
        "images = torch.stack([letterboxed(p, 320) for p in training_images(data, 16)])\n"
        "reference = onnxruntime.InferenceSession(str(onnx_path)).run(None, {'images': images.numpy()})[0]\n"
        "def best_scores(path, batch_statistics):\n"
        "    model = copy.deepcopy(torch.load(path, weights_only=False)['model']).float().eval()\n"
        "    for module in model.modules():\n"
        "        if batch_statistics and isinstance(module, torch.nn.BatchNorm2d):\n"
        "            module.train()\n"
        "    with torch.no_grad():\n"
        "        result = model(images)\n"
        "    return (result[0] if isinstance(result, (list, tuple)) else result)[:, 4:].numpy().max(axis=2)\n"
        "best = reference[:, 4:].max(axis=2)\n"
        "gaps = {}\n"
        "for name, given in (('pass_through', None), ('calibrated', data)):\n"
        "    path = checkpoint_from_onnx(onnx_path, out / f'{name}.pt', given)\n"
        "    for mode in (False, True):\n"
        "        gaps[f'{name}_{\"batch\" if mode else \"eval\"}'] = float(np.abs(best_scores(path, mode) - best).mean())\n"
        "print(json.dumps(gaps))\n"
    )
    onnx = Path(django_settings.BASE_DIR) / "detection" / "bundled" / "demo_yolo11n.onnx"
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(tmp_path / "ultralytics")}
    done = subprocess.run([str(venv), "-c", script, str(WORKER.parent), str(onnx), str(rendered_frames / "data.yaml"),
                           str(tmp_path)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    gaps = json.loads(done.stdout.strip().splitlines()[-1])
    assert gaps["pass_through_eval"] < 1e-4 and gaps["calibrated_eval"] < 1e-4, gaps
    assert gaps["calibrated_batch"] < gaps["pass_through_batch"] / 2, gaps


def test_batch_norm_statistics_count_every_image_once_whatever_the_batches(venv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """17 images go through in batches of 16 and 1: the one bright image of the short batch weighs as one image of
    17, not as a batch of its own (half the statistics)."""
    for index in range(17):
        Image.new("RGB", (64, 64), (240, 240, 240) if index == 16 else (20, 20, 20)).save(tmp_path / f"{index:02d}.png")
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "import torch\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from train_bundled_model import calibrate_batch_norms, letterboxed\n"
        "paths = sorted(Path(sys.argv[2]).glob('*.png'))\n"
        "norm = torch.nn.BatchNorm2d(3)\n"
        "norm.running_var.fill_(1 - norm.eps)\n"
        "calibrate_batch_norms(torch.nn.Sequential(norm), paths, 64)\n"
        "pixels = torch.stack([letterboxed(p, 64) for p in paths]).double()\n"
        "print(json.dumps({'calibrated': norm.running_mean.tolist(),\n"
        "                  'every_image': pixels.mean(dim=(0, 2, 3)).tolist()}))\n"
    )
    done = subprocess.run([str(venv), "-c", script, str(WORKER.parent), str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    means = json.loads(done.stdout.strip().splitlines()[-1])
    assert means["calibrated"] == pytest.approx(means["every_image"], abs=1e-5)
