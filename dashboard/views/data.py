"""An app's Data pages: the class list with counts, a class's grid (filters, keyset pages) and its edits.

Reads need only membership (a viewer browses); every write needs ``edit_data`` and goes
through tenants.data_browser, which calls the Parse API's own datastore services. Parse
errors (a bad class name, a non-empty class, a wrong type) come back as messages with
their Parse code, never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import urlencode

import orjson
from django.contrib import messages
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard import clp_form
from dashboard.access import DeveloperRequest, app_view, capabilities
from hangar.parse_errors import ParseError
from tenants import data_browser, data_keyset
from tenants import data_import as file_import
from tenants.data_browser import Filter
from tenants.errors import NotFoundError
from tenants.roles import Permission
from tenants.selectors import AppAccess

MAX_FILTERS = 10
MAX_FIRST_FIELDS = 20
FIXED_COLUMNS = frozenset({"objectId", "createdAt", "updatedAt", "ACL"})  # every class has them; never removed


def _error(request: DeveloperRequest, exc: ParseError) -> None:
    messages.error(request, f"{exc.message} (Parse error {exc.code})")


def _base_context(access: AppAccess) -> dict[str, Any]:
    return {"access": access, "app": access.app, "can": capabilities(access.role), "tab": "data"}


def _class_url(access: AppAccess, class_name: str, query: str = "") -> str:
    url = reverse("dashboard:data_class", args=[access.organization.pk, access.app.pk, class_name])
    return f"{url}?{query}" if query else url


@require_GET
@app_view()
def data_home(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    number = request.GET.get("page", "1")
    class_page = data_browser.data_class_page(app=access.app, number=int(number) if number.isdigit() else 1)
    context = {
        **_base_context(access),
        "class_page": class_page,
        "classes": class_page.classes,
        "custom_classes": class_page.has_custom,
        "field_types": data_browser.FIELD_TYPES,
        "first_fields": range(3),
    }
    return render(request, "dashboard/apps/data.html", context)


def _first_fields(post: QueryDict) -> dict[str, dict[str, Any]]:
    names, types, targets = post.getlist("field_name"), post.getlist("field_type"), post.getlist("field_target")
    fields: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(names[:MAX_FIRST_FIELDS]):
        name = name.strip()
        if not name:
            continue
        type_name = types[index] if index < len(types) else "String"
        target = targets[index].strip() if index < len(targets) else ""
        fields[name] = data_browser.field_spec(type_name, target)
    return fields


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_class_create(request: DeveloperRequest, access: AppAccess) -> HttpResponse:
    class_name = request.POST.get("class_name", "").strip()
    try:
        data_browser.data_class_create(
            actor=request.user, organization=access.organization, app=access.app, class_name=class_name,
            fields=_first_fields(request.POST),
        )  # fmt: skip
    except ParseError as exc:
        _error(request, exc)
        return redirect("dashboard:data", organization_id=access.organization.pk, app_id=access.app.pk)
    messages.success(request, f"Created the class {class_name}.")
    return redirect(_class_url(access, class_name))


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_class_delete(request: DeveloperRequest, access: AppAccess, class_name: str) -> HttpResponse:
    try:
        data_browser.data_class_delete(
            actor=request.user, organization=access.organization, app=access.app, class_name=class_name
        )
    except ParseError as exc:
        _error(request, exc)
        return redirect(_class_url(access, class_name))
    messages.success(request, f"Deleted the class {class_name}.")
    return redirect("dashboard:data", organization_id=access.organization.pk, app_id=access.app.pk)


def _filters(request: DeveloperRequest) -> list[Filter]:
    fields, ops, values = request.GET.getlist("f"), request.GET.getlist("op"), request.GET.getlist("v")
    rows = []
    for index, name in enumerate(fields[:MAX_FILTERS]):
        if name:
            op = ops[index] if index < len(ops) else "eq"
            rows.append(Filter(field=name, op=op, value=values[index] if index < len(values) else ""))
    return rows


def _grid_query(request: DeveloperRequest, schema_fields: dict[str, Any]) -> tuple[dict[str, Any], list[Filter]]:
    """The page's ``where``: the filter builder's rows, or a raw Parse where typed in the advanced box."""
    filters = _filters(request)
    raw = request.GET.get("where", "").strip()
    if raw:
        try:
            where = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise data_browser.DataInputError(f"The where is not valid JSON: {exc}") from exc
        if not isinstance(where, dict):
            raise data_browser.DataInputError("A where is a JSON object.")
        return where, filters
    return data_browser.where_from_filters(schema_fields, filters), filters


@require_GET
@app_view()
def data_class(request: DeveloperRequest, access: AppAccess, class_name: str) -> HttpResponse:
    context = _base_context(access)
    try:
        schema = data_browser.data_class_get(app=access.app, class_name=class_name)
    except ParseError as exc:
        _error(request, exc)
        return redirect("dashboard:data", organization_id=access.organization.pk, app_id=access.app.pk)
    sort = request.GET.get("sort", "-createdAt")
    filters: list[Filter] = []
    page = None
    try:
        where, filters = _grid_query(request, schema["fields"])
        page = data_browser.data_page(
            app=access.app, class_name=class_name, where=where, sort=sort, cursor=request.GET.get("after") or None
        )
    except ParseError as exc:
        context["grid_error"] = f"{exc.message} (Parse error {exc.code})"
    hidden = set(request.GET.getlist("hide"))
    columns = [name for name in _column_order(schema["fields"]) if name not in hidden]
    sortable = data_keyset.sortable_columns(schema["fields"])
    column_heads = [
        {"name": name, "type": schema["fields"][name]["type"], "sort_url": _sort_url(request, name, sort, sortable),
         "sorted": "ascending" if sort == name else "descending" if sort == f"-{name}" else ""}
        for name in columns
    ]  # fmt: skip
    next_query = request.GET.copy()
    if page is not None and page.next_cursor:
        next_query["after"] = page.next_cursor
    first_query = request.GET.copy()
    first_query.pop("after", None)
    context.update(
        class_name=class_name, schema=schema, fields=schema["fields"], columns=column_heads, hidden=hidden, page=page,
        fixed_columns=FIXED_COLUMNS,
        rows=_row(access, class_name, page.rows, schema["fields"], columns) if page else [],
        filter_rows=[
            (row, data_browser.operators_for(schema["fields"].get(row.field, {}).get("type", "")))
            for row in filters or [Filter(field="", op="eq")]
        ],
        operators=data_browser.OPERATORS,
        other_operators=data_browser.OTHER_OPERATORS, sort=sort,
        sorts=[option for name in sortable for option in (name, f"-{name}")],
        where_text=orjson.dumps(page.where).decode() if page else request.GET.get("where", ""),
        raw_where=request.GET.get("where", ""),
        next_url=f"?{next_query.urlencode()}" if page and page.next_cursor else "",
        first_url=f"?{first_query.urlencode()}", paged=bool(request.GET.get("after")),
        field_types=data_browser.FIELD_TYPES, editable=data_browser.EDITABLE_TYPES,
        clp_form=clp_form.form_of(schema.get("classLevelPermissions") or {}),
        pointer_fields=[n for n, s in schema["fields"].items()
                        if s["type"] == "Array" or (s["type"] == "Pointer" and s.get("targetClass") == "_User")],
        clp_text=orjson.dumps(schema.get("classLevelPermissions") or {}, option=orjson.OPT_INDENT_2).decode(),
        indexes=schema.get("indexes") or {},
        new_row_fields=[(n, s) for n, s in schema["fields"].items() if s["type"] in data_browser.EDITABLE_TYPES
                        and s["type"] != "File"
                        and n not in ("objectId", "createdAt", "updatedAt")],
    )  # fmt: skip
    return render(request, "dashboard/apps/data_class.html", context)


def _sort_url(request: DeveloperRequest, name: str, sort: str, sortable: list[str]) -> str:
    """The header link that sorts by this column: ascending first, descending when already ascending."""
    if name not in sortable:
        return ""
    query = request.GET.copy()
    query.pop("after", None)  # a cursor belongs to the old order
    query["sort"] = f"-{name}" if sort == name else name
    return f"?{query.urlencode()}"


def _column_order(fields: dict[str, Any]) -> list[str]:
    """objectId first, the app's own columns next, then the timestamps and the ACL, as Parse Dashboard shows them."""
    tail = [name for name in ("createdAt", "updatedAt", "ACL") if name in fields]
    own = [name for name in fields if name not in FIXED_COLUMNS]
    return ["objectId", *own, *tail] if "objectId" in fields else [*own, *tail]


