"""Each version's events on the held-out render: measured once, kept on the version, compared on the Models page."""
from __future__ import annotations

from io import StringIO
from pathlib import Path

import onnx
import pytest
from django.core.management import CommandError, call_command

from detection.pipeline.profile import load_profile
from detection.services.model_versions import model_version_choose, model_version_register
from labeling.training import heldout_events
from labeling.training.selectors import versions_compare

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_render(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VODSCOPE_MODELS_DIR = tmp_path / "models"
    settings.VODSCOPE_MODELS_DIR.mkdir()
    settings.VODSCOPE_HELDOUT_FRAMES = 6
    settings.VODSCOPE_HELDOUT_RENDER_SECONDS = 30  # one whole raid loop at the quick pacing
    return settings


def test_a_version_is_measured_on_the_heldout_render_once_and_compared(short_render, staff, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("evaluate_model", stdout=out)
    profile = load_profile("demo")
    bundled = model_version_choose(version_id=None, profile=profile)
    assert f"{bundled.name}: held-out frames mAP50" in out.getvalue()
    assert "held-out render raid_start 1/1, kill 1/1, raid_end 1/1" in out.getvalue()
    figures = bundled.metrics["heldout_events"]
    assert figures["family"] == "muted" and figures["seconds"] == 30
    assert figures["types"]["raid_start"]["recall"] == 1.0 and figures["types"]["raid_start"]["precision"] == 1.0

    def no_second_run(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("measured twice")

    monkeypatch.setattr(heldout_events, "build_pipeline", no_second_run)
    call_command("evaluate_model", "--model", bundled.name, stdout=StringIO())

    other_path = short_render.VODSCOPE_MODELS_DIR / "other.onnx"
    model = onnx.load(bundled.onnx_file)
    model.metadata_props.add(key="variant", value="other")
    onnx.save(model, other_path)
    other = model_version_register(path=other_path, profile=profile)
    rows = {row.label: row for row in versions_compare(bundled, other)}
    assert rows["held-out render kill recall"].text_a == "1.000" and rows["held-out render kill recall"].text_b == "–"
    labels = list(rows)
    assert labels.index("held-out render raid_start recall") < labels.index("held-out render kill recall") \
        < labels.index("held-out render raid_end recall") < labels.index("held-out render state_transition recall")

    client.force_login(staff)
    page = client.get(f"/models/?a={bundled.pk}&b={other.pk}").content.decode()
    assert "held-out render raid_end precision" in page and "evaluate_model" in page


def test_measuring_events_can_be_turned_off_and_an_unknown_version_is_refused(short_render) -> None:  # type: ignore[no-untyped-def]
    short_render.VODSCOPE_HELDOUT_RENDER_SECONDS = 0
    bundled = model_version_choose(version_id=None, profile=load_profile("demo"))
    assert heldout_events.heldout_events_evaluate(version=bundled, profile=load_profile("demo")) is None
    out = StringIO()
    call_command("evaluate_model", stdout=out)
    assert "held-out frames mAP50" in out.getvalue() and "held-out render" not in out.getvalue()
    with pytest.raises(CommandError, match="no model version 'nope'"):
        call_command("evaluate_model", "--model", "nope")
