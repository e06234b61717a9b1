"""Which downloads a browser may show inline: one well-formed media type on a short allowlist, nothing else."""

from __future__ import annotations

import pytest

from tests.files.conftest import FileApp

pytestmark = pytest.mark.django_db(transaction=True)

ATTACHMENT_TYPES = [
    "text/plain; x=1, text/html",  # Chromium reads the header as a list and renders the last: HTML
    "text/plain, text/html",
    'image/png;a="x, text/html"',  # a comma, even quoted
    "text/html;charset=utf-8",
    "TEXT/HTML",
    "text/html ; charset=utf-8",
    "image/svg+xml",
    "application/xhtml+xml",
    "application/xml",
    "text/xml",
    "application/pdf",
    "text/javascript",
    "application/x-shockwave-flash",
    "multipart/x-mixed-replace;boundary=x",
    "garbage",
    "text/plain;;;=",
]
INLINE_TYPES = ["text/plain", "TEXT/Plain; charset=utf-8", 'text/plain; charset="utf-8"', "image/png", "image/JPEG"]


@pytest.mark.parametrize("content_type", ATTACHMENT_TYPES)
async def test_types_off_the_allowlist_download_as_attachments(files_a: FileApp, content_type: str):
    uploaded = await files_a.upload("note", b"<script>alert(1)</script>", content_type, master=True)
    if uploaded.status_code != 201:  # refused at upload: nothing to serve, equally safe
        assert (uploaded.status_code, uploaded.json()["code"]) == (400, 130), uploaded.text
        return
    got = await files_a.download(uploaded.json()["name"])
    assert got.status_code == 200
    assert got.headers["content-disposition"] == "attachment"
    assert got.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("content_type", INLINE_TYPES)
async def test_allowlisted_types_are_shown_inline(files_a: FileApp, content_type: str):
    uploaded = await files_a.upload("picture", b"\x89PNG....", content_type, master=True)
    got = await files_a.download(uploaded.json()["name"])
    assert got.status_code == 200
    assert "content-disposition" not in got.headers


async def test_a_type_without_a_declared_one_follows_the_name(files_a: FileApp):
    """No Content-Type: the type guessed from the name decides (``.html`` downloads, ``.png`` shows)."""
    page = await files_a.upload("page.html", b"<b>hi</b>", None, master=True)
    assert (await files_a.download(page.json()["name"])).headers["content-disposition"] == "attachment"
    picture = await files_a.upload("picture.png", b"\x89PNG", None, master=True)
    assert "content-disposition" not in (await files_a.download(picture.json()["name"])).headers
