"""The test stage: what the artifact must show before it is offered, read back with the platform's tools."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from hangar.builds.android import bundle
from hangar.builds.android.render import ACTIVITY_CLASS, assets_rendered
from hangar.builds.android.spec import AndroidBuildSpec
from hangar.builds.android.toolchain import jar_signer_certificate
from hangar.builds.errors import ToolchainError, VerificationError
from hangar.builds.steps import StepRunner

_BADGING_PACKAGE = re.compile(r"^package: name='([^']*)' versionCode='(\d+)' versionName='([^']*)'", re.MULTILINE)
_BADGING_LABEL = re.compile(r"^application-label:'(.*)'$", re.MULTILINE)
_BADGING_ACTIVITY = re.compile(r"^launchable-activity: name='([^']*)'", re.MULTILINE)
_BADGING_ICONS = re.compile(r"^application-icon-(\d+):'([^']*)'$", re.MULTILINE)
_SCHEME = re.compile(r"^Verified using v(\d) scheme[^:]*: (true|false)$", re.MULTILINE)


def badging_label(raw: str) -> str:
    """aapt2's badging escapes a double quote as \\" in the label; undo it."""
    return raw.replace('\\"', '"')


def artifact_report(path: Path, *, spec: AndroidBuildSpec, signer_sha256: str, runner: StepRunner) -> dict[str, Any]:
    """The test stage of the spec's artifact format (an APK or a bundle)."""
    if spec.artifact_format == "aab":
        return aab_report(path, spec=spec, signer_sha256=signer_sha256, runner=runner)
    return apk_report(path, spec=spec, signer_sha256=signer_sha256, runner=runner)


def apk_report(apk: Path, *, spec: AndroidBuildSpec, signer_sha256: str, runner: StepRunner) -> dict[str, Any]:
    """Check alignment, both signature schemes, and the badging against the spec; VerificationError if any differ."""
    runner.run(["zipalign", "-c", "-p", "4", apk])
    signatures = runner.run(["apksigner", "verify", "--verbose", "--print-certs", apk])
    schemes = {f"v{number}": value == "true" for number, value in _SCHEME.findall(signatures)}
    badging = runner.run(["aapt2", "dump", "badging", apk])
    report = _badging_report(badging, spec=spec, signer_sha256=signer_sha256)
    report.update(zipalign=True, signature_schemes=schemes)
    wrong = _badging_wrong(report, spec)
    if not (schemes.get("v2") and schemes.get("v3")):
        wrong.append("signature_schemes")
    return _passed(report, wrong)


def aab_report(aab: Path, *, spec: AndroidBuildSpec, signer_sha256: str, runner: StepRunner) -> dict[str, Any]:
    """Check a bundle: its JAR signature and signer, its layout, its assets, and the badging of its base module.

    The base module is turned back into an APK with ``aapt2 convert``, as bundletool's build-apks
    does, so its manifest and resource table are read by the same badging as an APK's.
    """
    try:
        jar = runner.run(["jarsigner", "-verify", aab])
    except ToolchainError as exc:
        raise VerificationError("The bundle's JAR signature does not verify.") from exc
    signed = "jar verified." in jar and "unsigned entries" not in jar
    try:
        with zipfile.ZipFile(aab) as archive:
            names = set(archive.namelist())
            config = archive.read(bundle.BUNDLE_CONFIG) if bundle.BUNDLE_CONFIG in names else b""
        workdir = aab.parent / f"{aab.stem}-base"
        workdir.mkdir(exist_ok=True)
        assets = bundle.module_as_proto_apk(aab, workdir / "proto.apk")
        version = bundle.bundle_config_version(config) if config else None
    except (zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise VerificationError("The bundle is not a readable Android App Bundle.") from exc
    try:
        runner.run(
            ["aapt2", "convert", "--output-format", "binary", "-o", workdir / "binary.apk", workdir / "proto.apk"]
        )
        badging = runner.run(["aapt2", "dump", "badging", workdir / "binary.apk"])
    except ToolchainError as exc:
        raise VerificationError("The bundle's base module does not convert to an APK.") from exc
    report = _badging_report(badging, spec=spec, signer_sha256=signer_sha256)
    report.update(
        jar_signature=signed, bundletool_version=version,
        layout={path: path in names for path in bundle.REQUIRED_ENTRIES},
        assets_match=assets == assets_rendered(spec),
    )  # fmt: skip
    wrong = _badging_wrong(report, spec)
    wrong += [name for name in ("jar_signature", "bundletool_version", "assets_match") if not report[name]]
    if not all(report["layout"].values()):
        wrong.append("layout")
    if jar_signer_certificate(aab) != signer_sha256:
        wrong.append("signer_sha256")
    return _passed(report, wrong)


def _badging_report(badging: str, *, spec: AndroidBuildSpec, signer_sha256: str) -> dict[str, Any]:
    package = _BADGING_PACKAGE.search(badging)
    label = _BADGING_LABEL.search(badging)
    activity = _BADGING_ACTIVITY.search(badging)
    report: dict[str, Any] = {
        "artifact_format": spec.artifact_format,
        "signer_sha256": signer_sha256,
        "package_name": package.group(1) if package else None,
        "version_code": int(package.group(2)) if package else None,
        "version_name": package.group(3) if package else None,
        "label": badging_label(label.group(1)) if label else None,
        "launchable_activity": activity.group(1) if activity else None,
        "icons": {density: path for density, path in _BADGING_ICONS.findall(badging)},
        "internet_permission": "uses-permission: name='android.permission.INTERNET'" in badging,
    }
    return report


def _badging_wrong(report: dict[str, Any], spec: AndroidBuildSpec) -> list[str]:
    expected = {
        "package_name": spec.package_name, "version_code": spec.version_code, "version_name": spec.version_name,
        "label": spec.label, "launchable_activity": ACTIVITY_CLASS, "internet_permission": True,
    }  # fmt: skip
    wrong = [name for name, value in expected.items() if report[name] != value]
    if len(report["icons"]) < 5:
        wrong.append("icons")
    return wrong


def _passed(report: dict[str, Any], wrong: list[str]) -> dict[str, Any]:
    report["passed"] = not wrong
    if wrong:
        raise VerificationError(f"The artifact does not match its profile: {', '.join(wrong)}.")
    return report
