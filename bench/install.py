"""The two tools the harness needs and installs when missing: wrk (Debian) and Parse Server (npm)."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

from bench.paths import BENCH_DIR, PARSE_INSTALL_DIR

_PINNED_FILES = ("package.json", "package-lock.json")


class InstallError(RuntimeError):
    """A tool the benchmark needs is missing and cannot be installed here."""


def ensure_wrk() -> str:
    """Return the path of wrk, installing Debian's package first if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise InstallError("wrk is missing: install it with `apt-get install -y wrk`")
    print("installing wrk from Debian", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        # A fresh machine may not have package lists yet.
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise InstallError("apt-get installed wrk but it is not on PATH")
    return found


def _pins_changed() -> bool:
    """Whether bench/parse's package files differ from the installed copy (or nothing is installed)."""
    if not (PARSE_INSTALL_DIR / "node_modules" / ".package-lock.json").exists():
        return True
    return not all(
        (PARSE_INSTALL_DIR / name).exists() and filecmp.cmp(BENCH_DIR / "parse" / name, PARSE_INSTALL_DIR / name)
        for name in _PINNED_FILES
    )


def ensure_parse_server() -> Path:
    """Install the pinned Parse Server into bench/.work/parse (npm ci) unless it is there already; return its CLI."""
    if _pins_changed():
        if not shutil.which("npm"):
            raise InstallError("npm is needed to install Parse Server (apt-get install -y npm)")
        print("installing Parse Server from bench/parse/package-lock.json (npm ci)", flush=True)
        PARSE_INSTALL_DIR.mkdir(parents=True, exist_ok=True)
        for name in _PINNED_FILES:
            shutil.copyfile(BENCH_DIR / "parse" / name, PARSE_INSTALL_DIR / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PARSE_INSTALL_DIR, check=True)
    return PARSE_INSTALL_DIR / "node_modules" / ".bin" / "parse-server"
