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


CLASSES = ("MainActivity", "HangarBridge")


def _smali_calls(name: str) -> set[tuple[str, str, str, str]]:
    return set(INVOKE.findall((SHELL / f"{name}.smali").read_text()))


def _java_calls(tmp_path: Path, name: str) -> set[tuple[str, str, str, str]]:
    sources = [str(SHELL / "java" / "app" / "hangar" / "shell" / f"{each}.java") for each in CLASSES]
    subprocess.run(
        ["javac", "--release", "8", "-d", str(tmp_path), "-sourcepath", str(SHELL / "stubs"), *sources],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    dump = subprocess.run(
        ["javap", "-c", "-p", "-v", str(tmp_path / "app" / "hangar" / "shell" / f"{name}.class")],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    return {
        (owner or f"app/hangar/shell/{name}", method, args, ret) for owner, method, args, ret in JAVAP.findall(dump)
    }


@pytest.mark.skipif(not shutil.which("javac"), reason="no JDK")
@pytest.mark.parametrize("name", CLASSES)
def test_both_shells_reference_the_same_framework_methods(tmp_path, name):  # type: ignore[no-untyped-def]
    smali, java = _smali_calls(name), _java_calls(tmp_path, name)
    assert smali, "the pattern found no call in the template"
    assert smali == java


@pytest.mark.skipif(not shutil.which("javac"), reason="no JDK")
def test_the_bridge_method_is_a_javascript_interface_in_both(tmp_path):  # type: ignore[no-untyped-def]
    smali = (SHELL / "HangarBridge.smali").read_text()
    assert ".annotation runtime Landroid/webkit/JavascriptInterface;" in smali
    _java_calls(tmp_path, "HangarBridge")
    dump = subprocess.run(["javap", "-v", str(tmp_path / "app" / "hangar" / "shell" / "HangarBridge.class")],
                          check=True, capture_output=True, text=True, timeout=60).stdout  # fmt: skip
    assert "RuntimeVisibleAnnotations" in dump
    assert "Landroid/webkit/JavascriptInterface;" in dump


def test_both_shells_declare_the_same_constants():
    for name in CLASSES:
        smali = (SHELL / f"{name}.smali").read_text()
        smali_fields = set(re.findall(r"^\.field public static final (\w+):Ljava/lang/String;", smali, re.M))
        java = (SHELL / "java" / "app" / "hangar" / "shell" / f"{name}.java").read_text()
        java_fields = set(re.findall(r"public static final String (\w+) =", java))
        assert smali_fields == java_fields
    assert java_fields == {"CONFIG_JSON"}


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
