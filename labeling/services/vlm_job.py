"""The `vlm` job: the same labelling as `manage.py vlm_label`, for a recording, from the admin or the API.

Params (all optional): `backends` ([{"type", "model", "base_url"}], default the configured chain),
`window_frames`, `window_seconds`, `stride`, `concurrency`, `states`, `prompt_version`, `token_budget`,
`crosscheck` (true: then ask the first backend whether each detected event is on screen, labeling/crosscheck.py).
The JSONL goes to MEDIA_ROOT/vlm/job-<id>.jsonl; the rows to WindowLabel.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.conf import settings

from detection.models import Job
from detection.pipeline.windows import WindowSpec
from labeling.analyst import Limits
from labeling.crosscheck import crosscheck_after_labelling
from labeling.vlm_accounting import vlm_accounting
from labeling.services.vlm_label import DbCache, LabelOptions, backend_config, configured_backends, vlm_label_run
from project.jobs.runner import JobProgress

PARAMS = {"backends", "window_frames", "window_seconds", "stride", "concurrency", "states", "prompt_version",
          "token_budget", "crosscheck"}


def label_options_from_params(params: dict[str, Any]) -> LabelOptions:
    """Raises ValueError saying which parameter is wrong."""
    unknown = sorted(set(params) - PARAMS)
    if unknown:
        raise ValueError(f"unknown vlm job parameters {unknown}; known: {sorted(PARAMS)}")
    try:
        chain = params.get("backends")
        backends = tuple(
            backend_config(str(b["type"]), model=str(b.get("model") or ""), base_url=str(b.get("base_url") or ""))
            for b in chain
        ) if chain else configured_backends()
        spec = WindowSpec(frames=int(params.get("window_frames", 5)), seconds=float(params.get("window_seconds", 2.0)),
                          stride=float(params.get("stride", 2.0)))
        limits = Limits(concurrency=int(params.get("concurrency", settings.VODSCOPE_VLM_CONCURRENCY)),
                        requests_per_minute=settings.VODSCOPE_VLM_REQUESTS_PER_MINUTE,
                        token_budget=int(params.get("token_budget", settings.VODSCOPE_VLM_TOKEN_BUDGET)))
        states = tuple(str(s) for s in params.get("states") or ("raid_active",))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"bad vlm job parameters: {exc}") from exc
    return LabelOptions(backends=backends, spec=spec, limits=limits, states=states,
                        prompt_version=str(params.get("prompt_version") or ""))


def vlm_job_handle(job: Job, progress: JobProgress) -> dict[str, Any]:
    if job.recording is None:
        raise ValueError("a vlm job labels a recording; this one has none")
    options = label_options_from_params(job.params or {})
    output = Path(settings.MEDIA_ROOT) / "vlm" / f"job-{job.pk}.jsonl"
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as handle:
        summary = vlm_label_run(
            video=job.recording.video_path, options=options, recording=job.recording, job=job, output=handle,
            progress=lambda done, total: progress.update(done, total, f"{done}/{total} windows"),
        )
    result = {**asdict(summary), "output": str(output), "accounting": vlm_accounting(job=job)}
    if (job.params or {}).get("crosscheck"):  # the detector cross-check, with the job's first backend
        progress.update(summary.windows, summary.windows, "cross-checking detected events", force=True)
        result["crosscheck"] = crosscheck_after_labelling(recording=job.recording, backend=options.backends[0],
                                                          limits=options.limits, cache=DbCache())
    return result
