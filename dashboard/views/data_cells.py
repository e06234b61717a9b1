"""One grid cell of the data browser: its typed editor (text, date, ACL, pointer picker, file) and its save.

With htmx the editor replaces the cell in place; without JavaScript the edit link opens
the same editor on a page of its own and saving returns to the grid. Every save goes
through tenants.data_browser / tenants.data_editors, i.e. the Parse API's services.
Reads of the editor need ``edit_data`` like the save: a viewer never sees a form.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import DeveloperRequest, app_view, capabilities
from hangar.parse_errors import ParseError
from tenants import data_browser, data_editors
from tenants.data_editors import AclPicks
from tenants.roles import Permission
from tenants.selectors import AppAccess


def _class_url(access: AppAccess, class_name: str) -> str:
    return reverse("dashboard:data_class", args=[access.organization.pk, access.app.pk, class_name])


def _editable_spec(access: AppAccess, class_name: str, field_name: str) -> dict[str, Any]:
    fields = data_browser.data_class_get(app=access.app, class_name=class_name)["fields"]
    spec = fields.get(field_name)
    if spec is None or spec["type"] not in data_browser.EDITABLE_TYPES:
        raise data_browser.DataInputError(f"{field_name} is not a column edited here.")
    return dict(spec)


def _editor(access: AppAccess, spec: dict[str, Any], value: Any, search: str | None) -> dict[str, Any]:
    """What the cell's typed editor shows besides the text: ACL rows, pointer matches, the current file."""
    if spec["type"] == "ACL":
        return {"acl_rows": data_editors.acl_entries(app=access.app, acl=value if isinstance(value, dict) else None)}
    if spec["type"] == "Pointer" and search is not None:
        found = data_editors.pointer_search(app=access.app, target_class=str(spec.get("targetClass")), text=search)
        return {"search": search, "matches": found}
    if spec["type"] == "File" and isinstance(value, dict):
        return {"file_url": value.get("url", ""), "file_is_image": str(value.get("name", "")).lower().endswith(
            (".png", ".jpg", ".jpeg", ".gif", ".webp"))}  # fmt: skip
    return {}


def _cell(request: DeveloperRequest, access: AppAccess, class_name: str, object_id: str, field_name: str,
          *, editing: bool, error: str = "") -> HttpResponse:  # fmt: skip
    spec = _editable_spec(access, class_name, field_name)
    obj = data_browser.data_object_get(app=access.app, class_name=class_name, object_id=object_id)
    value = obj.get(field_name)
    link = ""
    if spec["type"] == "Pointer" and isinstance(value, dict) and value.get("objectId"):
        target = reverse("dashboard:data_class", args=[access.organization.pk, access.app.pk, spec["targetClass"]])
        link = f"{target}?{urlencode({'where': orjson.dumps({'objectId': value['objectId']}).decode()})}"
    elif spec["type"] == "File" and isinstance(value, dict):
        link = str(value.get("url") or "")
    context = {
        "access": access, "app": access.app, "can": capabilities(access.role), "tab": "data",
        "class_name": class_name, "object_id": object_id, "spec": spec,
        "cell": {"name": field_name, "type": spec["type"], "text": data_browser.text_of(value, spec), "link": link},
        "editing": editing, "error": error, "editable": data_browser.EDITABLE_TYPES,
        **(_editor(access, spec, value, request.GET.get("q")) if editing else {}),
    }  # fmt: skip
    template = "dashboard/apps/_data_cell.html" if request.htmx or not editing else "dashboard/apps/data_cell.html"
    return render(request, template, context, status=400 if error else 200)


@require_GET
@app_view(requires=Permission.EDIT_DATA)
def data_cell_edit(
    request: DeveloperRequest, access: AppAccess, class_name: str, object_id: str, field_name: str
) -> HttpResponse:
    """The cell's editor (``?q=`` searches the pointer's target class)."""
    try:
        return _cell(request, access, class_name, object_id, field_name, editing=True)
    except ParseError as exc:
        messages.error(request, f"{exc.message} (Parse error {exc.code})")
        return redirect(_class_url(access, class_name))


def _acl_picks(request: DeveloperRequest) -> AclPicks:
    post = request.POST
    return AclPicks(
        principals=post.getlist("acl-principal"), readers=set(post.getlist("acl-read")),
        writers=set(post.getlist("acl-write")), new_user=post.get("acl-user", ""),
        new_user_access=post.get("acl-user-access", "read"), new_role=post.get("acl-role", ""),
        new_role_access=post.get("acl-role-access", "read"),
    )  # fmt: skip


def _save(request: DeveloperRequest, access: AppAccess, class_name: str, object_id: str, field_name: str) -> None:
    spec = _editable_spec(access, class_name, field_name)
    kind = spec["type"]
    if kind == "File":
        upload = request.FILES.get("file")
        if upload is None:
            if request.POST.get("remove"):
                body: dict[str, Any] = {field_name: {"__op": "Delete"}}
                data_browser.data_object_update(app=access.app, class_name=class_name, object_id=object_id, body=body)
                return
            raise data_browser.DataInputError("Choose a file to upload.")
        data_editors.file_attach(
            app=access.app, class_name=class_name, object_id=object_id, field_name=field_name,
            filename=upload.name or "file", content_type=upload.content_type, size=upload.size,
            chunks=upload.chunks(),
        )  # fmt: skip
        return
    if kind == "ACL" and request.POST.get("editor") == "acl":
        value: Any = data_editors.acl_from_picks(app=access.app, picks=_acl_picks(request))
    else:
        text = request.POST.get("pick") or request.POST.get("value", "")
        if text.strip() == "" and kind != "String":
            value = {"__op": "Delete"}
        else:
            value = data_browser.value_from_text(spec, text)
    data_browser.data_object_update(
        app=access.app, class_name=class_name, object_id=object_id, body={field_name: value}
    )


@require_POST
@app_view(requires=Permission.EDIT_DATA)
def data_cell_save(
    request: DeveloperRequest, access: AppAccess, class_name: str, object_id: str, field_name: str
) -> HttpResponse:
    try:
        _save(request, access, class_name, object_id, field_name)
    except ParseError as exc:
        message = f"{exc.message} (Parse error {exc.code})"
        try:
            return _cell(request, access, class_name, object_id, field_name, editing=True, error=message)
        except ParseError:
            messages.error(request, message)
            return redirect(_class_url(access, class_name))
    if request.htmx:
        return _cell(request, access, class_name, object_id, field_name, editing=False)
    messages.success(request, f"Saved {field_name} of {object_id}.")
    return redirect(_class_url(access, class_name))
