"""detection/pipeline is pure Python: importing every module in it must not import Django."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[2] / "detection" / "pipeline"

pytestmark = pytest.mark.pure


def pipeline_modules() -> list[str]:
    names = ["detection.pipeline"]
    for info in pkgutil.walk_packages([str(PIPELINE)], prefix="detection.pipeline."):
        names.append(info.name)
    return names


def test_pipeline_has_modules():
    assert "detection.pipeline.event_log" in pipeline_modules()


def test_every_pipeline_module_imports_without_django():
    modules = pipeline_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not leaked, f'django was imported: {leaked[:5]}'\n"
        "print(len(" + repr(modules) + "))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PIPELINE.parents[1])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                            cwd=PIPELINE.parents[1])
    assert result.returncode == 0, result.stderr[-3000:]
