"""The warm compilers: the same packages as a cold compiler, a compile error reported, a dead compiler replaced,
and the TypeScript runtime compiled once and shared by every app's SDK."""

from __future__ import annotations

import io
import os
import signal
import tarfile
import time
import zipfile

import pytest

from sdk_gen.compilers import JAVAC, TSC, CompileError, java_compile, typescript_compile
from sdk_gen.generate import compilers_warm, package_for
from sdk_gen.languages.typescript import RUNTIME_SOURCES, typescript_sources
from sdk_gen.spec import app_spec_build

pytestmark = pytest.mark.slow

SCHEMAS = {"Post": {"title": {"type": "String"}, "votes": {"type": "Number"}}, "_User": {"nick": {"type": "String"}}}


def _spec(app_name: str = "warm app", schemas: dict[str, dict[str, dict[str, str]]] = SCHEMAS):
    return app_spec_build(app_name=app_name, application_id="app-id", schemas=schemas, handlers={})


def _tar_files(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {
            m.name.removeprefix("package/"): archive.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in archive.getmembers()
        }


def test_the_npm_package_holds_every_module_and_declaration_compiled_against_the_shared_runtime():
    files = _tar_files(
        package_for(_spec(), language="typescript", version="1.1.0", server_url="http://h/parse").content
    )
    for module in ("index", "runtime", "offline", "livequery"):
        assert f"dist/{module}.js" in files, module
        assert f"dist/{module}.d.ts" in files, module
    assert "export interface Post extends ParseObject" in files["dist/index.d.ts"]
    assert 'export * from "./runtime.js";' in files["dist/index.js"]
    # Another app's SDK gets the very same compiled runtime.
    other = _tar_files(
        package_for(
            _spec("other", {"Team": {"name": {"type": "String"}}}),
            language="typescript",
            version="1.1.0",
            server_url="http://h/parse",
        ).content
    )
    assert other["dist/runtime.js"] == files["dist/runtime.js"]
    assert "Team" in other["dist/index.d.ts"]
    assert "Post" not in other["dist/index.d.ts"]


def test_a_typescript_error_in_the_generated_module_is_reported():
    files = typescript_sources(_spec(), version="1.1.0")
    files["src/index.ts"] += "\nexport const wrong: number = 'text';\n"
    with pytest.raises(CompileError, match="TS2322"):
        typescript_compile(files, runtime=RUNTIME_SOURCES)


def test_a_java_error_is_reported_and_the_next_compilation_still_works():
    with pytest.raises(CompileError, match=r"Broken\.java"):
        java_compile({"p/Broken.java": 'package p; class Broken { int x = "text"; }'})
    classes = java_compile({"p/Fine.java": "package p; public class Fine { }"})
    assert classes is not None
    assert set(classes) == {"p/Fine.class"}
    assert classes["p/Fine.class"].startswith(b"\xca\xfe\xba\xbe")


@pytest.mark.parametrize("compiler", [JAVAC, TSC], ids=["javac", "tsc"])
def test_a_compiler_that_died_is_started_again(compiler):
    package_for(_spec(), language="java" if compiler is JAVAC else "typescript", version="1.1.0", server_url="http://h")
    pid = compiler.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the process this test's compiler started
    time.sleep(0.2)
    built = package_for(_spec(), language="java" if compiler is JAVAC else "typescript", version="1.1.0",
                        server_url="http://h")  # fmt: skip
    assert compiler.pid not in {None, pid}
    assert built.content


def test_the_jar_holds_classes_and_sources():
    jar = package_for(_spec(), language="java", version="1.1.0", server_url="http://h/parse")
    with zipfile.ZipFile(io.BytesIO(jar.content)) as archive:
        names = set(archive.namelist())
    assert {"dev/hangar/sdk/warm_app/Post.class", "dev/hangar/sdk/warm_app/Post.java"} <= names


def test_the_workers_warm_up_leaves_both_compilers_running():
    """What HANGAR_SDK_WARM_COMPILERS runs when a worker process starts."""
    JAVAC.stop()
    TSC.stop()
    compilers_warm(rounds=1)
    assert JAVAC.pid is not None
    assert TSC.pid is not None
