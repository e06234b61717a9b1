"""The TypeScript SDK: an interface and a class definition per data class, typed query fields, typed
function calls and a fetch-based client (browsers and Node 18+), as an ES module compiled by ``tsc --strict``.
"""

from __future__ import annotations

import json
from pathlib import Path

from sdk_gen.spec import AppSpec, ClassSpec, FieldSpec, FunctionSpec

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
TYPESCRIPT_VERSION = "5.9.3"  # the compiler the tests build the SDK with (package.json pins the same)

_SIMPLE_TYPES = {
    "String": "string", "Number": "number", "Boolean": "boolean", "Date": "Date",
    "Object": "Record<string, unknown>", "Array": "unknown[]", "File": "ParseFile", "GeoPoint": "GeoPoint",
    "Polygon": "[number, number][]", "Bytes": "Uint8Array", "Relation": "Relation", "ACL": "ACL",
}  # fmt: skip
_QUERY_FIELDS = {
    "String": "StringField<{cls}>", "Number": "NumberField<{cls}>", "Boolean": "BooleanField<{cls}>",
    "Date": "DateField<{cls}>", "Array": "ArrayField<{cls}, unknown>", "GeoPoint": "GeoPointField<{cls}>",
    "Object": "ObjectField<{cls}>",
}  # fmt: skip
_FUNCTION_TYPES = {
    "string": "string", "integer": "number", "number": "number", "boolean": "boolean",
    "object": "Record<string, unknown>", "array": "unknown[]", "null": "null", "any": "unknown",
}  # fmt: skip
_RESULT_CHECKS = {
    "string": 'typeof result === "string"', "integer": 'typeof result === "number"',
    "number": 'typeof result === "number"', "boolean": 'typeof result === "boolean"',
    "object": 'typeof result === "object" && result !== null && !Array.isArray(result)',
    "array": "Array.isArray(result)", "null": "result === null || result === undefined",
}  # fmt: skip


def npm_name(spec: AppSpec) -> str:
    return f"{spec.slug.replace('_', '-')}-sdk"


def _ts_type(spec: AppSpec, field: FieldSpec) -> str:
    if field.type == "Pointer":
        return spec.type_name_of(field.target_class) or "Record<string, unknown>"
    return _SIMPLE_TYPES[field.type]


def _interface(spec: AppSpec, cls: ClassSpec) -> str:
    lines = [
        f"/** Objects of the {cls.class_name} class. */",
        f"export interface {cls.type_name} extends ParseObject {{",
        f"  readonly __class?: {json.dumps(cls.class_name)};",
    ]
    lines += [f"  {f.name}?: {_ts_type(spec, f)};" for f in cls.fields]
    return "\n".join([*lines, "}"])


def _fields_class(spec: AppSpec, cls: ClassSpec) -> str:
    lines = [f"export class {cls.type_name}Fields {{"]
    for field in cls.fields:
        target = spec.type_name_of(field.target_class) if field.type in {"Pointer", "Relation"} else None
        if target and field.type == "Relation":
            value = f"new RelationField<{cls.type_name}, {target}>({json.dumps(field.name)})"
        elif target:
            value = f"new PointerField<{cls.type_name}, {target}>({json.dumps(field.name)}, () => {target})"
        elif field.type == "Pointer":
            value = f"new ObjectField<{cls.type_name}>({json.dumps(field.name)})"
        else:
            kind = _QUERY_FIELDS.get(field.type, "OpaqueField<{cls}>").format(cls=cls.type_name)
            value = f"new {kind}({json.dumps(field.name)})"
        lines.append(f"  readonly {field.name} = {value};")
    return "\n".join([*lines, "}"])


def _definition(spec: AppSpec, cls: ClassSpec) -> str:
    kinds = []
    for field in cls.fields:
        target = spec.type_name_of(field.target_class) if field.type == "Pointer" else None
        kind = field.type if (field.type != "Pointer" or target) else "Object"
        kinds.append(f"    {field.name}: [{json.dumps(kind)}, {f'() => {target}' if target else 'null'}],")
    return "\n".join([
        f"export const {cls.type_name}: ClassDef<{cls.type_name}> & {{ readonly q: {cls.type_name}Fields }} = {{",
        f"  className: {json.dumps(cls.class_name)},",
        "  kinds: {",
        *kinds,
        "  },",
        f"  q: new {cls.type_name}Fields(),",
        "};",
    ])  # fmt: skip


def _function(function: FunctionSpec) -> str:
    params = "; ".join(f"{p.name}: {_FUNCTION_TYPES[p.type]}" for p in function.params)
    argument = f"params: {{ {params} }}" if params else "params: Record<string, never> = {}"
    returns = _FUNCTION_TYPES[function.returns]
    lines = [
        f"  /** Calls the cloud function {function.method_name}. */",
        f"  async {function.method_name}({argument}): Promise<{returns}> {{",
        f"    const result = await this.client.callFunction({json.dumps(function.name)}, params);",
    ]
    check = _RESULT_CHECKS.get(function.returns)
    if check:
        lines += [
            f"    if (!({check})) {{",
            f"      throw new ParseError(141, {json.dumps(function.name + ' returned ')} + typeof result);",
            "    }",
        ]
    lines.append("    return null;" if function.returns == "null" else f"    return result as {returns};")
    return "\n".join([*lines, "  }"])


