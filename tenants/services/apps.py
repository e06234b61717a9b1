"""Apps: creation with provisioning, renaming, key rotation, deletion."""

from __future__ import annotations

import logging
import secrets
import string
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from hangar.datastore.names import validate_class_name
from hangar.datastore.services import (
    app_storage_provision,
    app_storage_remove,
    app_storage_spare_add,
    app_storage_spare_claim,
    app_storage_spares_count,
)
from hangar.invalidation import app_state_remove, publish_app_changed_on_commit
from hangar.parse_errors import ParseError
from hangar.secretbox import decrypt_secret, encrypt_secret
from tenants.audit import audit_record
from tenants.errors import NotFoundError, PlanLimitError, ValidationFailedError
from tenants.models import App, AppKey, Developer, Organization
from tenants.roles import Permission
from tenants.services.access import membership_require
from tenants.services.organizations import _clean_name

log = logging.getLogger(__name__)

_KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 40


def generate_key() -> str:
    """A 40-character alphanumeric key (~238 bits), the shape Parse hosts hand out."""
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(KEY_LENGTH))


def app_create(*, actor: Developer, organization: Organization, name: str) -> tuple[App, dict[str, str]]:
    """Create and provision an app; returns it with its plain keys (application id included)."""
    name = _clean_name(name, what="App")
    started = time.perf_counter()
    with transaction.atomic():
        membership_require(actor=actor, organization=organization, permission=Permission.CREATE_APP)
        plan = organization.plan
        active_apps = organization.apps.filter(status=App.Status.ACTIVE).count()
        if plan and plan.max_apps and active_apps >= plan.max_apps:
            raise PlanLimitError(f"The {plan.name} plan allows {plan.max_apps} apps per organization.")
        # An app id whose partitions were made ahead (None: the pool is empty or off, made below).
        claimed = app_storage_spare_claim() if settings.HANGAR_SPARE_APP_PARTITIONS else None
        spare_pk = claimed[0] if claimed is not None else None
        app = App.objects.create(
            pk=spare_pk, organization=organization, name=name, application_id=generate_key(), created_by=actor
        )
        keys = {kind: generate_key() for kind in AppKey.Kind.values}
        AppKey.objects.bulk_create(
            AppKey(app=app, kind=kind, ciphertext=encrypt_secret(value)) for kind, value in keys.items()
        )
        app_storage_provision(app_pk=app.pk, partitions_ready=spare_pk is not None)
        if _spares_refill_due(claimed):
            transaction.on_commit(_schedule_spares_fill)
        audit_record(
            actor=actor, organization=organization, action="app.create",
            target_type="app", target_id=app.application_id, target_name=name,
        )  # fmt: skip
    log.info("provisioned app %s in %.1f ms", app.pk, (time.perf_counter() - started) * 1000)
    return app, {"application_id": app.application_id, **keys}


def app_spare_partitions_fill(*, target: int | None = None) -> int:
    """Make spare partitions until the pool holds ``target`` (HANGAR_SPARE_APP_PARTITIONS); how many were made.

    Each spare is its own short transaction, so the pool is usable while it fills. Two fills at
    once may overshoot the target by a few spares, which costs nothing but their empty tables.
    """
    target = settings.HANGAR_SPARE_APP_PARTITIONS if target is None else target
    made = 0
    while made < target and app_storage_spares_count() < target:
        with transaction.atomic():
            app_storage_spare_add(app_pk=_app_pk_reserve())
        made += 1
    return made


def _spares_refill_due(claimed: tuple[int, int] | None) -> bool:
    """Whether this creation queues a refill: the one that leaves the pool half empty, and any that found it empty.

    Once, not on every claim below half: a queued task costs the creation a broker round trip, and
    beat's run every minute catches a crossing missed by creations at the same time.
    """
    target = settings.HANGAR_SPARE_APP_PARTITIONS
    if not target:
        return False
    return claimed is None or claimed[1] == (target + 1) // 2 - 1


