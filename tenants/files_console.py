"""The dashboard's Files page: an app's stored files, newest first, their storage against the quota, and deletion.

The list is a control-plane read of the files' records; deleting goes through the files
service the Parse route ``DELETE /files/:name`` calls (record, usage and bytes, with the
app's file triggers), with the master scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.paginator import Page, Paginator

from hangar.files.models import FileSettings, StoredFile
from hangar.files.selectors import file_usage_get
from hangar.files.services import file_delete
from tenants import data_browser
from tenants.models import App

FILES_PER_PAGE = 50


@dataclass(frozen=True)
class Storage:
    used_bytes: int
    files: int
    quota_bytes: int  # 0: unlimited

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used_bytes / self.quota_bytes)) if self.quota_bytes else 0


def storage_get(*, app: App) -> Storage:
    """What the app stores against its quota: its own setting, else its plan's, else the server's default."""
    used, count = file_usage_get(app_pk=app.pk)
    own = FileSettings.objects.filter(app=app).values_list("storage_quota_bytes", flat=True).first()
    plan = app.organization.plan
    plan_quota = plan.storage_quota_bytes if plan else settings.HANGAR_FILES_DEFAULT_QUOTA_BYTES
    quota = own if own is not None else plan_quota
    return Storage(used_bytes=used, files=count, quota_bytes=int(quota or 0))


def file_page(*, app: App, number: int) -> Page[StoredFile]:
    files = StoredFile.objects.filter(app=app).order_by("-created_at", "-id")
    return Paginator(files, FILES_PER_PAGE).get_page(number)


def file_url(*, app: App, name: str) -> str:
    """The file's public address, as Parse.File.url() gives it."""
    return f"{data_browser.files_base(app)}/{name}"


def file_remove(*, app: App, name: str) -> None:
    async_to_sync(file_delete)(caller=data_browser.master_caller(app), name=name)
