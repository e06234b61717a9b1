"""The Java SDK (Java 11+, Android): a POJO per data class with typed query field constants, typed
function calls and a client on ``java.net.http``; no third-party library (a small JSON codec is included).
"""

from __future__ import annotations

import re
from pathlib import Path

from sdk_gen.spec import AppSpec, ClassSpec, FieldSpec, FunctionSpec, safe_identifier

RUNTIME = Path(__file__).resolve().parent.parent / "runtime" / "java_runtime.java.in"
_FILE_MARK = re.compile(r"^//// FILE: (\S+)\n", re.M)

_KEYWORDS = frozenset(
    """abstract assert boolean break byte case catch char class const continue default do double else enum
    extends final finally float for goto if implements import instanceof int interface long native new package
    private protected public return short static strictfp super switch synchronized this throw throws transient
    try void volatile true false null var record yield sealed permits""".split()
)
_TAKEN_METHODS = frozenset(
    {"getClass", "getObjectId", "setObjectId", "getCreatedAt", "getUpdatedAt", "getAcl", "setAcl", "hashCode",
     "toString", "equals", "toWire", "pointer", "className"}
)  # fmt: skip
_TYPES = {
    "String": "String", "Number": "Double", "Boolean": "Boolean", "Date": "Instant", "Object": "Map<String, Object>",
    "Array": "List<Object>", "File": "ParseFile", "GeoPoint": "GeoPoint", "Polygon": "List<List<Double>>",
    "Bytes": "byte[]", "Relation": "Relation", "ACL": "Map<String, Object>",
}  # fmt: skip
_READERS = {
    "String": "Wire.string", "Number": "Wire.number", "Boolean": "Wire.bool", "Date": "Wire.date",
    "Object": "Wire.object", "Array": "Wire.array", "File": "Wire.file", "GeoPoint": "Wire.geoPoint",
    "Polygon": "Wire.polygon", "Bytes": "Wire.bytes", "Relation": "Wire.relation", "ACL": "Wire.object",
}  # fmt: skip
_QUERY_FIELDS = {
    "String": "StringField", "Number": "NumberField", "Boolean": "BooleanField", "Date": "DateField",
    "Array": "ArrayField", "GeoPoint": "GeoPointField", "Object": "ObjectField",
}  # fmt: skip
_COPIED = {
    "Array": ("List<?>", "new java.util.ArrayList<Object>(value)"),
    "Object": ("Map<String, ?>", "new java.util.LinkedHashMap<String, Object>(value)"),
}
_PARAM_TYPES = {
    "string": "String", "integer": "long", "number": "double", "boolean": "boolean",
    "object": "Map<String, Object>", "array": "List<Object>", "null": "Object", "any": "Object",
}  # fmt: skip
_RETURN_TYPES = {
    "string": "String", "integer": "Long", "number": "Double", "boolean": "Boolean",
    "object": "Map<String, Object>", "array": "List<Object>", "null": "void", "any": "Object",
}  # fmt: skip
_RETURN_CONVERSIONS = {
    "string": ("result instanceof String", "(String) result"),
    "integer": ("result instanceof Number", "((Number) result).longValue()"),
    "number": ("result instanceof Number", "((Number) result).doubleValue()"),
    "boolean": ("result instanceof Boolean", "(Boolean) result"),
    "object": ("result instanceof Map", "Json.object(result)"),
    "array": ("result instanceof List", "Json.array(result)"),
}


def java_string(text: str) -> str:
    """A Java string literal of ``text``: quotes, backslashes and control characters escaped.

    Octal escapes, not ``\\uXXXX``: javac turns unicode escapes into characters before it reads the
    literal, so an escaped quote or newline would end it.
    """
    out = []
    for char in text:
        if char in {'"', "\\"}:
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):03o}")  # three digits: a following digit is not read into it
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def java_package(spec: AppSpec) -> str:
    return f"dev.hangar.sdk.{spec.slug}"


def java_package_path(spec: AppSpec) -> str:
    return "src/main/java/" + java_package(spec).replace(".", "/")


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]


