"""The smali template and its Java twin call the same framework methods; the template renders safe strings."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hangar.builds.android import render

SHELL = render.SHELL_DIR
INVOKE = re.compile(r"invoke-(?:direct|virtual|super|static)\s+\{[^}]*\},\s+L([\w/$]+);->([\w<>$]+)\(([^)]*)\)(\S+)")
JAVAP = re.compile(
    r"invoke(?:special|virtual|static)\s+#\d+\s+// Method (?:([\w/$]+)\.)?\"?([\w<>$]+)\"?:\(([^)]*)\)(\S+)"
)
SELF = "app/hangar/shell/MainActivity"


def _smali_calls() -> set[tuple[str, str, str, str]]:
    calls = set(INVOKE.findall(render.SMALI_TEMPLATE.read_text()))
    # smali calls the inherited setContentView through its own class, as javac does.
    return {(owner, name, args, ret) for owner, name, args, ret in calls}


def _java_calls(tmp_path: Path) -> set[tuple[str, str, str, str]]:
    subprocess.run(
        ["javac", "--release", "8", "-d", str(tmp_path), "-sourcepath", str(SHELL / "stubs"),
         str(SHELL / "java" / "app" / "hangar" / "shell" / "MainActivity.java")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    dump = subprocess.run(
        ["javap", "-c", "-p", str(tmp_path / "app" / "hangar" / "shell" / "MainActivity.class")],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    return {(owner or SELF, name, args, ret) for owner, name, args, ret in JAVAP.findall(dump)}


@pytest.mark.skipif(not shutil.which("javac"), reason="no JDK")
def test_both_shells_reference_the_same_framework_methods(tmp_path):  # type: ignore[no-untyped-def]
    smali, java = _smali_calls(), _java_calls(tmp_path)
    assert smali, "the pattern found no call in the template"
    assert smali == java


def test_both_shells_declare_the_same_constants():
    smali_fields = set(
        re.findall(r"^\.field public static final (\w+):Ljava/lang/String;", render.SMALI_TEMPLATE.read_text(), re.M)
    )
    java = (SHELL / "java" / "app" / "hangar" / "shell" / "MainActivity.java").read_text()
    java_fields = set(re.findall(r"public static final String (\w+) =", java))
    assert smali_fields == java_fields == {"START_URL", "SERVER_URL", "APPLICATION_ID", "CLIENT_KEY"}


@pytest.mark.parametrize(
    ("value", "literal"),
    [('say "hi"', 'say \\"hi\\"'), ("back\\slash", "back\\\\slash"), ("it's", "it\\'s"),
     ("é😀", "\\u00e9\\ud83d\\ude00"), ("line\nbreak", "line\\u000abreak")],
)  # fmt: skip
def test_smali_strings_are_escaped(value: str, literal: str) -> None:
    assert render.smali_string(value) == literal


def test_android_strings_escape_a_leading_at_and_quotes() -> None:
    assert render.android_string('@Bob\'s "x"') == "\\u0040Bob\\u0027s\\u0020\\u0022x\\u0022"
    assert render.android_string("Café 2") == "Café\\u00202"
