"""The generated TypeScript SDK: its npm tarball compiles with tsc --strict (TypeScript pinned in package.json)
together with a program that drives a live Hangar under Node; a program that misuses the types does not compile."""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from sdk_gen.services import sdk_package_build
from tests.conftest import REPO_DIR
from tests.sdk_gen.conftest import PROGRAMS, SdkApp

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TSC = REPO_DIR / "node_modules" / "typescript" / "bin" / "tsc"
# The LiveQuery part needs a WebSocket constructor; Node 20 has none, the `ws` package (there for `parse`) does.
WS_MODULE = (REPO_DIR / "node_modules" / "ws" / "wrapper.mjs").as_uri()


def _unpack(sdk_app: SdkApp, tmp_path: Path) -> Path:
    package = sdk_package_build(app=sdk_app.tenant.app, language="typescript")
    assert package.filename == "sdk-app-sdk-1.1.0.tgz"
    with tarfile.open(fileobj=io.BytesIO(bytes(package.content)), mode="r:gz") as archive:
        archive.extractall(tmp_path, filter="data")
    return tmp_path / "package"


def _tsc(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(TSC), "-p", str(project / "tsconfig.json")], capture_output=True, text=True, timeout=300
    )


def test_npm_package_compiles_strict_and_runs_against_a_live_hangar(sdk_app: SdkApp, tmp_path: Path):
    package = _unpack(sdk_app, tmp_path)
    assert '"strict": true' in (package / "tsconfig.json").read_text()
    # Shipped compiled: ES modules with declarations, importable as they are.
    assert {"index.js", "index.d.ts", "runtime.js", "livequery.js", "offline.js"} <= {
        p.name for p in (package / "dist").iterdir()
    }
    (package / "src" / "typescript_program.ts").write_text((PROGRAMS / "typescript_program.ts").read_text())
    compiled = _tsc(package)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert (package / "dist" / "index.d.ts").exists()
    run = subprocess.run(
        ["node", str(package / "dist" / "typescript_program.js")], capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HANGAR_WS_MODULE": WS_MODULE, **sdk_app.program_env()},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("typescript sdk ok")


def test_tsc_strict_rejects_misuse(sdk_app: SdkApp, tmp_path: Path):
    package = _unpack(sdk_app, tmp_path)
    source = (PROGRAMS / "typescript_misuse.ts").read_text()
    (package / "src" / "typescript_misuse.ts").write_text(source)
    compiled = _tsc(package)
    assert compiled.returncode != 0
    errors = {int(n) for n in re.findall(r"typescript_misuse\.ts\((\d+),\d+\): error", compiled.stdout)}
    marked = {n for n, line in enumerate(source.splitlines(), 1) if line.endswith("// error")}
    assert errors == marked, compiled.stdout