def _user_methods(spec: AppSpec) -> list[str]:
    user = spec.class_named("_User")
    if user is None:
        return []
    name = user.type_name
    return [
        f"  signUp(user: {name}, password: string): Promise<{name}> {{",
        f"    return this.signUpAs({name}, user, password);",
        "  }",
        f"  logIn(username: string, password: string): Promise<{name}> {{",
        f"    return this.logInAs({name}, username, password);",
        "  }",
        f"  currentUser(): Promise<{name} | undefined> {{",
        f"    return this.currentUserAs({name});",
        "  }",
    ]


def _index(spec: AppSpec, version: str) -> str:
    parts = [
        f"// Typed client SDK of the Hangar app {spec.display_name}, version {version}.",
        "// Generated by Hangar's sdk_gen from the app's schema: do not edit, regenerate.",
        "import {",
        "  ArrayField, BooleanField, Client, DateField, GeoPointField, NumberField, ObjectField, OpaqueField,",
        "  ParseError, PointerField, RelationField, StringField,",
        '} from "./runtime.js";',
        "import type {",
        "  ACL, ClassDef, ClientOptions, GeoPoint, ParseFile, ParseObject, Relation,",
        '} from "./runtime.js";',
        'export * from "./runtime.js";',
        'export * from "./offline.js";',
        'export * from "./livequery.js";',
        "",
        f"export const APPLICATION_ID = {json.dumps(spec.application_id)};",
        f"export const SCHEMA_HASH = {json.dumps(spec.schema_hash)};",
        f"export const VERSION = {json.dumps(version)};",
        "",
        "// Keeps every runtime name in use whatever this app's classes need.",
        "export type _Used = [ACL, GeoPoint, ParseFile, Relation, ArrayField<ParseObject, unknown>,",
        "  BooleanField<ParseObject>, DateField<ParseObject>, GeoPointField<ParseObject>, NumberField<ParseObject>,",
        "  ObjectField<ParseObject>, OpaqueField<ParseObject>, PointerField<ParseObject, ParseObject>,",
        "  StringField<ParseObject>, RelationField<ParseObject, ParseObject>];",
        "",
    ]
    parts += [_interface(spec, cls) + "\n" for cls in spec.classes]
    parts += [_fields_class(spec, cls) + "\n" for cls in spec.classes]
    parts += [_definition(spec, cls) + "\n" for cls in spec.classes]
    parts += ["export class Functions {", "  constructor(private readonly client: Client) {}"]
    parts += [_function(f) for f in spec.functions]
    parts += ["}", ""]
    parts += [
        "/** The client of this app: typed users and functions on top of the generic client. */",
        "export class AppClient extends Client {",
        "  readonly functions: Functions = new Functions(this);",
        '  constructor(options: Omit<ClientOptions, "applicationId"> & { applicationId?: string }) {',
        "    super({ ...options, applicationId: options.applicationId ?? APPLICATION_ID });",
        "  }",
        *_user_methods(spec),
        "}",
        "",
    ]
    return "\n".join(parts)


def _package_json(spec: AppSpec, version: str) -> str:
    return json.dumps({
        "name": npm_name(spec),
        "version": version,
        "description": f"Typed client SDK of the Hangar app {spec.display_name}",
        "type": "module",
        "main": "dist/index.js",
        "types": "dist/index.d.ts",
        "exports": {".": {"types": "./dist/index.d.ts", "import": "./dist/index.js"}},
        "files": ["dist", "src"],
        "scripts": {"build": "tsc -p tsconfig.json"},
        "devDependencies": {"typescript": TYPESCRIPT_VERSION},
        "hangar": {"schemaHash": spec.schema_hash, "applicationId": spec.application_id},
    }, indent=2) + "\n"  # fmt: skip


TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "lib": ["ES2022", "DOM"],
        "strict": True, "noUncheckedIndexedAccess": True, "declaration": True, "outDir": "dist", "rootDir": "src",
        "skipLibCheck": True,
    },
    "include": ["src"],
}  # fmt: skip


# The sources every app's SDK shares (compiled once per Hangar version, sdk_gen.compilers).
RUNTIME_SOURCES = {
    "src/runtime.ts": "typescript_runtime.ts.in",
    "src/offline.ts": "typescript_offline.ts.in",
    "src/livequery.ts": "typescript_livequery.ts.in",
}


def typescript_sources(spec: AppSpec, *, version: str) -> dict[str, str]:
    """The SDK's files by relative path: package.json, tsconfig.json and src/*.ts."""
    return {
        "package.json": _package_json(spec, version),
        "tsconfig.json": json.dumps(TSCONFIG, indent=2) + "\n",
        **{path: (RUNTIME_DIR / template).read_text() for path, template in RUNTIME_SOURCES.items()},
        "src/index.ts": _index(spec, version),
    }
