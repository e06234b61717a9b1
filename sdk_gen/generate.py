"""One entry point per output: the source files of an SDK, and its package, for a spec and a language."""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sdk_gen.compilers import java_available, java_compile, typescript_available, typescript_compile
from sdk_gen.languages.java import java_package_path, java_sources
from sdk_gen.languages.python import package_name, python_sources
from sdk_gen.languages.typescript import RUNTIME_SOURCES, npm_name, typescript_sources
from sdk_gen.openapi import openapi_document
from sdk_gen.packaging import jar_build, npm_tarball_build, wheel_build
from sdk_gen.spec import AppSpec

LANGUAGES = ("python", "typescript", "java", "openapi")


@dataclass(frozen=True)
class BuiltPackage:
    filename: str
    content_type: str
    content: bytes


def offered_languages() -> tuple[str, ...]:
    """The languages this machine can vouch for (DESIGN.md section 7): TypeScript needs Node and the pinned
    compiler, Java a JDK; Python and the OpenAPI document need nothing more."""
    return tuple(
        language for language in LANGUAGES
        if (language != "typescript" or typescript_available()) and (language != "java" or java_available())
    )  # fmt: skip


def expected_filename(spec: AppSpec, *, language: str, version: str) -> str:
    """The download's file name, known without building it."""
    dashed = spec.slug.replace("_", "-")
    return {
        "python": f"{dashed.replace('-', '_')}_sdk-{version}-py3-none-any.whl",
        "typescript": f"{npm_name(spec)}-{version}.tgz",
        "java": f"{dashed}-sdk-{version}.jar",
        "openapi": f"{spec.slug}-openapi-{version}.json",
    }[language]


def sources_for(spec: AppSpec, *, language: str, version: str, server_url: str) -> dict[str, str]:
    """The generated files of ``language`` by relative path (for ``sdk_generate --out``)."""
    if language == "python":
        return python_sources(spec, version=version)
    if language == "typescript":
        return typescript_sources(spec, version=version)
    if language == "java":
        return java_sources(spec, version=version)
    if language == "openapi":
        document = openapi_document(spec, server_url=server_url, version=version)
        return {"openapi.json": json.dumps(document, indent=2, sort_keys=True) + "\n"}
    raise ValueError(f"unknown language {language!r}; choose one of {', '.join(LANGUAGES)}")


def package_for(
    spec: AppSpec, *, language: str, version: str, server_url: str, with_compiled: bool = True
) -> BuiltPackage:
    """The downloadable artifact: a wheel, an npm tarball, a jar with sources (and classes), or the OpenAPI JSON.

    ``with_compiled=False`` leaves the TypeScript and Java uncompiled (the benchmark measures generation alone).
    """
    files = sources_for(spec, language=language, version=version, server_url=server_url)
    if language == "python":
        package = package_name(spec)
        name, data = wheel_build(
            distribution=f"{spec.slug.replace('_', '-')}-sdk", version=version,
            summary=f"Typed client SDK of the Hangar app {spec.display_name}", requires=["httpx>=0.27"],
            files={path: text for path, text in files.items() if path.startswith(f"{package}/")},
        )  # fmt: skip
        return BuiltPackage(name, "application/zip", data)
    if language == "typescript":
        # Shipped compiled (dist/: ES modules and .d.ts) when this machine has the compiler, with src/ beside.
        compiled = typescript_compile(files, runtime=RUNTIME_SOURCES) if with_compiled else None
        name, data = npm_tarball_build(name=npm_name(spec), version=version, files={**files, **(compiled or {})})
        return BuiltPackage(name, "application/gzip", data)
    if language == "java":
        sources = {path.removeprefix("src/main/java/"): text for path, text in files.items() if path.endswith(".java")}
        classes = java_compile(sources) if with_compiled else None
        name, data = jar_build(
            name=f"{spec.slug.replace('_', '-')}-sdk", version=version, files=sources, classes=classes
        )
        return BuiltPackage(name, "application/java-archive", data)
    return BuiltPackage(f"{spec.slug}-openapi-{version}.json", "application/json", files["openapi.json"].encode())


def packages_for(spec: AppSpec, *, languages: Iterable[str], version: str, server_url: str) -> dict[str, BuiltPackage]:
    """The packages of several languages at once: each compiler works in its own process, so the
    TypeScript and Java compilations run side by side while Python generates the rest."""
    chosen = list(dict.fromkeys(languages))
    with ThreadPoolExecutor(max_workers=max(1, len(chosen)), thread_name_prefix="sdk-package") as pool:
        futures = {
            language: pool.submit(package_for, spec, language=language, version=version, server_url=server_url)
            for language in chosen
        }
        return {language: future.result() for language, future in futures.items()}


def compilers_warm(*, rounds: int = 6) -> None:
    """Start the warm compilers and let them JIT-compile themselves on a small reference app, so the first
    SDK a worker builds is compiled as fast as the next ones (a JVM and Node reach speed after ~5 runs)."""
    from sdk_gen.spec import app_spec_build

    kinds = ["String", "Number", "Boolean", "Date", "Object", "Array", "File", "GeoPoint", "Polygon", "Bytes"]
    schemas = {f"Warm{n}": {f"f{kind}": {"type": kind} for kind in kinds} for n in range(10)}
    handlers = {"functions": [{"name": "warm", "params": {"n": "int"}, "returns": "str"}]}
    spec = app_spec_build(app_name="warm", application_id="warm", schemas=schemas, handlers=handlers)
    for _ in range(rounds):
        packages_for(spec, languages=("typescript", "java"), version="0.0.0", server_url="http://localhost/parse")


__all__ = ["LANGUAGES", "BuiltPackage", "java_package_path", "package_for", "packages_for", "sources_for"]
