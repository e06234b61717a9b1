"""An app's OpenAPI 3.1 document: its classes as schemas, and the Parse endpoints with the app's headers.

Paths follow the Parse REST protocol as Hangar serves it under ``/parse`` (reference:
/work/shared/reference/parse-rest-protocol.md): classes (CRUD and queries), batch, users and
sessions, files and functions.
"""

from __future__ import annotations

from typing import Any

from sdk_gen.spec import AppSpec, ClassSpec, FieldSpec, FunctionSpec

_PARSE_TYPE_REFS = {
    "Date": "#/components/schemas/ParseDate",
    "File": "#/components/schemas/ParseFile",
    "GeoPoint": "#/components/schemas/ParseGeoPoint",
    "Polygon": "#/components/schemas/ParsePolygon",
    "Bytes": "#/components/schemas/ParseBytes",
    "ACL": "#/components/schemas/ACL",
}
_SCALARS = {"String": "string", "Number": "number", "Boolean": "boolean", "Object": "object", "Array": "array"}
_FUNCTION_JSON_TYPES = {
    "string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
    "boolean": {"type": "boolean"}, "object": {"type": "object"}, "array": {"type": "array"}, "null": {"type": "null"},
}  # fmt: skip


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _field_schema(spec: AppSpec, field: FieldSpec) -> dict[str, Any]:
    if field.type in _SCALARS:
        return {"type": _SCALARS[field.type]}
    if field.type in _PARSE_TYPE_REFS:
        return {"$ref": _PARSE_TYPE_REFS[field.type]}
    target = spec.type_name_of(field.target_class)
    if field.type == "Pointer":
        pointer = {"allOf": [_ref("ParsePointer")], "description": f"Pointer to {field.target_class}"}
        # A pointer comes back as the whole target object when the query asked to include it.
        return {"oneOf": [pointer, _ref(target)]} if target else pointer
    return {"allOf": [_ref("ParseRelation")], "description": f"Relation to {field.target_class}"}


def _class_schema(spec: AppSpec, cls: ClassSpec) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "objectId": {"type": "string", "readOnly": True},
        "createdAt": {"type": "string", "format": "date-time", "readOnly": True},
        "updatedAt": {"type": "string", "format": "date-time", "readOnly": True},
        "ACL": _ref("ACL"),
    }
    for field in cls.fields:
        properties[field.name] = _field_schema(spec, field)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "x-parse-class": cls.class_name}
    required = [f.name for f in cls.fields if f.required]
    if required:
        schema["x-parse-required-on-create"] = required
    return schema


def _common_components() -> dict[str, Any]:
    return {
        "ParseDate": {
            "type": "object", "required": ["__type", "iso"],
            "properties": {"__type": {"const": "Date"}, "iso": {"type": "string", "format": "date-time"}},
        },
        "ParseFile": {
            "type": "object", "required": ["__type", "name"],
            "properties": {"__type": {"const": "File"}, "name": {"type": "string"}, "url": {"type": "string"}},
        },
        "ParseGeoPoint": {
            "type": "object", "required": ["__type", "latitude", "longitude"],
            "properties": {
                "__type": {"const": "GeoPoint"},
                "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            },
        },
        "ParsePolygon": {
            "type": "object", "required": ["__type", "coordinates"],
            "properties": {
                "__type": {"const": "Polygon"},
                "coordinates": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            },
        },
        "ParseBytes": {
            "type": "object", "required": ["__type", "base64"],
            "properties": {"__type": {"const": "Bytes"}, "base64": {"type": "string", "contentEncoding": "base64"}},
        },
        "ParsePointer": {
            "type": "object", "required": ["__type", "className", "objectId"],
            "properties": {
                "__type": {"const": "Pointer"}, "className": {"type": "string"}, "objectId": {"type": "string"},
            },
        },
        "ParseRelation": {
            "type": "object", "required": ["__type", "className"],
            "properties": {"__type": {"const": "Relation"}, "className": {"type": "string"}},
        },
        "ACL": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"read": {"type": "boolean"}, "write": {"type": "boolean"}},
            },
        },
        "ParseError": {
            "type": "object", "required": ["code", "error"],
            "properties": {"code": {"type": "integer"}, "error": {"type": "string"}},
        },
        "CreatedResponse": {
            "type": "object", "required": ["objectId", "createdAt"],
            "properties": {"objectId": {"type": "string"}, "createdAt": {"type": "string", "format": "date-time"}},
        },
        "UpdatedResponse": {
            "type": "object", "properties": {"updatedAt": {"type": "string", "format": "date-time"}},
        },
        "BatchRequest": {
            "type": "object", "required": ["requests"],
            "properties": {
                "requests": {
                    "type": "array", "maxItems": 50,
                    "items": {
                        "type": "object", "required": ["method", "path"],
                        "properties": {
                            "method": {"enum": ["POST", "PUT", "DELETE"]},
                            "path": {"type": "string"},
                            "body": {"type": "object"},
                        },
                    },
                },
            },
        },
        "Session": {
            "type": "object",
            "properties": {"sessionToken": {"type": "string"}, "objectId": {"type": "string"}},
        },
    }  # fmt: skip


