"""The README's configuration table names every environment variable the code reads."""

from __future__ import annotations

import re
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
READS = re.compile(
    r"""(?:env_(?:str|int|bool|list|required)|os\.environ\.get|environ\.setdefault)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)
NOT_OURS = {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}


def test_every_environment_variable_is_documented():
    sources = [*(REPO_DIR / "platform" / "hangar").rglob("*.py"), *(REPO_DIR / "tenants").rglob("*.py")]
    names = {name for path in sources for name in READS.findall(path.read_text())} - NOT_OURS
    readme = (REPO_DIR / "README.md").read_text()
    assert names, "found no environment reads: the pattern is stale"
    missing = sorted(name for name in names if f"`{name}`" not in readme and f"{name}`" not in readme)
    assert missing == []
