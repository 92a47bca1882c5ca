"""Whether onnxruntime's int8 convolutions sum exactly on this CPU (detection/pipeline/int8_kernels.py), and
the float text detector where they do not. A CPU without VNNI is emulated by qemu's Haswell model."""
from __future__ import annotations

import logging
import os
import platform
import shutil
import site
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detection.pipeline import text
from detection.pipeline.int8_kernels import PROBE_CHANNELS, int8_convolutions_exact, probe_sums
from detection.pipeline.text import RapidTextReader

pytestmark = pytest.mark.pure
ROOT = Path(__file__).resolve().parents[3]
# Each output of the probe sums 16 pairs of 255 x 127 products: a kernel that adds every pair into a
# signed 16-bit value first gets 32,767 for each pair's 64,770.
SATURATED = PROBE_CHANNELS // 2 * 32767 / (255 * 127)
VNNI_FLAGS = {"avx512_vnni", "avx_vnni"}


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


def test_a_cpu_without_vnni_is_found_saturating() -> None:
    """qemu's Haswell has AVX2 and no VNNI: onnxruntime picks the pairwise kernel there, as on such a real CPU."""
    if platform.machine() != "x86_64":
        pytest.skip("the emulated CPU is an x86 one")
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        if os.environ.get("CI"):
            pytest.fail("qemu-x86_64 is missing: scripts/setup.sh dev installs Debian's qemu-user")
        pytest.skip("qemu-x86_64 is not installed (scripts/setup.sh dev installs it)")
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
