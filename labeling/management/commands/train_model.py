"""`manage.py train_model [--epochs N] [--imgsz S] [--from active|scratch] [--recording ID ...] [--base-images N]
[--lr0 F] [--mosaic P]`.

Creates a `train` job and runs it here, in this process (not through a worker): its epochs are logged as
they finish, and the job row, its chart and the registered version are the same as the admin's or the
Models page's. Ctrl-C cancels the job and stops the training subprocess.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.models import Job
from labeling.training.job import train_job_handle
from labeling.training.params import FROM_CHOICES, TrainError, TrainParams, train_params_clean
from labeling.training.worker import train_python_check
from project.jobs.runner import job_run

DEFAULTS = TrainParams()


class Command(BaseCommand):
    help = "Train a detector on reviewed frames (and rendered ones) in the training venv; register it if it passes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
        parser.add_argument("--imgsz", type=int, default=DEFAULTS.imgsz, help="training image size (multiple of 32)")
        parser.add_argument("--batch", type=int, default=DEFAULTS.batch)
        parser.add_argument("--from", dest="start_from", choices=FROM_CHOICES, default=DEFAULTS.start_from,
                            help="start from the active model's weights, or from the architecture alone")
        parser.add_argument("--recording", type=int, action="append", default=[],
                            help="a recording whose reviewed frames to train on (repeat)")
        parser.add_argument("--base-images", type=int, default=DEFAULTS.base_images,
                            help="randomised rendered frames to add (the base set)")
        parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
        parser.add_argument("--lr0", type=float, default=DEFAULTS.lr0, help="initial learning rate")
        parser.add_argument("--mosaic", type=float, default=DEFAULTS.mosaic,
                            help="mosaic augmentation probability (0: screens stay where the game draws them)")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = {"epochs": options["epochs"], "imgsz": options["imgsz"], "batch": options["batch"],
               "from": options["start_from"], "recordings": options["recording"],
               "base_images": options["base_images"], "seed": options["seed"], "lr0": options["lr0"],
               "mosaic": options["mosaic"]}
        try:
            params = train_params_clean(raw)
            train_python_check()
        except TrainError as exc:
            raise CommandError(str(exc)) from None
        # The row, never queued: this process is its runner (a worker would otherwise take it too).
        job = Job.objects.create(kind=Job.Kind.TRAIN, params=params.to_json())
        self.stderr.write(f"train job #{job.pk}: {params.epochs} epoch(s) at {params.imgsz} px from {params.start_from}")
        try:
            finished = job_run(job_id=job.pk, handler=train_job_handle)
        except KeyboardInterrupt:
            Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED, message="Cancelled (interrupted)")
            raise CommandError(f"train job #{job.pk} interrupted") from None
        if finished is None or finished.status != Job.Status.SUCCEEDED:
            error = finished.error if finished is not None else "gone"
            raise CommandError(f"train job #{job.pk} {finished.status if finished else ''}: {error}")
        result = finished.result
        self.stdout.write(f"registered {result['name']} (version #{result['version']}): mAP50 {result['map50']:.3f}, "
                          f"mAP50-95 {result['map50_95']:.3f}; {result['dataset']['train_images']} training and "
                          f"{result['dataset']['val_images']} validation frames; parity {result['parity']['compared']} "
                          f"boxes, 0 differ. Activate it on the Models page or in the admin.")
