"""Cache invalidation when a plan's limits or an organization's plan change.

Admission caches each app with its plan's limits (hangar.admission.registry); a plan
edited in the admin or the shell, or an organization moved to another plan, must reach
every process at once, like a rotated key: the apps concerned get their version bumped
after commit. (Signals only for cache invalidation, as STYLE.md allows.)
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_save
from django.dispatch import receiver

from hangar.invalidation import publish_app_changed
from tenants.models import App, Organization, Plan


def _bump_after_commit(apps: QuerySet[App]) -> None:
    ids = list(apps.values_list("application_id", flat=True))

    def bump() -> None:
        for application_id in ids:
            publish_app_changed(application_id)

    transaction.on_commit(bump)


@receiver(post_save, sender=Plan, dispatch_uid="tenants.plan_saved")
def plan_saved(sender: type[Plan], instance: Plan, created: bool, **kwargs: Any) -> None:
    if not created:
        _bump_after_commit(App.objects.filter(organization__plan=instance))


@receiver(post_save, sender=Organization, dispatch_uid="tenants.organization_saved")
def organization_saved(sender: type[Organization], instance: Organization, created: bool, **kwargs: Any) -> None:
    if not created:
        _bump_after_commit(App.objects.filter(organization=instance))
