"""Guards on the source layout (DESIGN.md section 2)."""

from __future__ import annotations

import sys
from importlib.metadata import packages_distributions
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
SOURCE_ROOTS = [REPO_DIR / "platform", REPO_DIR]


def _top_level_packages() -> set[str]:
    names = set()
    for root in SOURCE_ROOTS:
        for child in root.iterdir():
            if child.is_dir() and (child / "__init__.py").exists():
                names.add(child.name)
            elif child.suffix == ".py":
                names.add(child.stem)
    return names - {"manage", "tests"}


def test_platform_is_not_a_package():
    """platform/__init__.py would shadow the standard library's platform module."""
    assert not (REPO_DIR / "platform" / "__init__.py").exists()
    import platform

    assert Path(platform.__file__).parent != REPO_DIR / "platform"
    assert callable(platform.system)


def test_no_package_shadows_the_standard_library_or_an_installed_distribution():
    ours = _top_level_packages()
    stdlib = set(sys.stdlib_module_names)
    installed = set(packages_distributions())
    assert ours, "expected to find Hangar's packages"
    assert not ours & stdlib
    assert not ours & installed


def test_parse_error_codes_are_defined_once():
    """A Parse error code is part of the wire protocol: every module imports it from hangar.parse_errors."""
    import re

    from hangar import parse_errors

    codes = {name for name, value in vars(parse_errors).items() if name.isupper() and isinstance(value, int)}
    definition = re.compile(r"^([A-Z_][A-Z0-9_]*) = -?\d+$", re.M)
    copies = []
    for path in (REPO_DIR / "platform" / "hangar").rglob("*.py"):
        if path.name == "parse_errors.py" or "migrations" in path.parts:
            continue
        copies += [
            f"{path.relative_to(REPO_DIR)}: {name}" for name in definition.findall(path.read_text()) if name in codes
        ]
    assert copies == []