def _app_pk_reserve() -> int:
    """A fresh app id from the apps' own sequence: no app created later can take it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [App._meta.db_table])
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _schedule_spares_fill() -> None:
    """Queue a refill of the pool; if the broker is down, the periodic task refills it later."""
    from tenants.tasks import spare_partitions_fill

    try:
        spare_partitions_fill.delay()
    except Exception:  # the app is created; only the refill waits for the next beat
        log.exception("could not queue a refill of the spare partitions")


def _active_app(organization: Organization, app_pk: int) -> App:
    app = App.objects.select_for_update().filter(organization=organization, pk=app_pk, status=App.Status.ACTIVE).first()
    if app is None:
        raise NotFoundError("App not found.")
    return app


def app_rename(*, actor: Developer, organization: Organization, app_pk: int, name: str) -> App:
    name = _clean_name(name, what="App")
    with transaction.atomic():
        membership_require(actor=actor, organization=organization, permission=Permission.RENAME_APP)
        app = _active_app(organization, app_pk)
        old_name, app.name = app.name, name
        app.save(update_fields=["name"])
        audit_record(
            actor=actor, organization=organization, action="app.rename", target_type="app",
            target_id=app.application_id, target_name=name, details={"from": old_name, "to": name},
        )  # fmt: skip
    return app


MAX_LIVE_QUERY_CLASSES = 200


def _clean_class_names(class_names: list[str]) -> list[str]:
    cleaned = sorted({str(name).strip() for name in class_names if str(name).strip()})
    if len(cleaned) > MAX_LIVE_QUERY_CLASSES:
        raise ValidationFailedError(f"At most {MAX_LIVE_QUERY_CLASSES} classes.", field="live_query_classes")
    for name in cleaned:
        try:
            validate_class_name(name)
        except ParseError as exc:
            raise ValidationFailedError(exc.message, field="live_query_classes") from exc
    return cleaned


def app_live_query_classes_set(
    *, actor: Developer, organization: Organization, app_pk: int, class_names: list[str]
) -> App:
    """Which classes LiveQuery clients may subscribe to (empty: every class); in force in every process at once."""
    cleaned = _clean_class_names(class_names)
    with transaction.atomic():
        # An app setting like its name: the same role may change it.
        membership_require(actor=actor, organization=organization, permission=Permission.RENAME_APP)
        app = _active_app(organization, app_pk)
        previous, app.live_query_classes = app.live_query_classes, cleaned
        app.save(update_fields=["live_query_classes"])
        audit_record(
            actor=actor, organization=organization, action="app.live_query_classes", target_type="app",
            target_id=app.application_id, target_name=app.name, details={"from": previous, "to": cleaned},
        )  # fmt: skip
        application_id = app.application_id
        publish_app_changed_on_commit(application_id)
    return app


def app_client_class_creation_set(*, actor: Developer, organization: Organization, app_pk: int, allowed: bool) -> App:
    """Let clients create classes by saving to them (Parse's allowClientClassCreation); in force at once everywhere."""
    with transaction.atomic():
        membership_require(actor=actor, organization=organization, permission=Permission.RENAME_APP)
        app = _active_app(organization, app_pk)
        previous, app.allow_client_class_creation = app.allow_client_class_creation, bool(allowed)
        app.save(update_fields=["allow_client_class_creation"])
        if previous != app.allow_client_class_creation:
            audit_record(
                actor=actor, organization=organization, action="app.client_class_creation", target_type="app",
                target_id=app.application_id, target_name=app.name, details={"from": previous, "to": bool(allowed)},
            )  # fmt: skip
        publish_app_changed_on_commit(app.application_id)
    return app


def app_master_key_reveal(*, actor: Developer, organization: Organization, app_pk: int) -> str:
    """The app's master key in plain text, audited like a rotation: whoever reads it could act as the app."""
    with transaction.atomic():
        membership_require(actor=actor, organization=organization, permission=Permission.VIEW_MASTER_KEY)
        app = App.objects.filter(organization=organization, pk=app_pk, status=App.Status.ACTIVE).first()
        if app is None:
            raise NotFoundError("App not found.")
        key = AppKey.objects.filter(app=app, kind=AppKey.Kind.MASTER).first()
        if key is None:
            raise NotFoundError("This app has no master key.")
        audit_record(
            actor=actor, organization=organization, action="app.master_key_reveal", target_type="app",
            target_id=app.application_id, target_name=app.name,
        )  # fmt: skip
        return decrypt_secret(key.ciphertext)


def app_key_rotate(*, actor: Developer, organization: Organization, app_pk: int, kind: str) -> str:
    """Replace one key; the old one stops working in every process as soon as this commits."""
    if kind not in AppKey.Kind.values:
        raise ValidationFailedError(f"Unknown key kind {kind!r}.", field="kind")
    new_value = generate_key()
    with transaction.atomic():
        membership_require(actor=actor, organization=organization, permission=Permission.ROTATE_KEY)
        app = _active_app(organization, app_pk)
        AppKey.objects.update_or_create(
            app=app, kind=kind, defaults={"ciphertext": encrypt_secret(new_value), "rotated_at": timezone.now()}
        )
        audit_record(
            actor=actor, organization=organization, action="app.key_rotate", target_type="app",
            target_id=app.application_id, target_name=app.name, details={"kind": kind},
        )  # fmt: skip
        application_id = app.application_id
        publish_app_changed_on_commit(application_id)
    return new_value


def app_delete(*, actor: Developer, organization: Organization, app_pk: int, confirm_name: str) -> None:
    """Irreversibly delete an app: it stops answering now, its data goes in a Celery task."""
    with transaction.atomic():
        membership_require(actor=actor, organization=organization, permission=Permission.DELETE_APP)
        app = _active_app(organization, app_pk)
        if confirm_name != app.name:
            raise ValidationFailedError("Type the app's name exactly to confirm deletion.", field="confirm_name")
        app.status = App.Status.DELETING
        app.save(update_fields=["status"])
        audit_record(
            actor=actor, organization=organization, action="app.delete", target_type="app",
            target_id=app.application_id, target_name=app.name,
        )  # fmt: skip
        application_id, pk = app.application_id, app.pk
        publish_app_changed_on_commit(application_id)
        transaction.on_commit(lambda: _schedule_purge(pk))


def _schedule_purge(app_pk: int) -> None:
    """Queue the purge; if the broker is down, the periodic sweep (tenants.purge_deleted_apps) does it later."""
    from tenants.tasks import purge_app

    try:
        purge_app.delay(app_pk=app_pk)
    except Exception:  # the deletion is committed; the sweep retries, so the request must not fail
        log.exception("could not queue the purge of app %s; the periodic sweep will purge it", app_pk)


def apps_awaiting_purge() -> list[int]:
    return list(App.objects.filter(status=App.Status.DELETING).values_list("pk", flat=True))


def app_purge(*, app_pk: int) -> bool:
    """Remove everything an app owns; False if it was already gone.

    Idempotent and restartable: the app's row goes last, so a purge cut short anywhere (a
    killed worker, a storage backend down) leaves the app marked for deletion, and the next
    run (the task redelivered, or the sweep) finishes it; a run after that finds nothing.
    """
    from hangar.app_files import app_files_remove

    # Dropping partitions locks their parent tables, so that transaction ends before the
    # file removal, which may take a while on a remote backend.
    with transaction.atomic():
        app = _app_awaiting_purge(app_pk)
        if app is None:
            return False
        app_storage_remove(app_pk=app.pk)
    app_files_remove(app_pk=app_pk)
    with transaction.atomic():
        app = _app_awaiting_purge(app_pk)
        if app is None:  # a concurrent run (a duplicate delivery) finished first
            return False
        organization, application_id, name = app.organization, app.application_id, app.name
        app.delete()  # cascades to keys and any remaining app-owned rows
        audit_record(
            actor=None, organization=organization, action="app.purge", target_type="app",
            target_id=application_id, target_name=name,
        )  # fmt: skip
    app_state_remove(application_id, _app_redis_keys(app_pk))
    return True


def _app_redis_keys(app_pk: int) -> list[str]:
    """The Redis keys an app owns beyond those that expire by themselves (rate windows) and its version key."""
    from hangar.cloudcode.logs import log_key as cloud_log_key
    from hangar.datastore.change_feed import live_classes_key, live_members_key
    from hangar.datastore.schema_registry import schema_version_key
    from hangar.identity.roles import role_version_key
    from hangar.identity.sessions import session_version_key
    from hangar.realtime.stats import live_stats_key

    return [
        schema_version_key(app_pk), role_version_key(app_pk),
        session_version_key(app_pk), live_classes_key(app_pk), live_members_key(app_pk), live_stats_key(app_pk),
        cloud_log_key(app_pk),
    ]  # fmt: skip


def _app_awaiting_purge(app_pk: int) -> App | None:
    """The app, locked against a concurrent purge; None once purged."""
    app = App.objects.select_for_update().filter(pk=app_pk).first()
    if app is not None and app.status != App.Status.DELETING:
        raise ValidationFailedError("Only an app marked for deletion can be purged.")
    return app
