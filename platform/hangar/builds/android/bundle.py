"""Android App Bundles (.aab) without bundletool: the layout `bundletool build-bundle` writes, assembled here.

Debian ships no bundletool, and an agent's SDK does not either, so the bundle is put together
from what aapt2 already makes. The format (https://developer.android.com/guide/app-bundle/app-bundle-format):

- ``BundleConfig.pb``: a ``BundleConfig`` protobuf message (bundletool's ``config.proto``); here
  only its ``bundletool.version`` field, which tells Play which bundletool defaults to apply;
- ``base/manifest/AndroidManifest.xml``: the manifest as a protobuf ``XmlNode``
  (``aapt2 link --proto-format``, not the binary XML of an APK);
- ``base/resources.pb``: the resource table as a protobuf ``ResourceTable``, and ``base/res/``
  its files (the same ``aapt2 link --proto-format``);
- ``base/dex/classes.dex`` and ``base/assets/``;
- ``META-INF/``: the JAR signature (v1), which is how Play authenticates the upload key. apksigner
  makes it (v1 only), as jarsigner would, but with no signing time: one spec gives one bundle's bytes.

bundletool's ``build-apks`` turns such a module back into APKs by running ``aapt2 convert`` on
it; the test stage does the same to read the bundle's badging (``module_as_proto_apk``).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

BUNDLE_CONFIG = "BundleConfig.pb"
BASE = "base"
# The bundletool release whose build-bundle layout this is; Play reads its defaults by this version.
BUNDLETOOL_VERSION = "1.15.6"
REQUIRED_ENTRIES = (BUNDLE_CONFIG, "base/manifest/AndroidManifest.xml", "base/resources.pb", "base/dex/classes.dex")
_PROTO_APK_PLACES = {"AndroidManifest.xml": "manifest/AndroidManifest.xml", "resources.pb": "resources.pb"}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    """One protobuf field of wire type 2 (bytes, string or an embedded message)."""
    return _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


def bundle_config(version: str = BUNDLETOOL_VERSION) -> bytes:
    """``BundleConfig { bundletool { version: <version> } }`` in protobuf's wire format.

    In config.proto, ``BundleConfig.bundletool`` is field 1 (a ``Bundletool`` message) and
    ``Bundletool.version`` is field 2 (field 1 is reserved). Every other field keeps its default.
    """
    return _length_delimited(1, _length_delimited(2, version.encode()))


def module_entries(*, linked_proto: Path, dex: bytes, assets: dict[str, bytes]) -> dict[str, bytes]:
    """The base module's files by path inside the bundle, from aapt2's proto-format output."""
    entries: dict[str, bytes] = {}
    with zipfile.ZipFile(linked_proto) as linked:
        for info in linked.infolist():
            if info.is_dir():
                continue
            name = info.filename
            if name in _PROTO_APK_PLACES:
                place = _PROTO_APK_PLACES[name]
            elif name.startswith("res/"):
                place = name
            else:  # anything else aapt2 put at the APK's root stays at the root of the module's APKs
                place = f"root/{name}"
            entries[f"{BASE}/{place}"] = linked.read(info)
    entries[f"{BASE}/dex/classes.dex"] = dex
    for path, data in assets.items():
        entries[f"{BASE}/assets/{path}"] = data
    return entries


def aab_assembled(
    *, linked_proto: Path, dex: bytes, assets: dict[str, bytes], out: Path, zip_time: tuple[int, ...]
) -> None:
    """Write the unsigned bundle: BundleConfig.pb, then the base module, in a fixed order and with fixed times."""
    entries = {BUNDLE_CONFIG: bundle_config(), **module_entries(linked_proto=linked_proto, dex=dex, assets=assets)}
    with zipfile.ZipFile(out, "w") as target:
        for name in sorted(entries, key=lambda name: (name != BUNDLE_CONFIG, name)):
            info = zipfile.ZipInfo(name, date_time=zip_time)  # type: ignore[arg-type]
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            target.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


def module_as_proto_apk(aab: Path, out: Path, *, module: str = BASE) -> dict[str, bytes]:
    """The module laid out as aapt2's proto-format APK (what ``aapt2 convert`` reads); the module's assets."""
    prefix = f"{module}/"
    places = {f"{prefix}{place}": name for name, place in _PROTO_APK_PLACES.items()}
    assets: dict[str, bytes] = {}
    with zipfile.ZipFile(aab) as bundle, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as apk:
        for info in bundle.infolist():
            name = info.filename
            if name in places:
                apk.writestr(places[name], bundle.read(info))
            elif name.startswith(f"{prefix}res/"):
                apk.writestr(name.removeprefix(prefix), bundle.read(info))
            elif name.startswith(f"{prefix}assets/"):
                assets[name.removeprefix(f"{prefix}assets/")] = bundle.read(info)
    return assets


def bundle_config_version(data: bytes) -> str | None:
    """The ``bundletool.version`` a BundleConfig.pb names (None if it names none): the reading half of bundle_config."""
    message = _fields(data)
    inner = message.get(1)
    if inner is None:
        return None
    version = _fields(inner).get(2)
    return version.decode() if version is not None else None


def _fields(data: bytes) -> dict[int, bytes]:
    """The length-delimited fields of one protobuf message (other wire types are skipped)."""
    fields: dict[int, bytes] = {}
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        key = _read_varint(stream)
        number, wire = key >> 3, key & 7
        if wire == 2:
            length = _read_varint(stream)
            fields[number] = stream.read(length)
        elif wire == 0:
            _read_varint(stream)
        elif wire == 5:
            stream.read(4)
        elif wire == 1:
            stream.read(8)
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return fields


def _read_varint(stream: io.BytesIO) -> int:
    value, shift = 0, 0
    while True:
        byte = stream.read(1)
        if not byte:
            raise ValueError("truncated protobuf varint")
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
