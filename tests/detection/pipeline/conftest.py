from __future__ import annotations

from pathlib import Path

import pytest

from tests.detection.pipeline.synthetic import build_model, session_script, write_video


@pytest.fixture(scope="session")
def synthetic_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("model") / "synthetic.onnx")


@pytest.fixture(scope="session")
def session_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(session_script(), tmp_path_factory.mktemp("video") / "session.mkv",
                       creation_time="2026-03-01T18:00:00.000000Z")