def _errors() -> dict[str, Any]:
    body = {"application/json": {"schema": _ref("ParseError")}}
    return {
        "400": {"description": "Parse error (code and message)", "content": body},
        "403": {"description": "Forbidden (wrong or missing key)", "content": body},
        "404": {"description": "Object not found (code 101)", "content": body},
        "503": {"description": "Unavailable; retry after the Retry-After header", "content": body},
    }


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_QUERY_PARAMETERS = [
    {"name": "where", "in": "query", "schema": {"type": "string"}, "description": "JSON constraints"},
    {"name": "order", "in": "query", "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "skip", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "keys", "in": "query", "schema": {"type": "string"}},
    {"name": "include", "in": "query", "schema": {"type": "string"}},
    {"name": "count", "in": "query", "schema": {"type": "integer", "enum": [0, 1]}},
]
_OBJECT_ID = {"name": "objectId", "in": "path", "required": True, "schema": {"type": "string"}}


def _class_paths(cls: ClassSpec) -> dict[str, Any]:
    base = "/users" if cls.is_user else f"/classes/{cls.class_name}"
    model = _ref(cls.type_name)
    tag = [cls.type_name]
    listing = {
        "type": "object",
        "properties": {"results": {"type": "array", "items": model}, "count": {"type": "integer"}},
    }
    collection: dict[str, Any] = {
        "get": {
            "operationId": f"query{cls.type_name}", "tags": tag, "parameters": _QUERY_PARAMETERS,
            "responses": {"200": _ok(f"{cls.type_name} objects matching the query", listing), **_errors()},
        },
        "post": {
            "operationId": f"create{cls.type_name}", "tags": tag,
            "requestBody": _json_body(model),
            "responses": {"201": _ok("Created", _ref("CreatedResponse")), **_errors()},
        },
    }  # fmt: skip
    item = {
        "parameters": [_OBJECT_ID],
        "get": {
            "operationId": f"get{cls.type_name}", "tags": tag,
            "parameters": [p for p in _QUERY_PARAMETERS if p["name"] in {"keys", "include"}],
            "responses": {"200": _ok(f"One {cls.type_name}", model), **_errors()},
        },
        "put": {
            "operationId": f"update{cls.type_name}", "tags": tag, "requestBody": _json_body(model),
            "responses": {"200": _ok("Updated", _ref("UpdatedResponse")), **_errors()},
        },
        "delete": {
            "operationId": f"delete{cls.type_name}", "tags": tag,
            "responses": {"200": _ok("Deleted", {"type": "object"}), **_errors()},
        },
    }  # fmt: skip
    return {base: collection, f"{base}/{{objectId}}": item}


def _user_paths(spec: AppSpec) -> dict[str, Any]:
    user = spec.class_named("_User")
    user_ref = _ref(user.type_name) if user else {"type": "object"}
    session = {"allOf": [user_ref, _ref("Session")]}
    credentials = {
        "type": "object", "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string", "writeOnly": True}},
    }  # fmt: skip
    return {
        "/login": {
            "post": {
                "operationId": "logIn", "tags": ["Users"], "requestBody": _json_body(credentials),
                "responses": {"200": _ok("The user and a new session token", session), **_errors()},
            },
        },
        "/logout": {
            "post": {
                "operationId": "logOut", "tags": ["Users"], "security": [{**_KEYS, "sessionToken": []}],
                "responses": {"200": _ok("The session is gone", {"type": "object"}), **_errors()},
            },
        },
        "/users/me": {
            "get": {
                "operationId": "currentUser", "tags": ["Users"], "security": [{**_KEYS, "sessionToken": []}],
                "responses": {"200": _ok("The session's user", session), **_errors()},
            },
        },
        "/sessions/me": {
            "get": {
                "operationId": "currentSession", "tags": ["Users"], "security": [{**_KEYS, "sessionToken": []}],
                "responses": {"200": _ok("The caller's session", {"type": "object"}), **_errors()},
            },
        },
    }  # fmt: skip


