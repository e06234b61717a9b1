"""The generated Java SDK: a program compiled with javac against the jar drives a live Hangar; the jar's
sources compile on their own; a program that misuses the types does not compile."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from sdk_gen.services import sdk_package_build
from tests.sdk_gen.conftest import PROGRAMS, SdkApp

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _jar(sdk_app: SdkApp, tmp_path: Path) -> Path:
    package = sdk_package_build(app=sdk_app.tenant.app, language="java")
    assert package.filename == "sdk-app-sdk-1.1.0.jar"
    jar = tmp_path / package.filename
    jar.write_bytes(bytes(package.content))
    return jar


def _javac(jar: Path, program: str, out: Path) -> subprocess.CompletedProcess[str]:
    source = out / f"{program}.java"
    out.mkdir(exist_ok=True)
    shutil.copy(PROGRAMS / f"{program}.java", source)
    # --release 11: the SDK promises Java 11+ (Android).
    return subprocess.run(
        ["javac", "--release", "11", "-Xlint:all", "-Werror", "-cp", str(jar), "-d", str(out / "classes"),
         str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_jar_compiles_and_runs_against_a_live_hangar(sdk_app: SdkApp, tmp_path: Path):
    jar = _jar(sdk_app, tmp_path)
    compiled = _javac(jar, "JavaProgram", tmp_path / "good")
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    run = subprocess.run(
        ["java", "-cp", f"{tmp_path / 'good' / 'classes'}:{jar}", "JavaProgram"], capture_output=True, text=True,
        timeout=120, env={"PATH": "/usr/bin:/bin", **sdk_app.program_env()},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("java sdk ok")


def test_javac_rejects_misuse(sdk_app: SdkApp, tmp_path: Path):
    jar = _jar(sdk_app, tmp_path)
    compiled = _javac(jar, "JavaMisuse", tmp_path / "bad")
    assert compiled.returncode != 0
    errors = {int(n) for n in re.findall(r"JavaMisuse\.java:(\d+): error", compiled.stderr)}
    source = (PROGRAMS / "JavaMisuse.java").read_text()
    marked = {n for n, line in enumerate(source.splitlines(), 1) if line.endswith("// error")}
    assert errors == marked, compiled.stderr


def test_jar_sources_compile_without_warnings(sdk_app: SdkApp, tmp_path: Path):
    jar = _jar(sdk_app, tmp_path)
    with zipfile.ZipFile(jar) as archive:
        names = archive.namelist()
        assert "dev/hangar/sdk/sdk_app/Player.class" in names
        sources = [n for n in names if n.endswith(".java")]
        archive.extractall(tmp_path / "src", members=sources)
    compiled = subprocess.run(
        ["javac", "--release", "11", "-Xlint:all,-serial", "-Werror", "-d", str(tmp_path / "classes"),
         *(str(tmp_path / "src" / n) for n in sources)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
