"""The artifact's public pages: a signed, expiring download link and an install page with its QR code.

The token in the URL is the capability (hangar.builds.artifacts): no session is needed, so a
phone can scan the QR code, and a token names one build of one app, so it opens nothing else.
"""

from __future__ import annotations

import io
import re

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from hangar.builds import artifacts, selectors
from hangar.builds.models import Build


def _artifact_build(token: str) -> Build:
    found = artifacts.build_uid_from_token(token)
    if found is None:
        raise Http404("This link is not valid or has expired.")
    build = selectors.build_get_by_uid(app_pk=found[1], uid=found[0])
    if build is None or build.state != Build.State.SUCCEEDED or not build.artifact_key:
        raise Http404("This artifact is gone.")
    return build


@require_GET
def artifact_download(request: HttpRequest, token: str) -> StreamingHttpResponse:
    build = _artifact_build(token)
    response = StreamingHttpResponse(
        artifacts.artifact_chunks(build), content_type=artifacts.artifact_media_type(build)
    )
    # Only safe characters in the header: a version name may hold quotes or anything printable.
    stem = f"{build.spec.get('package_name', 'app')}-{build.spec.get('version_name', '')}"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", stem) + "." + artifacts.artifact_format(build)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Content-Length"] = str(build.artifact_size or 0)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def artifact_install(request: HttpRequest, token: str) -> HttpResponse:
    import segno

    build = _artifact_build(token)
    download = request.build_absolute_uri(reverse("builds:artifact-download", kwargs={"token": token}))
    svg = io.BytesIO()
    segno.make(download, error="m").save(svg, kind="svg", scale=6, xmldecl=False, svgns=True, title="QR code")
    response = render(
        request, "builds/install.html",
        {"build": build, "download": download, "qr_svg": svg.getvalue().decode()},
    )  # fmt: skip
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"  # the URL is the capability
    return response
