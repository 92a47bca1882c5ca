"""The staff Models page in a real browser: two versions side by side, activate one, roll back; a training job's
card draws its epochs; people who are not staff see neither the page nor its link."""
from __future__ import annotations

from pathlib import Path

import cv2
import onnx
import pytest

from detection.models import Job, ModelVersion
from detection.pipeline.profile import load_profile
from detection.services.model_versions import model_version_register
from labeling.models import ModelActivation
from tests.detection.pipeline.synthetic import Shot, build_model, draw
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def metrics(map50: float, recall: float, media: Path, name: str) -> dict[str, object]:
    plot = Path("models") / name / "results.png"
    (media / plot).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(media / plot), draw(Shot("stash_screen", 1), width=320, height=180))
    return {"map50": map50, "map50_95": map50 / 2, "precision": 0.8, "recall": recall,
            "per_class": {"stash_screen": {"precision": 0.9, "recall": recall}},
            "dataset": {"train_images": 120, "val_images": 30}, "training": {"from": "scratch"},
            "epochs": [{"epoch": 1}], "plots": {"results": str(plot)},
            "heldout": {"map50": map50 - 0.1, "precision": 0.7, "recall": recall - 0.1, "frames": 120}}


@pytest.fixture
def versions(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.VODSCOPE_MODELS_DIR = tmp_path / "models"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VODSCOPE_MODELS_DIR.mkdir()
    registered = []
    for name, map50, recall in (("v1", 0.61, 0.55), ("v2", 0.78, 0.74)):
        path = build_model(settings.VODSCOPE_MODELS_DIR / f"{name}.onnx")
        model = onnx.load(path)
        model.metadata_props.add(key="variant", value=name)  # same behaviour, other bytes: another version
        onnx.save(model, path)
        version = model_version_register(path=path, profile=load_profile("demo"))
        version.metrics = metrics(map50, recall, settings.MEDIA_ROOT, version.name)
        version.save()
        registered.append(version)
    return registered


def test_compare_activate_and_roll_back(page_factory, live_server, staff, versions) -> None:  # type: ignore[no-untyped-def]
    v1, v2 = versions
    Job.objects.create(kind=Job.Kind.TRAIN, created_by=staff, status=Job.Status.RUNNING, params={"epochs": 3},
                       progress_total=3, progress_done=2, message="epoch 2/3",
                       checkpoint={"epochs": [{"epoch": 1, "box_loss": 2.1, "cls_loss": 3.2, "dfl_loss": 1.4,
                                               "map50": 0.3, "map50_95": 0.12},
                                              {"epoch": 2, "box_loss": 1.5, "cls_loss": 1.9, "dfl_loss": 1.2,
                                               "map50": 0.55, "map50_95": 0.27}]})
    page = page_factory(staff, 1280, 1000)
    page.goto(f"{live_server.url}/models/?a={v2.pk}&b={v1.pk}")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Models"
    assert page.locator("#model-versions tbody tr").count() == 2
    first_row = page.locator(".compare-table tbody tr").first
    assert first_row.locator("th").inner_text() == "held-out mAP50"
    assert first_row.locator("td.better").inner_text() == "0.680"  # v2, the better one, is marked
    page.wait_for_function("document.querySelectorAll('.version-plots img').length === 2 && "
                           "[...document.querySelectorAll('.version-plots img')].every(i => i.naturalWidth > 0)")
    assert page.locator(".train-chart polyline.series-map50").count() == 1
    assert page.locator(".train-chart svg").get_attribute("aria-label") == "training: 2 of 3 epochs"
    screenshot(page, "models-1280x1000")

    page.locator(f"tr[data-version='{v2.pk}'] button.activate").click()
    page.wait_for_selector(".messages li.success")
    assert "is now the active model" in page.locator(".messages").inner_text()
    assert ModelVersion.objects.get(active=True) == v2
    page.locator("button.rollback").click()
    page.wait_for_selector(".messages li.success")
    assert ModelVersion.objects.get(active=True) == v1
    assert ModelActivation.objects.get().rolled_back


def test_people_who_are_not_staff_see_no_models_page(page_factory, live_server, owner) -> None:  # type: ignore[no-untyped-def]
    page = page_factory(owner)
    assert page.locator("nav a", has_text="Models").count() == 0
    response = page.goto(f"{live_server.url}/models/")
    assert response is not None and response.status == 404
