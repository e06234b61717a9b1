"""Archives of generated sources: a Python wheel, an npm package tarball and a jar with sources.

Each is built in memory with the standard library (zipfile, tarfile), with fixed timestamps so the
same schema gives byte-identical packages.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile

# 1980-01-01, the earliest a zip entry can carry: archives do not change with the clock.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name])
    return buffer.getvalue()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def wheel_build(*, distribution: str, version: str, summary: str, requires: list[str],
                files: dict[str, str]) -> tuple[str, bytes]:  # fmt: skip
    """A pure-Python wheel (PEP 427) of ``files`` (package paths -> source); returns (file name, bytes)."""
    name = distribution.replace("-", "_")
    dist_info = f"{name}-{version}.dist-info"
    entries = {path: text.encode() for path, text in files.items()}
    metadata = ["Metadata-Version: 2.1", f"Name: {distribution}", f"Version: {version}", f"Summary: {summary}",
                "Requires-Python: >=3.11", *(f"Requires-Dist: {r}" for r in requires)]  # fmt: skip
    entries[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    wheel = "Wheel-Version: 1.0\nGenerator: hangar-sdk-gen\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries[f"{dist_info}/WHEEL"] = wheel.encode()
    record = [f"{path},{_record_hash(data)}" for path, data in sorted(entries.items())]
    record.append(f"{dist_info}/RECORD,,")
    entries[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return f"{name}-{version}-py3-none-any.whl", _zip(entries)


def npm_tarball_build(*, name: str, version: str, files: dict[str, str]) -> tuple[str, bytes]:
    """An npm package tarball (what ``npm pack`` makes: every file under ``package/``)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(files):
            data = files[path].encode()
            info = tarfile.TarInfo(f"package/{path}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 499162500  # npm's own fixed date (1985-10-26) for reproducible packs
            archive.addfile(info, io.BytesIO(data))
    safe = name.lstrip("@").replace("/", "-")
    return f"{safe}-{version}.tgz", buffer.getvalue()


def jar_build(
    *, name: str, version: str, files: dict[str, str], classes: dict[str, bytes] | None = None
) -> tuple[str, bytes]:
    """A jar holding the Java sources (and compiled classes when given)."""
    entries = {path: text.encode() for path, text in files.items()}
    entries.update(classes or {})
    manifest = (
        "Manifest-Version: 1.0\nCreated-By: hangar-sdk-gen\n"
        f"Implementation-Title: {name}\nImplementation-Version: {version}\n"
    )
    entries["META-INF/MANIFEST.MF"] = manifest.encode()
    return f"{name}-{version}.jar", _zip(entries)
