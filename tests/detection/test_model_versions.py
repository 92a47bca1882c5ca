"""Models are chosen, never named by path: job parameters, the models folder, staff registration."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from detection.models import Job, ModelVersion
from detection.pipeline.profile import load_profile
from detection.services.model_versions import ModelVersionError, model_ref, model_ref_for_option, model_version_register
from tests.detection.pipeline.synthetic import build_model
from tests.factories import RecordingFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile("demo")


@pytest.fixture
def models(settings, tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    settings.VODSCOPE_MODELS_DIR = folder.resolve()
    return folder.resolve()


@pytest.fixture(scope="module")
def onnx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return build_model(tmp_path_factory.mktemp("onnx") / "synthetic.onnx").read_bytes()


def post_job(api_client, user, params: object):  # type: ignore[no-untyped-def]
    recording = RecordingFactory(owner=user)
    return api_client(user).post("/api/v1/jobs/", {"recording": recording.pk, "params": params}, format="json")


def test_a_job_cannot_name_a_model_file(api_client, owner):  # type: ignore[no-untyped-def]
    for path in ("/etc/shadow", "/etc/no-such-file", "../../etc/passwd"):
        answer = post_job(api_client, owner, {"model_path": path})
        assert answer.status_code == 400, answer.content
        detail = answer.json()["detail"]
        assert "unknown detection parameters ['model_path']" in detail and "model_version" in detail
        assert path not in detail
    assert not Job.objects.exists() and not ModelVersion.objects.exists()


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"detection_fps": "abc"}, "detection_fps must be a number"),
        ({"detection_fps": [1]}, "detection_fps must be a number"),
        ({"detection_fps": None}, "detection_fps: null"),
        ({"confidence_threshold": "x"}, "confidence_threshold must be a number"),
        ({"model_version": "x"}, "model_version must be a positive whole number"),
        ({"model_version": 999999}, "no model version #999999"),
        ({"gate": "false"}, "gate must be true or false"),
        ({"two_pass": "yes"}, "two_pass must be true or false"),
        ({"skip_nonref": None}, "skip_nonref: null"),
        ("abc", "must be an object"),
        ([1], "must be an object"),
    ],
)
def test_wrong_parameter_types_answer_400_with_the_reason(api_client, owner, params, reason):  # type: ignore[no-untyped-def]
    answer = post_job(api_client, owner, params)
    assert answer.status_code == 400 and answer["Content-Type"] == "application/json", answer.content
    assert reason in answer.json()["detail"]
    assert not Job.objects.exists()


def test_a_registered_version_is_chosen_by_id(api_client, owner, models, onnx):  # type: ignore[no-untyped-def]
    (models / "round4.onnx").write_bytes(onnx)
    version = model_version_register(path="round4.onnx", profile=PROFILE)
    answer = post_job(api_client, owner, {"model_version": version.pk, "detection_fps": 5})
    assert answer.status_code == 201, answer.content
    assert Job.objects.get().params == {"model_version": version.pk, "detection_fps": 5.0}
    other = ModelVersion.objects.create(name="other-game", profile="other", onnx_file=version.onnx_file)
    refused = post_job(api_client, owner, {"model_version": other.pk})
    assert refused.status_code == 400 and "game profile 'other'" in refused.json()["detail"]


def test_registration_takes_files_inside_the_models_folder_only(models, tmp_path, onnx):  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside.onnx"
    outside.write_bytes(onnx)
    (models / "link.onnx").symlink_to(outside)
    (models / "sub").mkdir()
    (models / "loop.onnx").symlink_to(models / "loop.onnx")
    for path in (outside, models / "link.onnx", models / "sub" / ".." / ".." / "outside.onnx", "../outside.onnx",
                 "/etc/shadow", "/etc/no-such-file.onnx"):
        with pytest.raises(ModelVersionError, match="outside the models folder"):
            model_version_register(path=path, profile=PROFILE)
    for path, reason in ((models / "loop.onnx", "not a file inside the models folder"),
                         (models / "missing.onnx", "no such file"), ("", "give the name"), ("a\x00b", "give the name"),
                         (models / "sub", "is an .onnx file")):
        with pytest.raises(ModelVersionError, match=reason):
            model_version_register(path=path, profile=PROFILE)
    assert not ModelVersion.objects.exists()
    (models / "sub" / "ok.onnx").write_bytes(onnx)
    version = model_version_register(path=models / "sub" / ".." / "sub" / "ok.onnx", profile=PROFILE)
    assert version.onnx_file == str(models / "sub" / "ok.onnx") and version.active


def test_refusals_outside_the_folder_do_not_tell_existing_from_missing_files(models):  # type: ignore[no-untyped-def]
    messages = []
    for path in ("/etc/shadow", "/etc/no-such-file"):
        with pytest.raises(ModelVersionError) as caught:
            model_version_register(path=path, profile=PROFILE)
        messages.append(str(caught.value).replace(path, "<path>"))
    assert messages[0] == messages[1]


def test_a_model_file_changed_after_registration_is_refused(models, onnx):  # type: ignore[no-untyped-def]
    (models / "m.onnx").write_bytes(onnx)
    version = model_version_register(path="m.onnx", profile=PROFILE)
    assert model_ref(version).sha256 == version.sha256
    (models / "m.onnx").write_bytes(onnx + b"\0")
    with pytest.raises(ModelVersionError, match="changed since it was registered"):
        model_ref(version)
    os.remove(models / "m.onnx")
    with pytest.raises(ModelVersionError, match="its file is gone"):
        model_ref(version)


def test_the_register_model_command(models, onnx, capsys):  # type: ignore[no-untyped-def]
    (models / "a.onnx").write_bytes(onnx)
    call_command("register_model", "a.onnx", "--activate")
    version = ModelVersion.objects.get()
    assert version.active and version.name in capsys.readouterr().out
    with pytest.raises(CommandError, match="outside the models folder"):
        call_command("register_model", "/etc/passwd")


def test_the_admin_registers_no_paths(client, staff, models, onnx):  # type: ignore[no-untyped-def]
    (models / "a.onnx").write_bytes(onnx)
    version = model_version_register(path="a.onnx", profile=PROFILE)
    client.force_login(staff)
    assert client.get("/admin/detection/modelversion/add/").status_code == 403
    client.post(f"/admin/detection/modelversion/{version.pk}/change/",
                {"name": version.name, "notes": "x", "onnx_file": "/etc/shadow", "metrics": "{}"})
    version.refresh_from_db()
    assert version.onnx_file == str(models / "a.onnx")


def test_the_command_line_model_is_the_active_version_unless_named(models, onnx, tmp_path):  # type: ignore[no-untyped-def]
    (models / "a.onnx").write_bytes(onnx)
    first = model_version_register(path="a.onnx", profile=PROFILE)
    assert model_ref_for_option(None, profile=PROFILE) == model_ref(first)
    assert model_ref_for_option(str(first.pk), profile=PROFILE) == model_ref(first)
    assert model_ref_for_option(first.name, profile=PROFILE) == model_ref(first)
    loose = tmp_path / "loose.onnx"
    loose.write_bytes(onnx)
    assert model_ref_for_option(str(loose), profile=PROFILE).sha256 == first.sha256  # a file the shell's user names
    for option, reason in (("999", "no model version #999"), ("nothing-here", "neither a model version")):
        with pytest.raises(ModelVersionError, match=reason):
            model_ref_for_option(option, profile=PROFILE)
    with pytest.raises(CommandError, match="no model version #999"):
        call_command("detect", "--video", str(loose), "--model", "999", "--output", str(tmp_path / "out"))


def test_the_detect_command_on_a_database_never_migrated_says_to_migrate(tmp_path):  # type: ignore[no-untyped-def]
    """A new VODSCOPE_HOME has an empty SQLite file: the command names the fix instead of a traceback."""
    video = tmp_path / "clip.mkv"
    video.write_bytes(b"\x1a\x45\xdf\xa3")  # never read: the model is chosen first
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "VODSCOPE_SQLITE_PATH")}
    done = subprocess.run([sys.executable, "manage.py", "detect", "--video", str(video), "--output", str(tmp_path / "out")],
                          cwd=ROOT, env={**env, "VODSCOPE_HOME": str(tmp_path / "home")},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "run `manage.py migrate` first" in done.stderr
