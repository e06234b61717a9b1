"""Files over the Parse protocol (reference §11): upload, download, metadata, delete.

Uploads arrive as the raw body (Android, iOS, Flutter, curl; streamed, never buffered)
or as the JS SDK's JSON envelope with the bytes in ``base64`` (reference §2). Downloads
need no key: the app comes from the URL. Every download carries ``nosniff`` and a
sandboxing CSP, and only a short allowlist of inline-safe types is shown inline
(hangar.files.names.is_active): anything else is an attachment, so a file can never run
script on, or pose as a page of, Hangar's origin.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import quote

from django.utils.http import http_date

from hangar.files import selectors, services
from hangar.files.errors import FileSaveError
from hangar.files.names import is_active
from hangar.files.streams import one_chunk
from hangar.gateway.auth import AuthContext, require_master
from hangar.gateway.handlers.classes import files_base
from hangar.gateway.request import ParseRequest
from hangar.gateway.responses import ParseResponse, RawResponse
from hangar.gateway.routing import Router

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}


def register(router: Router) -> None:
    # With an app id header the body is the file, streamed; without, the JS SDK's JSON envelope.
    # None of them in a /batch: bytes are no batch answer, and the app of a download is its URL's.
    router.add("POST", "/files/:name", upload, streams_body=True, batchable=False)
    router.add("DELETE", "/files/:name", delete, batchable=False)
    router.add("GET", "/files/:appId/metadata/:name", metadata, app_param="appId", batchable=False)
    router.add("GET", "/files/:appId/:name", download, app_param="appId", batchable=False)


def _header(request: ParseRequest, name: bytes) -> str | None:
    value = request.headers.get(name)
    return value.decode("latin-1") if value is not None else None


def _envelope_bytes(body: dict[str, Any]) -> bytes:
    encoded = body.get("base64")
    if not isinstance(encoded, str):
        raise FileSaveError("Invalid file upload.")
    if encoded.startswith("data:"):  # a data URI: keep what follows "base64,"
        encoded = encoded.partition(",")[2]
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FileSaveError("Invalid file upload.") from exc


async def upload(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    if request.body_stream is not None:
        declared = _header(request, b"content-length")
        uploaded = await services.file_upload(
            caller=auth.caller, filename=params["name"], content_type=_header(request, b"content-type"),
            chunks=request.body_stream, declared_size=int(declared) if declared and declared.isdigit() else None,
        )  # fmt: skip
    else:
        data = _envelope_bytes(request.body)
        file_data = _object(request.body.get("fileData"))
        uploaded = await services.file_upload(
            caller=auth.caller, filename=params["name"], content_type=request.envelope_content_type,
            chunks=one_chunk(data), declared_size=len(data),
            metadata=_object(file_data.get("metadata")), tags=_object(file_data.get("tags")),
        )  # fmt: skip
    url = f"{files_base(auth)}/{quote(uploaded.name)}"
    return ParseResponse({"url": url, "name": uploaded.name}, status=201, headers={"Location": url})


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def delete(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> RawResponse:
    require_master(auth)
    await services.file_delete(caller=auth.caller, name=params["name"])
    return RawResponse(b"", status=200)


async def metadata(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> ParseResponse:
    record = await selectors.file_get(app_pk=auth.app_pk, name=params["name"])
    return ParseResponse({"metadata": record.metadata} if record is not None and record.metadata else {})


def _not_found() -> RawResponse:
    return RawResponse(b"File not found.", status=404)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range of ``Range: bytes=a-b`` (RFC 9110 §14.2); None for the whole file; ValueError if unsatisfiable."""
    found = _RANGE.match(header.strip()) if header else None
    if found is None:
        return None
    first, last = found.groups()
    if not first:
        if not last or int(last) == 0:
            raise ValueError
        return max(size - int(last), 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError
    return start, end


def _download_headers(record: selectors.StoredFileRecord) -> dict[str, str]:
    headers = {
        "ETag": f'"{record.etag}"', "Last-Modified": http_date(record.created_at.timestamp()),
        "Cache-Control": "public, max-age=86400", "Accept-Ranges": "bytes", **_SECURITY_HEADERS,
    }  # fmt: skip
    if is_active(record.content_type, record.name):
        headers["Content-Disposition"] = "attachment"
    return headers


async def download(request: ParseRequest, auth: AuthContext, params: dict[str, str]) -> RawResponse:
    record = await selectors.file_get(app_pk=auth.app_pk, name=params["name"])
    if record is None:
        return _not_found()
    policy = await selectors.file_policy_get(caller=auth.caller)
    direct = selectors.file_direct_url(app_pk=auth.app_pk, record=record, policy=policy)
    if direct is not None:
        return RawResponse(b"", status=302, headers={"Location": direct})
    headers = _download_headers(record)
    if_none_match = _header(request, b"if-none-match")
    if if_none_match and (if_none_match.strip() == "*" or headers["ETag"] in if_none_match.replace("W/", "")):
        return RawResponse(b"", status=304, content_type=record.content_type, headers=headers)
    try:
        span = _byte_range(_header(request, b"range"), record.size)
    except ValueError:
        headers["Content-Range"] = f"bytes */{record.size}"
        return RawResponse(b"", status=416, headers=headers)
    start, end = span or (0, record.size - 1)
    headers["Content-Length"] = str(end - start + 1)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{record.size}"
    chunks = selectors.file_chunks(app_pk=auth.app_pk, record=record, start=start, end=end)
    return RawResponse(
        b"", status=206 if span else 200, content_type=record.content_type, chunks=chunks, headers=headers
    )
