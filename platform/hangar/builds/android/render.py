"""The shell's sources for one build: manifest, label string, launcher icons, DEX template, assets.

Everything here is a pure function of the spec, so two builds of one spec get the same bytes.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from hangar.builds.android.spec import AndroidBuildSpec

SHELL_DIR = Path(__file__).parent / "shell"
SMALI_TEMPLATE = SHELL_DIR / "MainActivity.smali"
BRIDGE_TEMPLATE = SHELL_DIR / "HangarBridge.smali"
JAVA_TWIN = SHELL_DIR / "java" / "app" / "hangar" / "shell" / "MainActivity.java"
BRIDGE_TWIN = SHELL_DIR / "java" / "app" / "hangar" / "shell" / "HangarBridge.java"
ACTIVITY_CLASS = "app.hangar.shell.MainActivity"
MIN_SDK = 24
TARGET_SDK = 29  # Debian's framework-res.apk is API 29: the newest level aapt2 can link against here
# Launcher icon sizes per density (https://developer.android.com/training/multiscreen/screendensities).
ICON_DENSITIES = {"mdpi": 48, "hdpi": 72, "xhdpi": 96, "xxhdpi": 144, "xxxhdpi": 192}


def smali_string(value: str) -> str:
    """``value`` as the inside of a smali string literal: ASCII only, quotes and backslashes escaped."""
    out = []
    data = value.encode("utf-16-be", "surrogatepass")
    for index in range(0, len(data), 2):
        code = int.from_bytes(data[index : index + 2], "big")
        char = chr(code)
        if char in "\"'\\":
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def android_string(value: str) -> str:
    """``value`` as an Android string resource's text, read back by aapt2 as exactly ``value``.

    Every ASCII character that is not a letter or a digit becomes a ``\\uXXXX`` escape: a leading
    ``@`` or ``?`` is then not a reference, quotes and apostrophes are not quoting, runs of spaces
    are not collapsed, and nothing is left for XML to misread.
    """
    return "".join(ch if ch.isalnum() or ord(ch) > 0x7F else f"\\u{ord(ch):04x}" for ch in value)


def java_string(value: str) -> str:
    """``value`` as a Java string literal's inside. Control characters become octal escapes, not \\uXXXX:
    javac turns unicode escapes into characters before it reads literals, so \\u000a would end the line."""
    out = []
    data = value.encode("utf-16-be", "surrogatepass")
    for index in range(0, len(data), 2):
        code = int.from_bytes(data[index : index + 2], "big")
        char = chr(code)
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        elif code < 0x7F:
            out.append(char)
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def java_rendered(spec: AndroidBuildSpec) -> dict[str, str]:
    """The Java twins with this build's constants, by file name: what the SDK toolchain compiles."""
    return {
        "MainActivity.java": _java_constants(JAVA_TWIN.read_text(), _constants(spec)),
        "HangarBridge.java": _java_constants(BRIDGE_TWIN.read_text(), {"CONFIG_JSON": connection_json(spec)}),
    }


def _java_constants(text: str, constants: dict[str, str]) -> str:
    for name, value in constants.items():
        pattern = re.compile(rf'(public static final String {name} = )"[^"\n]*";')
        # A function, not a replacement string: re would read the literal's backslashes as its own escapes.
        replacement = '"' + java_string(value) + '";'
        text, count = pattern.subn(lambda match: match.group(1) + replacement, text)  # noqa: B023 (used at once)
        assert count == 1, f"the Java twin lost its {name} constant"
    return text


def _constants(spec: AndroidBuildSpec) -> dict[str, str]:
    return {
        "START_URL": spec.effective_start_url,
        "SERVER_URL": spec.connection.server_url,
        "APPLICATION_ID": spec.connection.application_id,
        "CLIENT_KEY": spec.connection.client_key,
    }


def smali_rendered(spec: AndroidBuildSpec) -> dict[str, str]:
    """The smali sources with this build's constants, by file name."""
    activity = SMALI_TEMPLATE.read_text()
    for name, value in _constants(spec).items():
        activity = activity.replace("{{" + name + "}}", smali_string(value))
    bridge = BRIDGE_TEMPLATE.read_text().replace("{{CONFIG_JSON}}", smali_string(connection_json(spec)))
    return {"MainActivity.smali": activity, "HangarBridge.smali": bridge}


def connection_json(spec: AndroidBuildSpec) -> str:
    """The connection as the page reads it (``JSON.parse(window.Hangar.config())``) and as assets/hangar.json."""
    connection = {
        "serverURL": spec.connection.server_url,
        "applicationId": spec.connection.application_id,
        "clientKey": spec.connection.client_key,
        "startURL": spec.effective_start_url,
    }
    return json.dumps(connection, sort_keys=True)


def manifest_rendered(spec: AndroidBuildSpec) -> str:
    # The package is a checked Java name; versions and SDK levels are given to aapt2 link.
    cleartext = "true" if spec.effective_start_url.startswith("http:") else "false"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package={quoteattr(spec.package_name)}>
    <uses-permission android:name="android.permission.INTERNET"/>
    <application android:label="@string/app_name" android:icon="@mipmap/ic_launcher"
        android:allowBackup="false" android:usesCleartextTraffic="{cleartext}">
        <activity android:name="{ACTIVITY_CLASS}" android:exported="true"
            android:configChanges="orientation|screenSize|keyboardHidden">
            <intent-filter>
                <action android:name="android.intent.action.MAIN"/>
                <category android:name="android.intent.category.LAUNCHER"/>
            </intent-filter>
        </activity>
    </application>
</manifest>
"""


def strings_rendered(spec: AndroidBuildSpec) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<resources>\n'
        f'    <string name="app_name">{xml_escape(android_string(spec.label))}</string>\n</resources>\n'
    )


def icons_rendered(icon_png: bytes) -> dict[str, bytes]:
    """``mipmap-<density>/ic_launcher.png`` for each density, resized from the one uploaded PNG."""
    from PIL import Image

    icons = {}
    with Image.open(io.BytesIO(icon_png)) as source:
        image = source.convert("RGBA")
    for density, size in ICON_DENSITIES.items():
        out = io.BytesIO()
        image.resize((size, size), Image.Resampling.LANCZOS).save(out, format="PNG")
        icons[f"mipmap-{density}/ic_launcher.png"] = out.getvalue()
    return icons


def assets_rendered(spec: AndroidBuildSpec) -> dict[str, bytes]:
    """The bundle under ``www/`` byte for byte, and the Hangar connection as ``hangar.json``."""
    assets = {f"www/{path}": data for path, data in spec.web_bundle.items()}
    assets["hangar.json"] = connection_json(spec).encode() + b"\n"
    return assets


def project_written(spec: AndroidBuildSpec, root: Path) -> None:
    """Write the rendered sources under ``root``: AndroidManifest.xml, res/, smali/."""
    (root / "res" / "values").mkdir(parents=True)
    (root / "smali" / "app" / "hangar" / "shell").mkdir(parents=True)
    (root / "AndroidManifest.xml").write_text(manifest_rendered(spec))
    (root / "res" / "values" / "strings.xml").write_text(strings_rendered(spec))
    for path, data in icons_rendered(spec.icon_png).items():
        target = root / "res" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for name, text in smali_rendered(spec).items():
        (root / "smali" / "app" / "hangar" / "shell" / name).write_text(text)
