"""Names the generators do not control (a function's name from a bundle, the app's name) cannot inject code:
the generated Python parses, the TypeScript and Java compile, and the wire name arrives unchanged."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from sdk_gen.languages.java import java_sources, java_string
from sdk_gen.languages.python import package_name, python_sources
from sdk_gen.languages.typescript import typescript_sources
from sdk_gen.spec import app_spec_build
from tests.conftest import REPO_DIR

HOSTILE_FUNCTION = 'x"); System.exit(3); /* */ """ \\u0022 \'; process.exit(3); //\n'
HOSTILE_APP = 'evil */ """ \n {{ <!-- \\u0022'
SCHEMAS = {
    "Item": {"name": {"type": "String"}, "bad-field": {"type": "String"}, "ref": {"type": "Pointer",
             "targetClass": 'X"; drop'}},
    'Bad"Class': {"x": {"type": "String"}},
}  # fmt: skip
HANDLERS = {"functions": [{"name": HOSTILE_FUNCTION, "params": {"n": "int"}, "returns": "str"}]}


def _spec():  # type: ignore[no-untyped-def]
    return app_spec_build(app_name=HOSTILE_APP, application_id='id"; x', schemas=SCHEMAS, handlers=HANDLERS)


def _write(files: dict[str, str], root: Path) -> None:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)


def test_schema_names_that_are_not_parse_names_are_left_out():
    spec = _spec()
    assert [c.class_name for c in spec.classes] == ["Item"]
    item = spec.class_named("Item")
    assert item is not None
    assert {f.name: f.type for f in item.fields} == {"name": "String", "ref": "Object"}
    assert spec.display_name == "evil -- u0022"  # no quote, comment end, newline or brace survives
    assert spec.application_id == "idx"


def test_python_parses_and_calls_the_function_by_its_exact_name():
    files = python_sources(_spec(), version="1.1.0")
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, filename=path)
    tree = ast.parse(files[f"{package_name(_spec())}/functions.py"])
    names = [node.args[0].value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "call_function"]  # fmt: skip
    assert names == [HOSTILE_FUNCTION, HOSTILE_FUNCTION]  # sync and async


def test_typescript_compiles(tmp_path: Path):
    _write(typescript_sources(_spec(), version="1.1.0"), tmp_path)
    tsc = REPO_DIR / "node_modules" / "typescript" / "bin" / "tsc"
    result = subprocess.run(["node", str(tsc), "-p", str(tmp_path / "tsconfig.json")], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout


def test_java_compiles_and_keeps_the_name(tmp_path: Path):
    _write(java_sources(_spec(), version="1.1.0"), tmp_path)
    sources = [str(p) for p in tmp_path.rglob("*.java")]
    result = subprocess.run(["javac", "--release", "11", "-d", str(tmp_path / "classes"), *sources],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert java_string('a"\\\n1') == '"a\\"\\\\\\0121"'
