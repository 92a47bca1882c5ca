"""`{% train_chart job as chart %}`: the chart of a train job's epochs (stored in its checkpoint while it runs)."""
from __future__ import annotations

from django import template

from detection.models import Job
from labeling.training.chart import TrainingChart, training_chart

register = template.Library()


@register.simple_tag
def train_chart(job: Job) -> TrainingChart | None:
    epochs = (job.result or {}).get("epochs") or (job.checkpoint or {}).get("epochs") or []
    total = int((job.params or {}).get("epochs") or len(epochs))
    return training_chart(epochs if isinstance(epochs, list) else [], total=total)
