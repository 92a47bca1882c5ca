"""Training job, end to end on rendered frames: CPU seconds, per-epoch figures, parity, held-out mAP50 before/after.

Run: .venv/bin/python bench/bench_training.py [--base-images 200] [--epochs 3] [--imgsz 320] [--from active]
     [--heldout 120] [--device cpu] [--lr0 0.01] [--mosaic 1.0]
Needs the training venv (`scripts/setup.sh train`). Embedded (SQLite in a temporary VODSCOPE_HOME) unless
DATABASE_URL is set. A `train` job runs here as `manage.py train_model` runs it; the held-out figures are
Vodscope's own detector on the same fixed frames for the version it starts from and the one it makes, so the
two lines compare like with like. CPU seconds are this process's plus the worker's (wall time depends on load).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VODSCOPE_HOME", tempfile.mkdtemp(prefix="vodscope-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from detection.models import Job, ModelVersion  # noqa: E402
from labeling.training.job import train_job_handle  # noqa: E402
from labeling.training.params import train_params_clean  # noqa: E402
from project.jobs.runner import job_run  # noqa: E402


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-images", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--from", dest="start_from", default="active", choices=["active", "scratch"])
    parser.add_argument("--heldout", type=int, default=120, help="held-out frames every version is measured on")
    parser.add_argument("--device", default="cpu", help="ultralytics device: cpu, or 0 for the first GPU")
    parser.add_argument("--lr0", type=float, default=0.01)
    parser.add_argument("--mosaic", type=float, default=1.0)
    args = parser.parse_args()
    settings.VODSCOPE_HELDOUT_FRAMES = args.heldout
    settings.VODSCOPE_TRAIN_DEVICE = args.device
    call_command("migrate", verbosity=0)
    params = train_params_clean({"epochs": args.epochs, "imgsz": args.imgsz, "from": args.start_from,
                                 "base_images": args.base_images, "lr0": args.lr0, "mosaic": args.mosaic})
    job = Job.objects.create(kind=Job.Kind.TRAIN, params=params.to_json())
    started_wall, started_cpu = time.perf_counter(), cpu_seconds()
    finished = job_run(job_id=job.pk, handler=train_job_handle)
    wall, cpu = time.perf_counter() - started_wall, cpu_seconds() - started_cpu
    if finished is None or finished.status != Job.Status.SUCCEEDED:
        sys.exit(f"train job {finished.status if finished else 'gone'}: {finished.error if finished else ''}")
    result = finished.result
    print(f"{args.base_images} rendered frames ({result['dataset']['train_images']} train, "
          f"{result['dataset']['val_images']} val), {args.epochs} epoch(s) at {args.imgsz} px from {args.start_from}, "
          f"lr0 {args.lr0:g}, mosaic {args.mosaic:g}, device {args.device}: {cpu:.1f} CPU s, {wall:.1f} s wall")
    print("epoch  box_loss  cls_loss  dfl_loss  mAP50  mAP50-95")
    for epoch in result["epochs"]:
        print(f"{epoch['epoch']:>5}  {epoch['box_loss']:8.3f}  {epoch['cls_loss']:8.3f}  {epoch['dfl_loss']:8.3f}  "
              f"{epoch['map50']:.3f}  {epoch['map50_95']:.3f}")
    print(f"parity: {result['parity']['compared']} sure boxes compared, {result['parity']['mismatches']} differ")
    print(f"held-out ({args.heldout} frames, Vodscope's detector)   mAP50  precision  recall")
    for version in ModelVersion.objects.filter(metrics__has_key="heldout").order_by("created_at"):
        heldout = version.metrics["heldout"]
        print(f"  {version.name:<40} {heldout['map50']:.3f}  {heldout['precision']:9.3f}  {heldout['recall']:6.3f}")


if __name__ == "__main__":
    main()
