"""The test stage: what the artifact must show before it is offered, read back with the platform's tools."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hangar.builds.android.render import ACTIVITY_CLASS
from hangar.builds.android.spec import AndroidBuildSpec
from hangar.builds.errors import VerificationError
from hangar.builds.steps import StepRunner

_BADGING_PACKAGE = re.compile(r"^package: name='([^']*)' versionCode='(\d+)' versionName='([^']*)'", re.MULTILINE)
_BADGING_LABEL = re.compile(r"^application-label:'(.*)'$", re.MULTILINE)
_BADGING_ACTIVITY = re.compile(r"^launchable-activity: name='([^']*)'", re.MULTILINE)
_BADGING_ICONS = re.compile(r"^application-icon-(\d+):'([^']*)'$", re.MULTILINE)
_SCHEME = re.compile(r"^Verified using v(\d) scheme[^:]*: (true|false)$", re.MULTILINE)


def badging_label(raw: str) -> str:
    """aapt2's badging escapes a double quote as \\" in the label; undo it."""
    return raw.replace('\\"', '"')


def apk_report(apk: Path, *, spec: AndroidBuildSpec, signer_sha256: str, runner: StepRunner) -> dict[str, Any]:
    """Check alignment, both signature schemes, and the badging against the spec; VerificationError if any differ."""
    runner.run(["zipalign", "-c", "-p", "4", apk])
    signatures = runner.run(["apksigner", "verify", "--verbose", "--print-certs", apk])
    schemes = {f"v{number}": value == "true" for number, value in _SCHEME.findall(signatures)}
    badging = runner.run(["aapt2", "dump", "badging", apk])
    package = _BADGING_PACKAGE.search(badging)
    label = _BADGING_LABEL.search(badging)
    activity = _BADGING_ACTIVITY.search(badging)
    report: dict[str, Any] = {
        "zipalign": True,
        "signature_schemes": schemes,
        "signer_sha256": signer_sha256,
        "package_name": package.group(1) if package else None,
        "version_code": int(package.group(2)) if package else None,
        "version_name": package.group(3) if package else None,
        "label": badging_label(label.group(1)) if label else None,
        "launchable_activity": activity.group(1) if activity else None,
        "icons": {density: path for density, path in _BADGING_ICONS.findall(badging)},
        "internet_permission": "uses-permission: name='android.permission.INTERNET'" in badging,
    }
    expected = {
        "package_name": spec.package_name, "version_code": spec.version_code, "version_name": spec.version_name,
        "label": spec.label, "launchable_activity": ACTIVITY_CLASS, "internet_permission": True,
    }  # fmt: skip
    wrong = [name for name, value in expected.items() if report[name] != value]
    if not (schemes.get("v2") and schemes.get("v3")):
        wrong.append("signature_schemes")
    if len(report["icons"]) < 5:
        wrong.append("icons")
    report["passed"] = not wrong
    if wrong:
        raise VerificationError(f"The artifact does not match its profile: {', '.join(wrong)}.")
    return report
