"""Android toolchains behind one interface: the shell's sources in, a signed and verified APK out.

``DebianAndroidToolchain`` runs here with Debian's packages (``make toolchains``): smali assembles
the DEX, aapt2 links the resources against framework-res.apk (API 29), Python assembles the zip
with fixed timestamps and order (so one spec always gives the same bytes), zipalign aligns it
and apksigner signs (v2 + v3) and verifies it. Passwords reach apksigner through its
environment (``--ks-pass env:NAME``), never its argv, which any local user can read in /proc.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from hangar.builds.android import bundle, render
from hangar.builds.android.spec import AndroidBuildSpec
from hangar.builds.errors import SigningError, ToolchainError, ToolchainMissingError
from hangar.builds.steps import StepRunner

FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")
DEBIAN_TOOLS = ("smali", "aapt2", "zipalign", "apksigner", "java", "jarsigner")
# Android tooling's own fixed entry time (2008-01-01): no build's date leaks into its bytes.
ZIP_TIMESTAMP = (2008, 1, 1, 0, 0, 0)
_SIGNER_DIGEST = re.compile(r"Signer #1 certificate SHA-256 digest: ([0-9a-f]{64})")
_PASSWORD_FAILURES = ("password", "keystore was tampered", "failed to load signer", "cannot recover key")


@dataclass(frozen=True)
class SigningMaterial:
    """A keystore opened from the vault for one build step; lives only in memory and a 0600 file."""

    keystore: bytes
    keystore_type: str  # "pkcs12" or "jks"
    alias: str
    store_password: str
    key_password: str


@dataclass(frozen=True)
class AndroidArtifact:
    path: Path  # the signed APK or AAB
    artifact_format: str  # "apk" or "aab"
    signer_sha256: str
    steps: dict[str, float]


class AndroidToolchain(ABC):
    """One way of turning an ``AndroidBuildSpec`` into a signed APK; chosen by HANGAR_BUILDS_ANDROID_TOOLCHAIN.

    The steps are the same for every toolchain; a toolchain says where its tools and its
    framework (what aapt2 links against) are, and how it makes classes.dex.
    """

    name = "abstract"

    @abstractmethod
    def missing(self) -> list[str]:
        """What this machine lacks for this toolchain (empty: it can build)."""

    def available(self) -> bool:
        return not self.missing()

    @abstractmethod
    def tool(self, name: str) -> str:
        """The command of an SDK tool (aapt2, zipalign, apksigner)."""

    @abstractmethod
    def framework(self) -> Path:
        """The framework aapt2 links against."""

    @abstractmethod
    def target_sdk(self) -> int: ...

    @abstractmethod
    def dex(self, spec: AndroidBuildSpec, src: Path, workdir: Path, runner: StepRunner) -> Path:
        """Make classes.dex of the shell; its path."""

    def versions(self) -> dict[str, str]:
        return {"toolchain": self.name, "target_sdk": str(self.target_sdk()), "min_sdk": str(render.MIN_SDK)}

    def build(
        self, spec: AndroidBuildSpec, signing: SigningMaterial, *, workdir: Path, runner: StepRunner
    ) -> AndroidArtifact:
        missing = self.missing()
        if missing:
            raise ToolchainMissingError(
                f"the {self.name} Android toolchain is not installed here (missing: {', '.join(missing)})",
                step="render",
            )
        src = workdir / "src"
        with runner.step("render"):
            render.project_written(spec, src)
            runner.log(f"rendered {spec.package_name} {spec.version_name} ({spec.version_code})")
        with runner.step("dex"):
            dex = self.dex(spec, src, workdir, runner)
        bundled = spec.artifact_format == "aab"
        with runner.step("resources"):
            aapt2 = self.tool("aapt2")
            # Paths relative to the build's folder: the protobuf resource table keeps each value's source
            # file, and a temporary folder's name there would make every bundle's bytes different.
            source = src.relative_to(workdir)
            runner.run([aapt2, "compile", "--no-crunch", "--dir", source / "res", "-o", "res.zip"], cwd=workdir)
            # A bundle holds the manifest and the resource table as protobuf: Play (bundletool) links each APK.
            runner.run([
                aapt2, "link", "-o", "linked.apk", "-I", self.framework(),
                "--manifest", source / "AndroidManifest.xml", "--min-sdk-version", str(render.MIN_SDK),
                "--target-sdk-version", str(self.target_sdk()), "--version-code", str(spec.version_code),
                "--version-name", spec.version_name, "--no-auto-version", *(["--proto-format"] if bundled else []),
                "res.zip",
            ], cwd=workdir)  # fmt: skip
        with runner.step("package"):
            if bundled:
                unsigned = workdir / "unsigned.aab"
                bundle.aab_assembled(
                    linked_proto=workdir / "linked.apk", dex=dex.read_bytes(), assets=render.assets_rendered(spec),
                    out=unsigned, zip_time=ZIP_TIMESTAMP,
                )  # fmt: skip
            else:
                apk_assembled(
                    linked=workdir / "linked.apk", dex=dex.read_bytes(), assets=render.assets_rendered(spec),
                    out=workdir / "unaligned.apk",
                )  # fmt: skip
                unsigned = workdir / "aligned.apk"
                runner.run([self.tool("zipalign"), "-p", "-f", "4", workdir / "unaligned.apk", unsigned])
        with runner.step("sign"):
            signed = workdir / f"app-release.{spec.artifact_format}"
            sign_apk(unsigned, signed, signing, workdir=workdir, runner=runner, apksigner=self.tool("apksigner"),
                     jar_only=bundled)  # fmt: skip
        with runner.step("verify_signature"):
            if bundled:
                digest = bundle_signer_digest(signed, runner=runner)
            else:
                digest = signer_digest(signed, runner=runner, apksigner=self.tool("apksigner"))
        return AndroidArtifact(
            path=signed, artifact_format=spec.artifact_format, signer_sha256=digest, steps=dict(runner.durations)
        )


class DebianAndroidToolchain(AndroidToolchain):
    """Debian's packages (make toolchains): smali assembles Hangar's template, framework-res.apk is API 29."""

    name = "debian"

    def missing(self) -> list[str]:
        absent = [tool for tool in DEBIAN_TOOLS if not shutil.which(tool)]
        return absent + ([str(FRAMEWORK_RES)] if not FRAMEWORK_RES.exists() else [])

    def tool(self, name: str) -> str:
        return name

    def framework(self) -> Path:
        return FRAMEWORK_RES

    def target_sdk(self) -> int:
        return render.TARGET_SDK

    def dex(self, spec: AndroidBuildSpec, src: Path, workdir: Path, runner: StepRunner) -> Path:
        out = workdir / "classes.dex"
        runner.run(["smali", "assemble", "--api", str(render.MIN_SDK), "-j", "1", "-o", out, src / "smali"])
        return out


class SdkAndroidToolchain(AndroidToolchain):
    """An agent's Android SDK (``ANDROID_HOME``): javac compiles the shell's Java twin against the real
    android.jar and d8 makes the DEX; the newest installed platform and build-tools are used."""

    name = "sdk"

    def __init__(self, android_home: str | None = None) -> None:
        self.home = Path(android_home or os.environ.get("ANDROID_HOME") or "/nonexistent")

    def _newest(self, folder: str, pattern: str) -> Path | None:
        candidates = sorted((self.home / folder).glob(pattern), key=lambda p: _version_key(p.name))
        return candidates[-1] if candidates else None

    def _platform(self) -> Path | None:
        return self._newest("platforms", "android-*")

    def _build_tools(self) -> Path | None:
        return self._newest("build-tools", "*")

    def missing(self) -> list[str]:
        platform, tools = self._platform(), self._build_tools()
        absent = [tool for tool in ("javac", "jarsigner") if not shutil.which(tool)]
        if platform is None or not (platform / "android.jar").exists():
            absent.append(f"{self.home}/platforms/android-*/android.jar")
        if tools is None:
            absent.append(f"{self.home}/build-tools/*")
        else:
            absent += [name for name in ("d8", "aapt2", "zipalign", "apksigner") if not (tools / name).exists()]
        return absent

    def tool(self, name: str) -> str:
        tools = self._build_tools()
        assert tools is not None  # build() checked missing() first
        return str(tools / name)

    def framework(self) -> Path:
        platform = self._platform()
        assert platform is not None
        return platform / "android.jar"

    def target_sdk(self) -> int:
        platform = self._platform()
        return int(platform.name.removeprefix("android-")) if platform else render.TARGET_SDK

    def dex(self, spec: AndroidBuildSpec, src: Path, workdir: Path, runner: StepRunner) -> Path:
        folder = src / "java" / "app" / "hangar" / "shell"
        folder.mkdir(parents=True)
        sources = []
        for name, text in render.java_rendered(spec).items():
            (folder / name).write_text(text)
            sources.append(folder / name)
        classes = workdir / "classes"
        runner.run(["javac", "--release", "8", "-classpath", self.framework(), "-d", classes, *sources])
        out = workdir / "dex"
        out.mkdir()
        class_files = sorted(classes.rglob("*.class"))
        runner.run([self.tool("d8"), "--release", "--min-api", str(render.MIN_SDK), "--lib", self.framework(),
                    "--output", out, *class_files])  # fmt: skip
        return out / "classes.dex"


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def apk_assembled(*, linked: Path, dex: bytes, assets: dict[str, bytes], out: Path) -> None:
    """aapt2's APK plus classes.dex and the assets, in a fixed order with fixed times and attributes."""
    with zipfile.ZipFile(linked) as source, zipfile.ZipFile(out, "w") as target:
        entries = {info.filename: (source.read(info), info.compress_type) for info in source.infolist()}
        entries["classes.dex"] = (dex, zipfile.ZIP_DEFLATED)
        for path, data in assets.items():
            entries[f"assets/{path}"] = (data, zipfile.ZIP_DEFLATED)
        # The manifest first, as aapt2 writes it; the rest by name.
        for name in sorted(entries, key=lambda name: (name != "AndroidManifest.xml", name)):
            data, compression = entries[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = compression
            info.create_system = 0
            info.external_attr = 0
            target.writestr(info, data, compress_type=compression, compresslevel=9)


def sign_apk(
    unsigned: Path, signed: Path, signing: SigningMaterial, *, workdir: Path, runner: StepRunner,
    apksigner: str = "apksigner", jar_only: bool = False,
) -> None:  # fmt: skip
    """Sign with apksigner: an APK with schemes v2 + v3; with ``jar_only``, a bundle with the JAR signature (v1).

    Play authenticates an uploaded bundle by its JAR signature (what jarsigner makes). apksigner's v1
    scheme is that signature, without jarsigner's signing-time attribute, so the bytes stay reproducible.
    """
    schemes = ("true", "false", "false") if jar_only else ("false", "true", "true")
    keystore = workdir / "signing" / "keystore"
    keystore.parent.mkdir(mode=0o700)
    keystore.touch(mode=0o600)
    runner.redact(signing.store_password)
    runner.redact(signing.key_password)
    try:
        keystore.write_bytes(signing.keystore)
        runner.run(
            [apksigner, "sign", "--ks", keystore, "--ks-type", signing.keystore_type.upper(),
             "--ks-key-alias", signing.alias, "--ks-pass", "env:HANGAR_KS_PASS", "--key-pass", "env:HANGAR_KEY_PASS",
             "--min-sdk-version", str(render.MIN_SDK), "--v1-signing-enabled", schemes[0],
             "--v2-signing-enabled", schemes[1], "--v3-signing-enabled", schemes[2], "--out", signed, unsigned],
            env={"HANGAR_KS_PASS": signing.store_password, "HANGAR_KEY_PASS": signing.key_password},
        )  # fmt: skip
    except ToolchainError as exc:
        if any(marker in exc.output.lower() for marker in _PASSWORD_FAILURES):
            raise SigningError(
                "The keystore could not be opened: a wrong password, a wrong alias or not a keystore."
            ) from exc
        raise
    finally:
        keystore.unlink(missing_ok=True)


def signer_digest(apk: Path, *, runner: StepRunner, apksigner: str = "apksigner") -> str:
    """The SHA-256 of the APK's signing certificate, after apksigner has verified every signature."""
    output = runner.run([apksigner, "verify", "--verbose", "--print-certs", apk])
    match = _SIGNER_DIGEST.search(output)
    if match is None:
        raise ToolchainError("apksigner verify printed no signer certificate", step=runner.step_name)
    return match.group(1)


def bundle_signer_digest(aab: Path, *, runner: StepRunner, jarsigner: str = "jarsigner") -> str:
    """The SHA-256 of the bundle's signing certificate, after jarsigner has verified every entry's digest."""
    output = runner.run([jarsigner, "-verify", aab])
    if "jar verified." not in output or "unsigned entries" in output:
        raise ToolchainError("jarsigner did not verify every entry of the bundle", step=runner.step_name)
    certificate = jar_signer_certificate(aab)
    if certificate is None:
        raise ToolchainError("the bundle holds no single JAR signature block", step=runner.step_name)
    return certificate


def jar_signer_certificate(archive: Path) -> str | None:
    """SHA-256 of the one signer certificate in a JAR signature block (META-INF/*.RSA|EC|DSA); None without one."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import pkcs7

    with zipfile.ZipFile(archive) as jar:
        blocks = [name for name in jar.namelist() if re.fullmatch(r"META-INF/[^/]+\.(RSA|EC|DSA)", name)]
        if len(blocks) != 1:
            return None
        try:
            certificates = pkcs7.load_der_pkcs7_certificates(jar.read(blocks[0]))
        except ValueError:
            return None
    if len(certificates) != 1:
        return None
    return certificates[0].fingerprint(hashes.SHA256()).hex()