def _link(access: AppAccess, class_name: str, object_id: str, name: str, spec: dict[str, Any], value: Any) -> str:
    """Where a cell leads: a pointer's object or a relation's objects in their grid, or a file itself."""
    if spec["type"] == "File" and isinstance(value, dict):
        return str(value.get("url") or "")
    target = spec.get("targetClass")
    if not target:
        return ""
    if spec["type"] == "Pointer" and isinstance(value, dict) and value.get("objectId"):
        where = {"objectId": value["objectId"]}
    elif spec["type"] == "Relation":
        owner = {"__type": "Pointer", "className": class_name, "objectId": object_id}
        where = {"$relatedTo": {"object": owner, "key": name}}
    else:
        return ""
    return _class_url(access, str(target), urlencode({"where": orjson.dumps(where).decode()}))


def _row(
    access: AppAccess, class_name: str, rows: list[dict[str, Any]], fields: dict[str, Any], columns: list[str]
) -> list[dict[str, Any]]:
    return [
        {
            "id": row["objectId"],
            "cells": [
                {
                    "name": name, "type": fields[name]["type"],
                    "text": data_browser.text_of(row.get(name), fields[name]),
                    "link": _link(access, class_name, row["objectId"], name, fields[name], row.get(name)),
                }
                for name in columns
            ],
        }
        for row in rows
    ]  # fmt: skip


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_field_add(request: DeveloperRequest, access: AppAccess, class_name: str) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    try:
        spec = data_browser.field_spec(request.POST.get("type", ""), request.POST.get("target", "").strip())
        data_browser.data_field_add(
            actor=request.user, organization=access.organization, app=access.app, class_name=class_name,
            name=name, spec=spec,
        )  # fmt: skip
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Added the column {name}.")
    return redirect(_class_url(access, class_name))


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_field_remove(request: DeveloperRequest, access: AppAccess, class_name: str, field_name: str) -> HttpResponse:
    try:
        data_browser.data_field_remove(
            actor=request.user, organization=access.organization, app=access.app, class_name=class_name,
            name=field_name,
        )  # fmt: skip
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Removed the column {field_name} and its values.")
    return redirect(_class_url(access, class_name))


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_row_add(request: DeveloperRequest, access: AppAccess, class_name: str) -> HttpResponse:
    try:
        fields = data_browser.data_class_get(app=access.app, class_name=class_name)["fields"]
        typed = {name: request.POST.get(name, "") for name in fields if name not in FIXED_COLUMNS}
        body = {name: data_browser.value_from_text(fields[name], text) for name, text in typed.items() if text.strip()}
        object_id = data_browser.data_object_create(app=access.app, class_name=class_name, body=body)
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Added the object {object_id}.")
    return redirect(_class_url(access, class_name))


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_rows_delete(request: DeveloperRequest, access: AppAccess, class_name: str) -> HttpResponse:
    object_ids = [object_id for object_id in request.POST.getlist("object_id") if object_id]
    try:
        deleted = data_browser.data_objects_delete(app=access.app, class_name=class_name, object_ids=object_ids)
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Deleted {deleted} object{'s' if deleted != 1 else ''}.")
    return redirect(_class_url(access, class_name))


