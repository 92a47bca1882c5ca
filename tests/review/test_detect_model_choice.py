"""The Detect button can run a chosen model version; a choice that is not one answers with a message."""
from __future__ import annotations

import pytest

from detection.models import Job, ModelVersion
from detection.pipeline.profile import load_profile
from tests.factories import RecordingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions() -> list[ModelVersion]:
    classes = list(load_profile("demo").classes)
    return [ModelVersion.objects.create(name=name, profile="demo", onnx_file=f"/models/{name}.onnx", active=active,
                                        classes=classes)
            for name, active in (("round3", True), ("round4", False))]


def test_the_page_offers_the_registered_versions_and_runs_the_chosen_one(client, owner, versions):  # type: ignore[no-untyped-def]
    recording = RecordingFactory(owner=owner)
    client.force_login(owner)
    page = client.get("/").content.decode()
    assert 'name="model_version"' in page and "round3 (active)" in page and "round4" in page
    client.post(f"/recordings/{recording.pk}/detect/", {"model_version": versions[1].pk})
    assert Job.objects.get().params == {"model_version": versions[1].pk}


@pytest.mark.parametrize("choice", ["x", "[1]", "-1", "1.5", str(2**70), "999999"])
def test_a_choice_that_is_no_version_answers_with_a_message(client, owner, versions, choice):  # type: ignore[no-untyped-def]
    recording = RecordingFactory(owner=owner)
    client.force_login(owner)
    page = client.post(f"/recordings/{recording.pk}/detect/", {"model_version": choice}, follow=True)
    assert page.status_code == 200 and "choose a model version from the list" in page.content.decode()
    assert not Job.objects.exists()


def test_without_a_choice_the_active_version_runs(client, owner, versions):  # type: ignore[no-untyped-def]
    recording = RecordingFactory(owner=owner)
    client.force_login(owner)
    client.post(f"/recordings/{recording.pk}/detect/")
    assert Job.objects.get().params == {}
