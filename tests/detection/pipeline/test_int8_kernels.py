"""Whether onnxruntime's int8 convolutions sum exactly on this CPU (detection/pipeline/int8_kernels.py), and
the float models that run where they do not: the text detector's and the int8 YOLO copy's own. A CPU
without VNNI is emulated by qemu's Haswell model."""
from __future__ import annotations

import logging
import os
import platform
import random
import shutil
import site
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detection.pipeline import detector as detector_module
from detection.pipeline import text
from detection.pipeline.calibration import calibration_for_detector, calibration_for_model
from detection.pipeline.detector import DetectorConfig, OnnxDetector
from detection.pipeline.factory import weights_name
from detection.pipeline.int8_kernels import PROBE_CHANNELS, int8_convolutions_exact, probe_sums
from detection.pipeline.profile import load_profile as pipeline_profile
from detection.pipeline.run_settings import BUNDLED_MODEL
from detection.pipeline.text import RapidTextReader
from detection.render.profile import load_profile
from tests.detection.test_render_fields import screen

pytestmark = pytest.mark.pure
ROOT = Path(__file__).resolve().parents[3]
# Each output of the probe sums 16 pairs of 255 x 127 products: a kernel that adds every pair into a
# signed 16-bit value first gets 32,767 for each pair's 64,770.
SATURATED = PROBE_CHANNELS // 2 * 32767 / (255 * 127)
VNNI_FLAGS = {"avx512_vnni", "avx_vnni"}
FLOAT_MODEL = BUNDLED_MODEL.with_name("demo_yolo11n.onnx")
CLASSES = pipeline_profile("demo").classes


def detector_on(path: Path, monkeypatch: pytest.MonkeyPatch, *, exact: bool) -> OnnxDetector:
    monkeypatch.setattr(detector_module, "int8_convolutions_exact", lambda: exact)
    return OnnxDetector(DetectorConfig(model_path=str(path), classes=CLASSES, threads=1))


def cpu_flags() -> set[str]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    return next((set(line.split(":", 1)[1].split()) for line in lines if line.startswith("flags")), set())


def test_the_probe_is_exact_unfused_and_fused_either_exact_or_saturated_as_the_verdict_says() -> None:
    assert np.allclose(probe_sums(fused=False), PROBE_CHANNELS)
    fused = probe_sums()
    exact = int8_convolutions_exact()
    # The output's int8 step is PROBE_CHANNELS / 255: a saturated sum lands within one step of SATURATED.
    assert np.allclose(fused, PROBE_CHANNELS if exact else SATURATED, atol=PROBE_CHANNELS / 255)
    flags = cpu_flags()
    if flags & VNNI_FLAGS:
        assert exact
    elif "avx2" in flags:
        assert not exact


# The venv's own interpreter runs under qemu-x86_64: an x86 one. scripts/setup.sh dev installs qemu-user there.
@pytest.mark.skipif(platform.machine() != "x86_64", reason="qemu-x86_64 runs the venv's x86 interpreter only")
def test_a_cpu_without_vnni_is_found_saturating() -> None:
    """qemu's Haswell has AVX2 and no VNNI: onnxruntime picks the pairwise kernel there, as on such a real CPU."""
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        pytest.fail("qemu-x86_64 is missing: scripts/setup.sh dev installs Debian's qemu-user")
    # Under qemu the interpreter is the venv's real binary, which does not find the venv by itself.
    path = os.pathsep.join([str(ROOT), *site.getsitepackages()])
    probe = "from detection.pipeline.int8_kernels import int8_convolutions_exact, probe_sums; " \
            "print(int8_convolutions_exact(), float(probe_sums().max()))"
    done = subprocess.run([qemu, "-cpu", "Haswell", os.path.realpath(sys.executable), "-c", probe],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": path})
    assert done.returncode == 0, done.stderr[-2000:]
    verdict, largest = done.stdout.split()
    assert verdict == "False" and abs(float(largest) - SATURATED) < PROBE_CHANNELS / 255


def test_a_cpu_whose_int8_sums_saturate_reads_with_the_float_text_detector(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    text.int8_text_detector.cache_clear()
    monkeypatch.setattr(text, "int8_convolutions_exact", lambda: False)
    try:
        with caplog.at_level(logging.WARNING, logger=text.__name__):
            reader = RapidTextReader()
        assert reader.text_detector is None and reader.engine().cfg.Det.model_path is None
        assert "int8 convolutions saturate" in caplog.text
    finally:
        text.int8_text_detector.cache_clear()


def test_a_cpu_whose_int8_sums_saturate_detects_with_the_copys_float_model_and_its_calibration(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=detector_module.__name__):
        saturating = detector_on(BUNDLED_MODEL, monkeypatch, exact=False)
    assert "detecting with demo_yolo11n.onnx" in caplog.text
    assert saturating.config.model_path == str(BUNDLED_MODEL) and saturating.weights_path == FLOAT_MODEL
    assert weights_name(saturating) == FLOAT_MODEL.name  # what the run's metadata says ran
    assert calibration_for_detector(saturating) is calibration_for_model(FLOAT_MODEL)
    exact = detector_on(BUNDLED_MODEL, monkeypatch, exact=True)
    assert exact.weights_path == BUNDLED_MODEL and calibration_for_detector(exact) is calibration_for_model(BUNDLED_MODEL)
    assert weights_name(exact) == BUNDLED_MODEL.name
    float_model = detector_on(FLOAT_MODEL, monkeypatch, exact=False)
    assert float_model.weights_path == FLOAT_MODEL
    image, label, *_ = screen("map_select", (1280, 720), load_profile(), random.Random(3))
    frame = np.ascontiguousarray(np.asarray(image)[..., ::-1])
    found = saturating.detect([frame])[0]
    assert found == float_model.detect([frame])[0] and label in {d.label for d in found}


def test_a_copy_whose_float_model_is_not_beside_it_runs_as_it_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    copy = tmp_path / BUNDLED_MODEL.name
    shutil.copyfile(BUNDLED_MODEL, copy)
    with caplog.at_level(logging.WARNING, logger=detector_module.__name__):
        assert detector_on(copy, monkeypatch, exact=False).weights_path == copy
    assert "is not beside it" in caplog.text
    # A float model of that name but other weights is not the one the copy was made from.
    (tmp_path / FLOAT_MODEL.name).write_bytes(FLOAT_MODEL.read_bytes() + b"\0")
    assert detector_on(copy, monkeypatch, exact=False).weights_path == copy