def _constant(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def _java_type(spec: AppSpec, field: FieldSpec) -> str:
    if field.type == "Pointer":
        return spec.type_name_of(field.target_class) or "Map<String, Object>"
    return _TYPES[field.type]


def _member_names(cls: ClassSpec) -> dict[str, tuple[str, str, str, str]]:
    """Per field: (Java variable, getter, setter, query constant), renamed away from keywords and clashes."""
    names: dict[str, tuple[str, str, str, str]] = {}
    constants = {"CLASS"}
    for field in cls.fields:
        variable = safe_identifier(field.name, _KEYWORDS)
        getter = safe_identifier(f"get{_cap(variable)}", _TAKEN_METHODS, "Field")
        setter = safe_identifier(f"set{_cap(variable)}", _TAKEN_METHODS, "Field")
        constant = _constant(field.name)
        while constant in constants:
            constant += "_FIELD"
        constants.add(constant)
        names[field.name] = (variable, getter, setter, constant)
    return names


def _query_constant(spec: AppSpec, cls: ClassSpec, field: FieldSpec, constant: str) -> str:
    if field.type in {"Pointer", "Relation"} and spec.type_name_of(field.target_class):
        generic = "PointerField" if field.type == "Pointer" else "RelationField"
        kind = f"{generic}<{cls.type_name}, {spec.type_name_of(field.target_class)}>"
    elif field.type == "Pointer":
        kind = f"ObjectField<{cls.type_name}>"
    else:
        kind = f"{_QUERY_FIELDS.get(field.type, 'OpaqueField')}<{cls.type_name}>"
    return f'    public static final {kind} {constant} = new {kind.split("<")[0]}<>("{field.name}");'


def _accessors(spec: AppSpec, cls: ClassSpec, field: FieldSpec, names: tuple[str, str, str, str]) -> list[str]:
    variable, getter, setter, _ = names
    java_type = _java_type(spec, field)
    lines = [f"    public {java_type} {getter}() {{ return {variable}; }}", ""]
    if field.type == "Relation":
        return lines
    if field.type == "Number":
        lines += [
            f"    public {cls.type_name} {setter}(Number value) {{",
            f"        this.{variable} = value == null ? null : value.doubleValue();",
            "        return this;",
            "    }",
        ]
    elif field.type in _COPIED:
        # Any list or string-keyed map is accepted (List<String> is not a List<Object> in Java) and copied.
        parameter, copy = _COPIED[field.type]
        lines += [
            f"    public {cls.type_name} {setter}({parameter} value) {{",
            f"        this.{variable} = value == null ? null : {copy};",
            "        return this;",
            "    }",
        ]
    else:
        lines += [
            f"    public {cls.type_name} {setter}({java_type} value) {{",
            f"        this.{variable} = value;",
            "        return this;",
            "    }",
        ]
    return [*lines, ""]


def _reader(spec: AppSpec, field: FieldSpec) -> str:
    if field.type == "Pointer":
        target = spec.type_name_of(field.target_class)
        return f"Wire.pointer({target}.CLASS, value)" if target else "Wire.object(value)"
    return f"{_READERS[field.type]}(value)"


def _class_file(spec: AppSpec, cls: ClassSpec) -> str:
    names = _member_names(cls)
    lines = [
        f"package {java_package(spec)};",
        "",
        "import java.time.Instant;",
        "import java.util.List;",
        "import java.util.Map;",
        "",
        f"/** Objects of the {cls.class_name} class. Generated by Hangar's sdk_gen: do not edit. */",
        '@SuppressWarnings("unused")',
        f"public class {cls.type_name} extends ParseObject {{",
        f"    public static final ClassDef<{cls.type_name}> CLASS = "
        f'new ClassDef<>("{cls.class_name}", {cls.type_name}::new);',
    ]
    lines += [_query_constant(spec, cls, f, names[f.name][3]) for f in cls.fields]
    lines.append("")
    lines += [f"    private {_java_type(spec, f)} {names[f.name][0]};" for f in cls.fields]
    lines += ["", "    @Override", f'    public String className() {{ return "{cls.class_name}"; }}', ""]
    for field in cls.fields:
        lines += _accessors(spec, cls, field, names[field.name])
    lines += ["    @Override", "    protected void writeFields(Map<String, Object> out) {"]
    for field in cls.fields:
        variable = names[field.name][0]
        if field.type == "Relation":
            continue
        value = f"{variable} == null ? null : Wire.polygonWire({variable})" if field.type == "Polygon" else variable
        lines.append(f'        put(out, "{field.name}", {value});')
    lines += ["    }", "", "    @Override", "    protected void readFields(Map<String, Object> in) {",
              "        Object value;"]  # fmt: skip
    for field in cls.fields:
        lines += [
            f'        if (in.containsKey("{field.name}")) {{',
            f'            value = in.get("{field.name}");',
            f"            {names[field.name][0]} = {_reader(spec, field)};",
            "        }",
        ]
    lines += ["    }", "}", ""]
    return "\n".join(lines)


def _function(function: FunctionSpec) -> list[str]:
    params = [(p, safe_identifier(p.name, _KEYWORDS)) for p in function.params]
    signature = ", ".join(f"{_PARAM_TYPES[p.type]} {variable}" for p, variable in params)
    returns = _RETURN_TYPES[function.returns]
    method = safe_identifier(function.method_name, _KEYWORDS)
    lines = [
        f"    /** Calls the cloud function {function.method_name}. */",
        f"    public {returns} {method}({signature}) {{",
        "        Map<String, Object> params = new LinkedHashMap<>();",
        *(f'        params.put("{p.name}", {variable});' for p, variable in params),
        f"        Object result = client.callFunction({java_string(function.name)}, params);",
    ]
    if function.returns == "null":
        return [*lines, "    }", ""]
    conversion = _RETURN_CONVERSIONS.get(function.returns)
    if conversion is None:
        return [*lines, "        return result;", "    }", ""]
    check, convert = conversion
    return [
        *lines,
        f"        if (!({check})) {{",
        f"            throw new ParseError(141, {java_string(function.name + ' returned ')} + "
        '(result == null ? "null" : result.getClass().getSimpleName()));',
        "        }",
        f"        return {convert};",
        "    }",
        "",
    ]


def _functions_file(spec: AppSpec) -> str:
    lines = [
        f"package {java_package(spec)};",
        "",
        "import java.util.LinkedHashMap;",
        "import java.util.List;",
        "import java.util.Map;",
        "",
        "/** Typed calls of the app's cloud functions. */",
        '@SuppressWarnings("unused")',
        "public final class Functions {",
        "    private final Client client;",
        "",
        "    Functions(Client client) { this.client = client; }",
        "",
    ]
    for function in spec.functions:
        lines += _function(function)
    return "\n".join([*lines, "}", ""])


def _app_client_file(spec: AppSpec, version: str) -> str:
    user = spec.class_named("_User")
    user_methods = []
    if user is not None:
        name = user.type_name
        user_methods = [
            f"    public {name} signUp({name} user, String password) {{ return signUpAs(user, password); }}",
            "",
            f"    public {name} logIn(String username, String password) {{",
            f"        return logInAs({name}.CLASS, username, password);",
            "    }",
            "",
            f"    public {name} currentUser() {{ return currentUserAs({name}.CLASS); }}",
            "",
        ]
    return "\n".join([
        f"package {java_package(spec)};",
        "",
        f"/** The client of the Hangar app \"{spec.display_name}\": typed users and functions. */",
        "public class AppClient extends Client {",
        f"    public static final String APPLICATION_ID = {java_string(spec.application_id)};",
        f'    public static final String SCHEMA_HASH = "{spec.schema_hash}";',
        f'    public static final String VERSION = "{version}";',
        "",
        "    public final Functions functions = new Functions(this);",
        "",
        "    public AppClient(String serverUrl, String clientKey) {",
        "        super(serverUrl, APPLICATION_ID, clientKey, null);",
        "    }",
        "",
        "    public AppClient(String serverUrl, String applicationId, String clientKey, String masterKey) {",
        "        super(serverUrl, applicationId, clientKey, masterKey);",
        "    }",
        "",
        *user_methods,
        "}",
        "",
    ])  # fmt: skip


def java_sources(spec: AppSpec, *, version: str) -> dict[str, str]:
    """The SDK's files by relative path (a Maven/Gradle source layout)."""
    root = java_package_path(spec)
    package = java_package(spec)
    runtime = RUNTIME.read_text().replace("__PACKAGE__", package)
    parts = _FILE_MARK.split(runtime)[1:]
    files = {f"{root}/{name}": body for name, body in zip(parts[::2], parts[1::2], strict=True)}
    for cls in spec.classes:
        files[f"{root}/{cls.type_name}.java"] = _class_file(spec, cls)
    files[f"{root}/Functions.java"] = _functions_file(spec)
    files[f"{root}/AppClient.java"] = _app_client_file(spec, version)
    return files
