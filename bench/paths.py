"""Where the harness finds the project and keeps what it makes (all of it under bench/.work/, gitignored)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"
LOG_DIR = WORK_DIR / "logs"
REQUEST_DIR = WORK_DIR / "requests"
PARSE_INSTALL_DIR = WORK_DIR / "parse"
HANGAR_VAR_DIR = WORK_DIR / "hangar-var"
HANGAR_FILES_DIR = HANGAR_VAR_DIR / "files"  # Hangar's local files backend (settings.HANGAR_FILES_DIR)
# Parse Server runs in this directory: its FS files adapter stores under ./files/.
PARSE_FILES_DIR = WORK_DIR / "parse-files"
WRK_SCRIPT = BENCH_DIR / "wrk" / "request.lua"

# Servers run on the project virtualenv's interpreter (the Makefile creates it), whatever
# interpreter started the harness.
_VENV_PYTHON = REPO_DIR / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable


def log_path(name: str) -> Path:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return LOG_DIR / f"{name}.log"
