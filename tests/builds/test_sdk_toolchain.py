"""The Android SDK toolchain (javac + d8 + android.jar, on an agent with ANDROID_HOME): its build runs only there."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from hangar.builds.android import render
from hangar.builds.android.spec import AndroidBuildSpec, HangarConnection
from hangar.builds.android.toolchain import SdkAndroidToolchain, SigningMaterial
from hangar.builds.errors import ToolchainMissingError
from hangar.builds.steps import StepRunner
from tests.builds.conftest import BUNDLE_FILES, LABEL, icon_png

requires_sdk = pytest.mark.skipif(not SdkAndroidToolchain().available(), reason="no Android SDK here (ANDROID_HOME)")

TRICKY = 'https://shop.example.com/?q="quoted"&path=C:\\dir\\new&é=😀'


def _spec(start_url: str = "", artifact_format: str = "apk") -> AndroidBuildSpec:
    return AndroidBuildSpec(
        package_name="com.example.sdk", label=LABEL, version_code=9, version_name="9.0", icon_png=icon_png(),
        connection=HangarConnection("https://hangar.example/parse", "app-id", 'key"with\\quotes'),
        start_url=start_url, web_bundle={} if start_url else BUNDLE_FILES, artifact_format=artifact_format,
    )  # fmt: skip


@pytest.mark.skipif(not shutil.which("javac"), reason="no JDK")
def test_the_rendered_java_twin_compiles_with_its_constants(tmp_path: Path) -> None:
    folder = tmp_path / "src" / "app" / "hangar" / "shell"
    folder.mkdir(parents=True)
    for name, text in render.java_rendered(_spec(TRICKY)).items():
        (folder / name).write_text(text)
    stubs = str(render.SHELL_DIR / "stubs")
    sources = [str(path) for path in folder.iterdir()]
    subprocess.run(["javac", "--release", "8", "-d", str(tmp_path / "out"), "-sourcepath", stubs, *sources],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    # Compile a probe that prints the constants, run it, and compare with the spec byte for byte.
    probe = tmp_path / "Probe.java"
    probe.write_text(
        "import app.hangar.shell.HangarBridge;\nimport app.hangar.shell.MainActivity;\n"
        "public class Probe { public static void main(String[] a) throws Exception {\n"
        '  java.io.PrintStream out = new java.io.PrintStream(System.out, true, "UTF-8");\n'
        '  out.print(MainActivity.START_URL + "\\n" + MainActivity.CLIENT_KEY + "\\n" + HangarBridge.CONFIG_JSON);'
        " } }\n"
    )
    subprocess.run(["javac", "--release", "8", "-cp", str(tmp_path / "out"), "-d", str(tmp_path / "out"), str(probe)],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    printed = subprocess.run(["java", "-cp", str(tmp_path / "out"), "Probe"], capture_output=True, timeout=60).stdout
    assert printed.decode() == f'{TRICKY}\nkey"with\\quotes\n{render.connection_json(_spec(TRICKY))}'


def test_without_an_sdk_the_toolchain_says_what_is_missing(tmp_path: Path) -> None:
    toolchain = SdkAndroidToolchain(android_home=str(tmp_path))
    assert not toolchain.available()
    assert any("android.jar" in item for item in toolchain.missing())
    material = SigningMaterial(keystore=b"x", keystore_type="pkcs12", alias="a", store_password="p", key_password="p")
    runner = StepRunner(deadline=time.monotonic() + 10)
    with pytest.raises(ToolchainMissingError, match="sdk Android toolchain is not installed"):
        toolchain.build(_spec(), material, workdir=tmp_path, runner=runner)


def _material(keystore) -> SigningMaterial:  # type: ignore[no-untyped-def]
    return SigningMaterial(keystore=keystore.path.read_bytes(), keystore_type="pkcs12", alias=keystore.alias,
                           store_password=keystore.store_password, key_password=keystore.key_password)  # fmt: skip


@requires_sdk
def test_the_sdk_toolchain_builds_a_verified_apk(pkcs12_keystore) -> None:  # type: ignore[no-untyped-def]
    toolchain = SdkAndroidToolchain()
    material = SigningMaterial(keystore=pkcs12_keystore.path.read_bytes(), keystore_type="pkcs12",
                               alias=pkcs12_keystore.alias, store_password=pkcs12_keystore.store_password,
                               key_password=pkcs12_keystore.key_password)  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        artifact = toolchain.build(_spec(), material, workdir=Path(folder),
                                   runner=StepRunner(deadline=time.monotonic() + 300))  # fmt: skip
        assert artifact.signer_sha256 == pkcs12_keystore.sha256
        badging = subprocess.run([toolchain.tool("aapt2"), "dump", "badging", str(artifact.path)],
                                 capture_output=True, text=True, check=True, env=dict(os.environ)).stdout  # fmt: skip
        assert "package: name='com.example.sdk' versionCode='9'" in badging


@requires_sdk
def test_the_sdk_toolchain_builds_a_bundle_that_passes_the_test_stage(pkcs12_keystore) -> None:  # type: ignore[no-untyped-def]
    """d8's DEX in the same bundle layout; the platform's test stage converts its base module and reads it back."""
    from hangar.builds import verify

    toolchain = SdkAndroidToolchain()
    spec = _spec(artifact_format="aab")
    with tempfile.TemporaryDirectory() as folder:
        runner = StepRunner(deadline=time.monotonic() + 300)
        artifact = toolchain.build(spec, _material(pkcs12_keystore), workdir=Path(folder), runner=runner)
        assert artifact.path.suffix == ".aab"
        assert artifact.signer_sha256 == pkcs12_keystore.sha256
        report = verify.artifact_report(artifact.path, spec=spec, signer_sha256=artifact.signer_sha256, runner=runner)
        assert report["passed"]
        assert report["package_name"] == "com.example.sdk"
