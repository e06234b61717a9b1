"""The generated Xcode project's structure (no iOS build runs here: that needs a macOS agent with Xcode)."""

from __future__ import annotations

import io
import json
import plistlib
import re
from typing import Any

import pytest

from hangar.builds.android.spec import HangarConnection
from hangar.builds.errors import BuildSpecError
from hangar.builds.ios.project import IosProjectSpec, bundle_id_checked, project_files
from tests.builds.conftest import BUNDLE_FILES, LABEL, icon_png

_TOKEN = re.compile(r'\s*(?://[^\n]*\n)?\s*("(?:[^"\\]|\\.)*"|[A-Za-z0-9_$/:.<>-]+|[{}();=,])')


def parse_pbx(text: str) -> Any:
    """A small reader of Xcode's ASCII plists (dicts, arrays, strings): enough to walk the project graph."""
    tokens = list(_TOKEN.findall(text))
    position = 0

    def value() -> Any:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "{":
            out: dict[str, Any] = {}
            while tokens[position] != "}":
                key = value()
                assert tokens[position] == "=", tokens[position - 3 : position + 3]
                position += 1
                assert key not in out, f"duplicate key {key}"
                out[key] = value()
                assert tokens[position] == ";"
                position += 1
            position += 1
            return out
        if token == "(":
            items = []
            while tokens[position] != ")":
                items.append(value())
                if tokens[position] == ",":
                    position += 1
            position += 1
            return items
        if token.startswith('"'):
            return token[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return token

    parsed = value()
    assert position == len(tokens), "trailing text after the root object"
    return parsed


def _spec(**overrides: Any) -> IosProjectSpec:
    fields: dict[str, Any] = {
        "bundle_id": "com.example.shop", "display_name": LABEL, "version": "1.4.2", "build_number": 42,
        "icon_png": icon_png(), "web_bundle": BUNDLE_FILES, "team_id": "ABCDE12345",
        "provisioning_profile": "Shop Ad Hoc", "start_url": "",
        "connection": HangarConnection("https://hangar.example/parse", "app-id", "client-key"),
    }  # fmt: skip
    fields.update(overrides)
    return IosProjectSpec(**fields)


def test_the_project_graph_references_every_generated_file():
    files = project_files(_spec())
    project = parse_pbx(files["HangarShell.xcodeproj/project.pbxproj"].decode())
    objects = project["objects"]
    root = objects[project["rootObject"]]
    assert root["isa"] == "PBXProject"
    [target] = [objects[t] for t in root["targets"]]
    assert target["productType"] == "com.apple.product-type.application"
    phases = {objects[p]["isa"]: objects[p] for p in target["buildPhases"]}

    def paths(phase: dict[str, Any]) -> set[str]:
        return {objects[objects[f]["fileRef"]]["path"] for f in phase["files"]}

    assert paths(phases["PBXSourcesBuildPhase"]) == {"AppDelegate.swift", "ShellViewController.swift"}
    assert paths(phases["PBXResourcesBuildPhase"]) == {"Assets.xcassets", "hangar.json", "www"}
    for path in {*paths(phases["PBXSourcesBuildPhase"]), "hangar.json", "Info.plist"}:
        assert f"HangarShell/{path}" in files
    assert all(re.fullmatch(r"[0-9A-F]{24}", key) for key in objects)
    [release] = [objects[c] for c in objects[target["buildConfigurationList"]]["buildConfigurations"]
                 if objects[c]["name"] == "Release"]  # fmt: skip
    settings = release["buildSettings"]
    assert settings["PRODUCT_BUNDLE_IDENTIFIER"] == "com.example.shop"
    assert settings["INFOPLIST_FILE"] == "HangarShell/Info.plist"
    assert settings["CODE_SIGN_STYLE"] == "Manual"
    assert settings["DEVELOPMENT_TEAM"] == "ABCDE12345"
    assert settings["CURRENT_PROJECT_VERSION"] == "42"


def test_the_plists_icon_and_content():
    from PIL import Image

    files = project_files(_spec())
    info = plistlib.loads(files["HangarShell/Info.plist"])
    assert info["CFBundleDisplayName"] == LABEL
    assert info["CFBundleShortVersionString"] == "1.4.2"
    assert info["CFBundleVersion"] == "42"
    export = plistlib.loads(files["ExportOptions.plist"])
    assert export["provisioningProfiles"] == {"com.example.shop": "Shop Ad Hoc"}
    assert export["teamID"] == "ABCDE12345"
    with Image.open(io.BytesIO(files["HangarShell/Assets.xcassets/AppIcon.appiconset/AppIcon.png"])) as icon:
        assert icon.size == (1024, 1024)
        assert icon.mode == "RGB"  # no alpha channel: the App Store refuses one
    assert {p.removeprefix("HangarShell/www/"): d for p, d in files.items() if "/www/" in p} == BUNDLE_FILES
    assert json.loads(files["HangarShell/hangar.json"])["applicationId"] == "app-id"


def test_swift_strings_are_escaped_and_generation_is_deterministic():
    url = 'https://shop.example.com/?q="x"\\y'
    files = project_files(_spec(start_url=url, web_bundle={}))
    source = files["HangarShell/ShellViewController.swift"].decode()
    assert 'static let startURL = "https://shop.example.com/?q=\\"x\\"\\\\y"' in source
    assert "WKWebView" in source
    assert "configuration.userContentController.addUserScript(bridge)" in source
    assert 'window.Hangar = { config: function () { return \\"{\\\\\\"applicationId' in source
    assert project_files(_spec()) == project_files(_spec())
    objects = parse_pbx(files["HangarShell.xcodeproj/project.pbxproj"].decode())["objects"]
    assert "www" not in {o.get("path") for o in objects.values()}  # a start-URL shell bundles no web folder
    assert not any(path.startswith("HangarShell/www/") for path in files)


@pytest.mark.parametrize("bundle_id", ["shop", "com.example.", "com.exa_mple.shop", "com.example.shop!", "a" * 160])
def test_an_invalid_bundle_id_is_refused(bundle_id: str) -> None:
    with pytest.raises(BuildSpecError):
        bundle_id_checked(bundle_id)


@pytest.mark.skipif(not __import__("shutil").which("node"), reason="no node")
def test_the_bridge_script_gives_the_page_its_connection():
    """Read the Swift literal back, run the script in node as WebKit would, and parse what config() returns."""
    import subprocess

    spec = _spec(connection=HangarConnection('https://h.example/parse?a="b"', "app-id", "key\\with'quote"))
    source = project_files(spec)["HangarShell/ShellViewController.swift"].decode()
    literal = re.search(r'static let bridgeScript = "((?:[^"\\]|\\.)*)"', source)
    assert literal
    script = re.sub(r"\\(.)", r"\1", literal.group(1))  # Swift's \" and \\ escapes
    probe = f"var window = {{}}; {script}; process.stdout.write(JSON.stringify(JSON.parse(window.Hangar.config())));"
    printed = subprocess.run(["node", "-e", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(printed) == {"serverURL": 'https://h.example/parse?a="b"', "applicationId": "app-id",
                                   "clientKey": "key\\with'quote", "startURL": ""}  # fmt: skip