def _function_paths(functions: tuple[FunctionSpec, ...]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for function in functions:
        params = {
            "type": "object",
            "properties": {p.name: _FUNCTION_JSON_TYPES.get(p.type, {}) for p in function.params},
            "required": [p.name for p in function.params],
        }
        result = {"type": "object", "properties": {"result": _FUNCTION_JSON_TYPES.get(function.returns, {})}}
        paths[f"/functions/{function.name}"] = {
            "post": {
                "operationId": f"call_{function.method_name}", "tags": ["Functions"],
                "requestBody": _json_body(params),
                "responses": {"200": _ok("The function's result", result), **_errors()},
            },
        }  # fmt: skip
    return paths


def _other_paths() -> dict[str, Any]:
    return {
        "/batch": {
            "post": {
                "operationId": "batch", "tags": ["Batch"], "requestBody": _json_body(_ref("BatchRequest")),
                "responses": {
                    "200": _ok("One success or error per request, in order", {"type": "array", "items": {}}),
                    **_errors(),
                },
            },
        },
        "/files/{name}": {
            "post": {
                "operationId": "uploadFile", "tags": ["Files"],
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {
                    "required": True,
                    "content": {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}},
                },
                "responses": {
                    "201": _ok("The stored file's name and URL", {
                        "type": "object", "required": ["name", "url"],
                        "properties": {"name": {"type": "string"}, "url": {"type": "string"}},
                    }),
                    **_errors(),
                },
            },
        },
    }  # fmt: skip


_KEYS: dict[str, list[str]] = {"applicationId": [], "clientKey": []}


def openapi_document(spec: AppSpec, *, server_url: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of one app, its server at ``server_url`` (the /parse mount)."""
    schemas = _common_components()
    paths: dict[str, Any] = {}
    for cls in spec.classes:
        schemas[cls.type_name] = _class_schema(spec, cls)
        paths.update(_class_paths(cls))
    paths.update(_user_paths(spec))
    paths.update(_other_paths())
    paths.update(_function_paths(spec.functions))
    header = {"type": "apiKey", "in": "header"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{spec.app_name} (Hangar app {spec.application_id})",
            "version": version,
            "description": "The app's data API, speaking the Parse REST protocol. "
            f"Schema hash {spec.schema_hash}.",
        },
        "servers": [{"url": server_url}],
        "security": [_KEYS, {"applicationId": [], "masterKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "applicationId": {**header, "name": "X-Parse-Application-Id"},
                "clientKey": {**header, "name": "X-Parse-Client-Key"},
                "masterKey": {**header, "name": "X-Parse-Master-Key"},
                "sessionToken": {**header, "name": "X-Parse-Session-Token"},
            },
        },
    }  # fmt: skip
