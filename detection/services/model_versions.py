"""Which model a run loads: staff register ONNX files from the models folder, every run names a registered version.

A job's parameters hold a version id, never a path, so nothing a user sends reaches the file
system. Registration resolves symlinks and `..` and checks that the file lies in
`VODSCOPE_MODELS_DIR` before it looks at the disk, so a refusal says nothing about files
elsewhere. The bundled demo model is registered on first use, as shipped with the code.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.db import transaction

from detection.models import ModelVersion
from detection.pipeline.detector import ModelError
from detection.pipeline.factory import detector_for, model_ref_for_file
from detection.pipeline.hashing import file_sha256
from detection.pipeline.profile import GameProfile
from detection.pipeline.run_settings import BUNDLED_MODEL, DetectSettings, ModelRef

MODEL_SUFFIX = ".onnx"


class ModelVersionError(Exception):
    """A model that cannot be registered or chosen; the message is meant for whoever asked."""


def models_dir() -> Path:
    return Path(settings.VODSCOPE_MODELS_DIR).resolve()


def model_file_in_models_dir(raw: str | os.PathLike[str]) -> Path:
    """The real path of an ONNX file inside the models folder (a relative path is taken from there)."""
    text = str(raw).strip()
    folder = models_dir()
    if not text or "\x00" in text:
        raise ModelVersionError(f"give the name of an {MODEL_SUFFIX} file in the models folder {folder}")
    path = Path(text).expanduser()
    try:
        resolved = (path if path.is_absolute() else folder / path).resolve(strict=False)
    except (RuntimeError, OSError):
        raise ModelVersionError(f"{text}: not a file inside the models folder {folder}") from None
    if not resolved.is_relative_to(folder):
        raise ModelVersionError(f"{text}: outside the models folder {folder}")
    if resolved.suffix.lower() != MODEL_SUFFIX:
        raise ModelVersionError(f"{text}: a model is an {MODEL_SUFFIX} file")
    if not resolved.is_file():
        raise ModelVersionError(f"{text}: no such file in the models folder {folder}")
    return resolved


def model_version_register(*, path: str | os.PathLike[str], profile: GameProfile) -> ModelVersion:
    """Staff only (the `register_model` command, the admin): a file from the models folder becomes a version."""
    return _register(model_file_in_models_dir(path), profile=profile)


def model_version_bundled(*, profile: GameProfile) -> ModelVersion:
    return _register(BUNDLED_MODEL, profile=profile)


def _register(path: Path, *, profile: GameProfile) -> ModelVersion:
    """The row for a file (by sha256), made active when its profile has no active version yet.

    A model whose classes don't match the profile is refused with both lists."""
    ref = model_ref_for_file(path)
    existing = ModelVersion.objects.filter(sha256=ref.sha256, profile=profile.name).first()
    if existing is not None:
        _check_classes(existing, profile)
        return existing
    try:
        detector = detector_for(profile, DetectSettings(model_path=ref.path))
    except ModelError as exc:
        raise ModelVersionError(f"{path.name}: {exc}") from exc
    with transaction.atomic():
        version, _ = ModelVersion.objects.get_or_create(
            sha256=ref.sha256,
            profile=profile.name,
            defaults={
                "name": ref.name,
                "onnx_file": ref.path,
                "classes": list(detector.classes),
                "image_size": detector.image_size,
            },
        )
        if not ModelVersion.objects.filter(profile=profile.name, active=True).exists():
            ModelVersion.objects.filter(pk=version.pk).update(active=True)
            version.active = True
    return version


def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """The version runs of its profile use from now on unless they name another."""
    with transaction.atomic():
        ModelVersion.objects.filter(profile=version.profile, active=True).exclude(pk=version.pk).update(active=False)
        ModelVersion.objects.filter(pk=version.pk).update(active=True)
    version.active = True
    return version


def model_version_choose(*, version_id: int | None, profile: GameProfile) -> ModelVersion:
    """The version asked for, else the profile's active one, else the bundled model."""
    if version_id is not None:
        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is None:
            raise ModelVersionError(f"no model version #{version_id}")
        if version.profile != profile.name:
            raise ModelVersionError(f"model version #{version_id} is for the game profile {version.profile!r}, "
                                    f"not {profile.name!r}")
        _check_classes(version, profile)
        return version
    active = ModelVersion.objects.filter(profile=profile.name, active=True).first()
    if active is not None and Path(active.onnx_file).is_file():
        return active
    return model_version_bundled(profile=profile)


def model_ref(version: ModelVersion) -> ModelRef:
    """The file a run loads for a version, refused if it changed since it was registered."""
    path = Path(version.onnx_file)
    try:
        digest = file_sha256(path)
    except OSError:
        raise ModelVersionError(f"model version {version.name}: its file is gone; register it again") from None
    if version.sha256 and digest != version.sha256:
        raise ModelVersionError(f"model version {version.name}: its file changed since it was registered")
    return ModelRef(path=str(path), name=version.name, sha256=digest)


def model_ref_for_option(option: str | None, *, profile: GameProfile) -> ModelRef:
    """`manage.py detect --model`: a version id or name, or an ONNX file (the shell's user may load any);
    without it the version a job would use."""
    if option is None:
        return model_ref(model_version_choose(version_id=None, profile=profile))
    if option.isdigit():
        return model_ref(model_version_choose(version_id=int(option), profile=profile))
    named = ModelVersion.objects.filter(name=option).first()
    if named is not None:
        return model_ref(model_version_choose(version_id=named.pk, profile=profile))
    if not Path(option).is_file():
        raise ModelVersionError(f"--model {option}: neither a model version (id or name) nor an ONNX file")
    return model_ref_for_file(option)


def detect_settings_for(*, params: Mapping[str, object] | None, model: ModelRef) -> DetectSettings:
    """The one way to a run's settings, for the job, the command and live mode: this installation's defaults."""
    return DetectSettings.from_params(
        params,
        model=model,
        detection_fps=settings.VODSCOPE_DETECTION_FPS,
        providers=tuple(settings.VODSCOPE_ONNX_PROVIDERS),
    )


def _check_classes(version: ModelVersion, profile: GameProfile) -> None:
    if list(version.classes) != list(profile.classes):
        raise ModelVersionError(
            f"model version {version.name} detects {list(version.classes)}, the game profile {profile.name!r} "
            f"needs {list(profile.classes)}"
        )
