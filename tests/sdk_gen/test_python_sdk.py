"""The generated Python SDK: its wheel installs in a fresh virtualenv and drives a live Hangar; mypy --strict
accepts the SDK and a program using it, and rejects a program that misuses the types."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import pytest
from django.core.management import call_command
from packaging.requirements import Requirement

from sdk_gen.services import sdk_package_build
from tests.sdk_gen.conftest import PROGRAMS, SdkApp

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _runtime_dependencies(name: str, seen: set[str]) -> set[str]:
    """The distributions ``name`` needs at run time on this interpreter (no extras)."""
    if name.lower() in seen:
        return seen
    seen.add(name.lower())
    for line in distribution(name).requires or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            _runtime_dependencies(requirement.name, seen)
    return seen


def _dependency_path(target: Path) -> Path:
    """A directory holding only httpx and what it needs, linked from this interpreter's packages.

    The fresh virtualenv must not download anything (tests never leave loopback), so the wheel's one
    dependency comes from here, and nothing else of the host's environment is visible to the program.
    """
    wanted = _runtime_dependencies("httpx", set())
    target.mkdir()
    for module, owners in packages_distributions().items():
        if any(owner.lower() in wanted for owner in owners):
            spec_origin = __import__(module).__file__
            if spec_origin is None:
                continue
            source = Path(spec_origin)
            source = source.parent if source.name == "__init__.py" else source
            (target / source.name).symlink_to(source)
    return target


def _fresh_venv(tmp_path: Path) -> Path:
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    site = next((home / "lib").glob("python3*/site-packages"))
    deps = _dependency_path(tmp_path / "deps")
    (site / "hangar_test_deps.pth").write_text(f"{deps}\n")
    return home / "bin" / "python"


def test_wheel_installs_and_runs_against_a_live_hangar(sdk_app: SdkApp, tmp_path: Path):
    package = sdk_package_build(app=sdk_app.tenant.app, language="python")
    assert package.filename == "sdk_app_sdk-1.1.0-py3-none-any.whl"
    wheel = tmp_path / package.filename
    wheel.write_bytes(bytes(package.content))
    python = _fresh_venv(tmp_path)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    run = subprocess.run(
        [str(python), "-I", str(PROGRAMS / "python_program.py")], capture_output=True, text=True, timeout=120,
        env={"PATH": os.environ["PATH"], **sdk_app.program_env()},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("python sdk ok")


def _mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )  # fmt: skip


def test_mypy_strict_accepts_the_sdk_and_rejects_misuse(sdk_app: SdkApp, tmp_path: Path):
    out = tmp_path / "sdk"
    call_command("sdk_generate", app=sdk_app.tenant.application_id, lang="python", out=str(out))
    for name in ("python_program.py", "python_misuse.py"):
        (out / name).write_text((PROGRAMS / name).read_text())
    good = _mypy("sdk_app_sdk", "python_program.py", cwd=out)
    assert good.returncode == 0, good.stdout
    bad = _mypy("python_misuse.py", cwd=out)
    assert bad.returncode == 1, bad.stdout
    errors = {int(line) for line in re.findall(r"python_misuse\.py:(\d+): error", bad.stdout)}
    marked = {n for n, line in enumerate((out / "python_misuse.py").read_text().splitlines(), 1) if "# error" in line}
    assert errors == marked, bad.stdout
