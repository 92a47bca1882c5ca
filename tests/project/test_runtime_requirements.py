"""The runtime venv (`requirements.txt`: what `scripts/run.sh` installs) provides every package the app's own code
imports; a package pinned only for development (`requirements-dev.txt`) must not be one of them. The test venv has
both, so a runtime import of a dev-only package passed every other test and broke the app (`onnx`, stop 24)."""
from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What runs in the web app, the workers and live mode; tests, benchmarks and scripts have venvs of their own.
APP_PACKAGES = ("project", "detection", "labeling", "review", "importer")

pytestmark = pytest.mark.pure


def imported_top_levels(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def pinned(requirements: Path) -> set[str]:
    names: set[str] = set()
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(canonical(re.split(r"[=<>!~\[; ]", line)[0]))
    return names


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def with_dependencies(names: set[str]) -> set[str]:
    """The distributions and everything they require (extras left out), as installed here."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" not in requirement:
                todo.append(canonical(re.split(r"[=<>!~\[; (]", requirement)[0]))
    return seen


def test_every_package_the_app_imports_is_a_runtime_requirement() -> None:
    local = {path.name for path in ROOT.iterdir() if (path / "__init__.py").is_file()} | {"manage"}
    imported: dict[str, set[str]] = {}
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for name in imported_top_levels(path) - local - set(sys.stdlib_module_names) - {"__future__"}:
                imported.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    providers = metadata.packages_distributions()
    runtime = with_dependencies(pinned(ROOT / "requirements.txt"))
    missing = {name: sorted(paths)[:3] for name, paths in imported.items()
               if not {canonical(d) for d in providers.get(name, [name])} & runtime}
    assert imported and not missing, f"imported by the app but not installed by requirements.txt: {missing}"