EXPORT_FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8"}


@require_GET
@app_view()
def data_export(request: DeveloperRequest, access: AppAccess, class_name: str, fmt: str) -> HttpResponse:
    """The whole class as a streamed download: memory stays flat however many objects it holds."""
    if fmt not in EXPORT_FORMATS:
        raise NotFoundError("No such export format.")
    try:
        data_browser.data_class_get(app=access.app, class_name=class_name)  # 103 before the download starts
    except ParseError as exc:
        _error(request, exc)
        return redirect("dashboard:data", organization_id=access.organization.pk, app_id=access.app.pk)
    if fmt == "json":
        chunks: Iterator[bytes | str] = data_browser.export_json(app=access.app, class_name=class_name)
    else:
        chunks = data_browser.export_csv(app=access.app, class_name=class_name)
    response = StreamingHttpResponse(chunks, content_type=EXPORT_FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{class_name}.{fmt}"'
    # dashboard.access types views as returning HttpResponse; a streamed one is served the same way.
    return cast(HttpResponse, response)


def _is_csv(name: str, content_type: str | None) -> bool:
    return name.lower().endswith(".csv") or (content_type or "").startswith("text/csv")


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_import(request: DeveloperRequest, access: AppAccess, class_name: str) -> HttpResponse:
    """Check a CSV or JSON file, then import it in batches on a worker; the answer is its progress page."""
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a CSV or JSON file to import.")
        return redirect(_class_url(access, class_name))
    try:
        job = file_import.import_start(
            app=access.app, class_name=class_name, content=upload.read(file_import.IMPORT_MAX_BYTES + 1),
            is_csv=_is_csv(upload.name or "", upload.content_type), started_by=request.user,
        )  # fmt: skip
    except ParseError as exc:
        _error(request, exc)
        return redirect(_class_url(access, class_name))
    if job.status == job.Status.FAILED:  # the task queue did not answer: the job page says so too
        messages.error(request, job.fatal)
    return redirect(
        "dashboard:data_import_status", organization_id=access.organization.pk, app_id=access.app.pk,
        class_name=class_name, job_id=job.public_id,
    )  # fmt: skip


@require_GET
@app_view(requires=Permission.EDIT_DATA)
def data_import_status(request: DeveloperRequest, access: AppAccess, class_name: str, job_id: str) -> HttpResponse:
    """A JSON import's progress: refreshed by htmx (or a meta refresh without JavaScript) until it ends."""
    job = file_import.import_job_get(app=access.app, job_id=job_id)
    if job is None or job.class_name != class_name:
        raise NotFoundError("No such import.")
    context = {**_base_context(access), "class_name": class_name, "job": job}
    template = "dashboard/apps/_data_import_progress.html" if request.htmx else "dashboard/apps/data_import.html"
    return render(request, template, context)


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_class_permissions(request: DeveloperRequest, access: AppAccess, class_name: str) -> HttpResponse:
    """Save the CLP from the form (``mode=form``) or from the raw JSON box."""
    try:
        if request.POST.get("mode") == "form":
            clp = clp_form.clp_of(request.POST)
        else:
            clp = data_browser.json_object(request.POST.get("clp", ""))
        data_browser.data_class_permissions_set(
            actor=request.user, organization=access.organization, app=access.app, class_name=class_name, clp=clp
        )
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, "Saved the class-level permissions.")
    return redirect(_class_url(access, class_name))


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_index_add(request: DeveloperRequest, access: AppAccess, class_name: str) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    try:
        data_browser.data_index_add(
            actor=request.user, organization=access.organization, app=access.app, class_name=class_name, name=name,
            text=request.POST.get("keys", ""),
        )  # fmt: skip
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Added the index {name}.")
    return redirect(_class_url(access, class_name))


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_index_drop(request: DeveloperRequest, access: AppAccess, class_name: str, index_name: str) -> HttpResponse:
    try:
        data_browser.data_index_drop(
            actor=request.user, organization=access.organization, app=access.app, class_name=class_name,
            name=index_name,
        )  # fmt: skip
    except ParseError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Dropped the index {index_name}.")
    return redirect(_class_url(access, class_name))
