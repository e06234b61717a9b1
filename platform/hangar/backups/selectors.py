"""Reads of backups."""

from __future__ import annotations

from hangar.backups.models import Backup, Restore
from tenants.models import Organization


def backup_list(*, organization: Organization, application_id: str | None = None, limit: int = 100) -> list[Backup]:
    rows = Backup.objects.filter(organization=organization)
    if application_id:
        rows = rows.filter(application_id=application_id)
    return list(rows[:limit])


def backup_get(*, organization: Organization, public_id: str) -> Backup | None:
    return Backup.objects.filter(organization=organization, public_id=public_id).first()


def restore_get(*, organization: Organization, public_id: str) -> Restore | None:
    return Restore.objects.filter(organization=organization, public_id=public_id).select_related("app").first()
