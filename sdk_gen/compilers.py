"""Compiling generated sources for their packages: TypeScript to ES modules with declarations, Java to classes.

Each compiler is used only where it exists on the machine (Node with the project's pinned ``typescript``
package, a JDK's ``javac``); without it the package carries the sources alone and says so in its README.
Every run has a deadline.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

COMPILE_TIMEOUT_SECONDS = 120


def _tsc() -> Path | None:
    tsc = Path(settings.REPO_DIR) / "node_modules" / "typescript" / "bin" / "tsc"
    return tsc if tsc.exists() and shutil.which("node") else None


def typescript_available() -> bool:
    return _tsc() is not None


def java_available() -> bool:
    return shutil.which("javac") is not None


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def typescript_compile(files: dict[str, str]) -> dict[str, str] | None:
    """``dist/*.js`` and ``dist/*.d.ts`` of the SDK (its own tsconfig: strict), or None without a compiler."""
    tsc = _tsc()
    if tsc is None:
        return None
    with tempfile.TemporaryDirectory(prefix="hangar-sdk-ts-") as work:
        root = Path(work)
        _write(root, files)
        result = subprocess.run(
            ["node", str(tsc), "-p", str(root / "tsconfig.json")],
            capture_output=True, text=True, timeout=COMPILE_TIMEOUT_SECONDS,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"the generated TypeScript did not compile: {result.stdout[-2000:]}")
        return {str(p.relative_to(root)): p.read_text() for p in sorted((root / "dist").rglob("*")) if p.is_file()}


def java_compile(files: dict[str, str]) -> dict[str, bytes] | None:
    """The SDK's ``.class`` files by jar path (compiled for Java 11), or None without a JDK."""
    if not java_available():
        return None
    with tempfile.TemporaryDirectory(prefix="hangar-sdk-java-") as work:
        root = Path(work)
        _write(root / "src", files)
        out = root / "classes"
        sources = [str(p) for p in sorted((root / "src").rglob("*.java"))]
        result = subprocess.run(
            ["javac", "--release", "11", "-encoding", "UTF-8", "-d", str(out), *sources],
            capture_output=True, text=True, timeout=COMPILE_TIMEOUT_SECONDS,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"the generated Java did not compile: {result.stderr[-2000:]}")
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.class"))}
