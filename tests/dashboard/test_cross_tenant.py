"""Alice, logged in, gets 404 for every dashboard URL naming Bob's organization, app, member or invitation.

Each case also checks that nothing of Bob's changed and that no secret of his leaked
into the response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from hangar.backups.models import Backup, BackupSchedule
from hangar.builds.models import Build, BuildProfile, SigningCredential
from hangar.files.models import FileSettings
from hangar.identity.models import AuthSettings
from hangar.messaging.models import ProviderCredential
from hangar.messaging.provider_credentials import provider_credential_set
from hangar.messaging.sms_email_models import MessageTemplate, SenderSettings
from hangar.schema_history.models import SchemaMigration
from tenants.models import App, AppKey, AuditEvent, Invitation, Membership, Organization
from tenants.services import invitation_create
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember

pytestmark = pytest.mark.django_db


@dataclass
class World:
    alice: Tenant
    bob: Tenant
    bob_member: Membership
    bob_invitation: Invitation
    bob_audience: str
    bob_campaign: str


@dataclass(frozen=True)
class Case:
    method: str
    name: str
    args: Callable[[World], list[Any]]
    data: dict[str, str]


def _bob_org(w: World) -> list[Any]:
    return [w.bob.organization.pk]


def _bob_app(w: World) -> list[Any]:
    return [w.bob.organization.pk, w.bob.app.pk]


def _bob_app_in_alice_org(w: World) -> list[Any]:
    return [w.alice.organization.pk, w.bob.app.pk]


def _rotate(app_args: Callable[[World], list[Any]]) -> Callable[[World], list[Any]]:
    return lambda w: [*app_args(w), "rest"]


def _bob_member(org: str) -> Callable[[World], list[Any]]:
    return lambda w: [getattr(w, org).organization.pk, w.bob_member.pk]


def _bob_invitation(org: str) -> Callable[[World], list[Any]]:
    return lambda w: [getattr(w, org).organization.pk, w.bob_invitation.pk]


_PUSH_FORM = {"alert": "pwned", "target": "all", "when": "now", "expire": "never", "audience_name": "pwned"}


def _bob_audience(app_args: Callable[[World], list[Any]]) -> Callable[[World], list[Any]]:
    return lambda w: [*app_args(w), w.bob_audience]


def _data(app_args: Callable[[World], list[Any]], *extra: str) -> Callable[[World], list[Any]]:
    """A class (and object and column) under Bob's app ids: refused at the tenant check, before any lookup.

    tests/dashboard/test_data.py works on real classes and objects (it needs committed data).
    """
    return lambda w: [*app_args(w), "Pet", *extra]


def _user(app_args: Callable[[World], list[Any]], *extra: str) -> Callable[[World], list[Any]]:
    """An end user (and session or mail kind) under Bob's app ids: refused at the tenant check (see _data)."""
    return lambda w: [*app_args(w), "bobUser0001", *extra]


def _role(app_args: Callable[[World], list[Any]], *extra: str) -> Callable[[World], list[Any]]:
    """A role (and user) under Bob's app ids: refused at the tenant check (see _data)."""
    return lambda w: [*app_args(w), "bobRole0001", *extra]


def _bob_campaign(app_args: Callable[[World], list[Any]]) -> Callable[[World], list[Any]]:
    return lambda w: [*app_args(w), w.bob_campaign]


def _app_cases(label: str, app_args: Callable[[World], list[Any]]) -> dict[str, Case]:
    return {
        f"settings-{label}": Case("get", "app_settings", app_args, {}),
        f"reveal-{label}": Case("post", "app_master_key_reveal", app_args, {}),
        f"rotate-confirm-{label}": Case("get", "app_key_rotate", _rotate(app_args), {}),
        f"rotate-{label}": Case("post", "app_key_rotate", _rotate(app_args), {}),
        f"rename-page-{label}": Case("get", "app_rename", app_args, {}),
        f"rename-{label}": Case("post", "app_rename", app_args, {"name": "pwned"}),
        f"live-query-{label}": Case("post", "app_live_query", app_args, {"classes": "Pwned"}),
        f"auth-policy-{label}": Case("post", "app_auth_policy", app_args, {"password_min_length": "1"}),
        f"file-policy-{label}": Case("post", "app_file_policy", app_args, {"url_mode": "public"}),
        f"rate-limit-{label}": Case("post", "app_rate_limit", app_args, {"requests_per_second": "1"}),
        f"class-creation-{label}": Case(
            "post", "app_client_class_creation", app_args, {"allow_client_class_creation": "on"}
        ),
        f"delete-page-{label}": Case("get", "app_delete", app_args, {}),
        f"delete-{label}": Case("post", "app_delete", app_args, {"confirm_name": "bob-app"}),
        f"cloud-code-{label}": Case("get", "cloud_code", app_args, {}),
        f"cloud-upload-{label}": Case("post", "cloud_code_upload", app_args, {}),
        f"cloud-activate-{label}": Case("post", "cloud_code_activate", lambda w: [*app_args(w), 1], {}),
        f"cloud-variable-set-{label}": Case("post", "cloud_variable_set", app_args, {"name": "X", "value": "1"}),
        f"cloud-variable-delete-{label}": Case("post", "cloud_variable_delete", lambda w: [*app_args(w), "X"], {}),
        f"cloud-run-{label}": Case("post", "cloud_function_run", app_args, {"name": "hello", "params": "{}"}),
        f"sms-email-{label}": Case("get", "sms_email", app_args, {}),
        f"sms-email-sender-{label}": Case("post", "sms_email_sender", app_args, {"email_from_address": "x@evil.test"}),
        f"sms-email-template-{label}": Case(
            "post", "sms_email_template_save", app_args, {"channel": "sms", "name": "planted", "text": "x"}
        ),
        f"sms-email-preview-{label}": Case(
            "post", "sms_email_template_save", app_args, {"channel": "sms", "text": "x", "action": "preview"}
        ),
        f"sms-email-mfa-{label}": Case("post", "sms_email_mfa", app_args, {"options": "TOTP"}),
        f"sms-email-template-delete-{label}": Case(
            "post", "sms_email_template_delete", lambda w: [*app_args(w), "sms", "welcome"], {}
        ),
        f"messaging-{label}": Case("get", "messaging_providers", app_args, {}),
        f"messaging-set-{label}": Case(
            "post",
            "messaging_provider_set",
            lambda w: [*app_args(w), "smtp"],
            {"host": "smtp.evil.example", "port": "25", "sender": "x@evil.example"},
        ),
        f"messaging-delete-{label}": Case("post", "messaging_provider_delete", lambda w: [*app_args(w), "smtp"], {}),
        f"push-{label}": Case("get", "push", app_args, {}),
        f"sdks-{label}": Case("get", "sdks", app_args, {}),
        f"sdk-download-{label}": Case("get", "sdk_download", lambda w: [*app_args(w), "python"], {}),
        f"push-send-{label}": Case("post", "push_send", app_args, _PUSH_FORM),
        f"push-count-{label}": Case("post", "push_count", app_args, _PUSH_FORM),
        f"push-audience-create-{label}": Case("post", "push_audience_create", app_args, _PUSH_FORM),
        f"push-audience-count-{label}": Case("get", "push_audience_count", _bob_audience(app_args), {}),
        f"push-audience-delete-{label}": Case("post", "push_audience_delete", _bob_audience(app_args), {}),
        f"push-campaigns-{label}": Case("get", "push_campaigns", app_args, {}),
        f"push-campaign-{label}": Case("get", "push_campaign", _bob_campaign(app_args), {}),
        f"analytics-{label}": Case("get", "analytics", app_args, {}),
        f"usage-{label}": Case("get", "usage", app_args, {}),
        f"builds-{label}": Case("get", "builds", app_args, {}),
        f"builds-start-{label}": Case("post", "builds_start", app_args, {"profile": "default"}),
        f"builds-profile-{label}": Case("post", "builds_profile_save", app_args, {"package_name": "com.evil.app"}),
        f"builds-credential-{label}": Case("post", "builds_credential_upload", app_args, {"name": "planted"}),
        f"builds-credential-delete-{label}": Case(
            "post", "builds_credential_delete", lambda w: [*app_args(w), "release"], {}
        ),
        f"build-{label}": Case("get", "build_detail", lambda w: [*app_args(w), 1], {}),
        f"build-cancel-{label}": Case("post", "builds_cancel", lambda w: [*app_args(w), 1], {}),
        f"schema-backups-{label}": Case("get", "schema_backups", app_args, {}),
        f"schema-rollback-{label}": Case("post", "schema_rollback", app_args, {}),
        f"backup-create-{label}": Case("post", "backup_create", app_args, {}),
        f"backup-schedule-{label}": Case("post", "backup_schedule", app_args, {"every_hours": "1", "keep": "1"}),
        f"backup-download-{label}": Case("get", "backup_download", lambda w: [*app_args(w), "bk_bob"], {}),
        f"data-{label}": Case("get", "data", app_args, {}),
        f"api-console-{label}": Case("get", "api_console", app_args, {}),
        f"files-{label}": Case("get", "files", app_args, {}),
        f"file-remove-{label}": Case("post", "file_remove", app_args, {"name": "bobs.txt"}),
        f"roles-{label}": Case("get", "roles", app_args, {}),
        f"role-create-{label}": Case("post", "role_create", app_args, {"name": "Planted"}),
        f"role-{label}": Case("get", "role_detail", _role(app_args), {}),
        f"role-delete-{label}": Case("post", "role_delete", _role(app_args), {}),
        f"role-member-add-{label}": Case("post", "role_member_add", _role(app_args), {"username": "carol"}),
        f"role-member-remove-{label}": Case("post", "role_member_remove", _role(app_args, "bobUser0001"), {}),
        f"role-child-add-{label}": Case("post", "role_child_add", _role(app_args), {"name": "Planted"}),
        f"role-child-remove-{label}": Case("post", "role_child_remove", _role(app_args, "bobRole0002"), {}),
        f"users-{label}": Case("get", "users", app_args, {}),
        f"user-create-{label}": Case("post", "user_create", app_args, {"username": "planted", "password": "x"}),
        f"user-{label}": Case("get", "user_detail", _user(app_args), {}),
        f"user-session-revoke-{label}": Case("post", "user_session_revoke", _user(app_args, "bobSession1"), {}),
        f"user-mail-{label}": Case("post", "user_mail", _user(app_args, "reset"), {}),
        f"data-class-create-{label}": Case("post", "data_class_create", app_args, {"class_name": "Planted"}),
        f"data-class-{label}": Case("get", "data_class", _data(app_args), {}),
        f"data-class-delete-{label}": Case("post", "data_class_delete", _data(app_args), {}),
        f"data-field-add-{label}": Case("post", "data_field_add", _data(app_args), {"name": "x", "type": "String"}),
        f"data-field-remove-{label}": Case("post", "data_field_remove", _data(app_args, "name"), {}),
        f"data-export-{label}": Case("get", "data_export", _data(app_args, "csv"), {}),
        f"data-import-{label}": Case("post", "data_import", _data(app_args), {}),
        f"data-import-status-{label}": Case("get", "data_import_status", _data(app_args, "0123456789abcdef"), {}),
        f"data-clp-form-{label}": Case(
            "post", "data_class_permissions", _data(app_args), {"mode": "form", "find-public": "on"}
        ),
        f"data-cell-acl-{label}": Case(
            "post",
            "data_cell_save",
            _data(app_args, "bobPet0001", "ACL"),
            {"editor": "acl", "acl-principal": "*", "acl-read": "*", "acl-write": "*"},
        ),
        f"data-cell-pointer-search-{label}": Case(
            "get", "data_cell_edit", _data(app_args, "bobPet0001", "owner"), {"q": "a"}
        ),
        f"data-clp-{label}": Case("post", "data_class_permissions", _data(app_args), {"clp": "{}"}),
        f"data-index-add-{label}": Case("post", "data_index_add", _data(app_args), {"name": "i", "keys": '{"a": 1}'}),
        f"data-index-drop-{label}": Case("post", "data_index_drop", _data(app_args, "i"), {}),
        f"data-row-add-{label}": Case("post", "data_row_add", _data(app_args), {"name": "planted"}),
        f"data-rows-delete-{label}": Case("post", "data_rows_delete", _data(app_args), {"object_id": "bobPet0001"}),
        f"data-cell-edit-{label}": Case("get", "data_cell_edit", _data(app_args, "bobPet0001", "name"), {}),
        f"data-cell-save-{label}": Case(
            "post", "data_cell_save", _data(app_args, "bobPet0001", "name"), {"value": "pwned"}
        ),
    }


CASES: dict[str, Case] = {
    "organization": Case("get", "organization_detail", _bob_org, {}),
    "create-app-page": Case("get", "app_create", _bob_org, {}),
    "create-app": Case("post", "app_create", _bob_org, {"name": "planted"}),
    **_app_cases("bob-org", _bob_app),
    **_app_cases("alice-org", _bob_app_in_alice_org),
    "members": Case("get", "member_list", _bob_org, {}),
    "invite-page": Case("get", "member_invite", _bob_org, {}),
    "invite": Case("post", "member_invite", _bob_org, {"email": "mallory@example.com", "role": "owner"}),
    "change-role-bob-org": Case("post", "member_change_role", _bob_member("bob"), {"role": "owner"}),
    "change-role-alice-org": Case("post", "member_change_role", _bob_member("alice"), {"role": "owner"}),
    "remove-bob-org": Case("post", "member_remove", _bob_member("bob"), {}),
    "remove-alice-org": Case("post", "member_remove", _bob_member("alice"), {}),
    "revoke-bob-org": Case("post", "invitation_revoke", _bob_invitation("bob"), {}),
    "revoke-alice-org": Case("post", "invitation_revoke", _bob_invitation("alice"), {}),
    "audit": Case("get", "audit_log", _bob_org, {}),
}


@pytest.fixture
def world(tenant_a: Tenant, tenant_b: Tenant, add_member: AddMember) -> World:
    bob_member = add_member(tenant_b, "carol", "developer")
    invitation, _token = invitation_create(
        actor=tenant_b.developer, organization=tenant_b.organization, email="dave@example.com", role="viewer"
    )
    MessageTemplate.objects.create(app=tenant_b.app, channel="sms", name="welcome", text="bob's {{ x }}")
    smtp = {"host": "smtp.bob.example", "port": 587, "password": "bobs-smtp-password", "sender": "bob@bob.example"}
    provider_credential_set(app=tenant_b.app, kind="smtp", raw=smtp, actor=tenant_b.developer)
    # Ids of Bob's push objects: every case is refused at the tenant check, before any lookup
    # (tests/dashboard/test_push.py sends to and reads Bob's real campaign and audience ids).
    bob_audience, bob_campaign = "bobAudience1", "bobCampaign1"
    return World(
        alice=tenant_a, bob=tenant_b, bob_member=bob_member, bob_invitation=invitation, bob_audience=bob_audience,
        bob_campaign=bob_campaign,
    )  # fmt: skip


def bob_state(world: World) -> dict[str, Any]:
    organization = world.bob.organization
    return {
        "organization": list(Organization.objects.filter(pk=organization.pk).values_list("name", "plan_id")),
        "apps": list(
            App.objects.filter(organization=organization)
            .order_by("pk")
            .values_list("pk", "name", "status", "live_query_classes", "allow_client_class_creation", "rate_limit_rps")
        ),
        "keys": list(
            AppKey.objects.filter(app__organization=organization)
            .order_by("app", "kind")
            .values_list("kind", "ciphertext")
        ),
        "members": list(
            Membership.objects.filter(organization=organization).order_by("pk").values_list("developer", "role")
        ),
        "invitations": list(
            Invitation.objects.filter(organization=organization)
            .order_by("pk")
            .values_list("email", "role", "accepted_at", "revoked_at")
        ),
        "audit_events": AuditEvent.objects.filter(organization=organization).count(),
        "message_templates": list(
            MessageTemplate.objects.filter(app__organization=organization).values_list("channel", "name", "text")
        ),
        "auth_settings": list(
            AuthSettings.objects.filter(app__organization=organization).values_list(
                "mfa_options", "password_min_length"
            )
        ),
        "file_settings": list(FileSettings.objects.filter(app__organization=organization).values_list("url_mode")),
        "sender_settings": list(
            SenderSettings.objects.filter(app__organization=organization).values_list("email_from_address")
        ),
        "provider_credentials": list(
            ProviderCredential.objects.filter(app__organization=organization).values_list("kind", "version")
        ),
        "alice_memberships": list(
            Membership.objects.filter(developer=world.alice.developer).values_list("organization", "role")
        ),
        "alice_apps": list(App.objects.filter(organization=world.alice.organization).values_list("pk", "name")),
        "push_objects": _push_objects(),
        "builds": list(Build.objects.filter(app__organization=organization).values_list("number", "state")),
        "build_profiles": list(BuildProfile.objects.filter(app__organization=organization).values_list("name")),
        "signing_credentials": list(
            SigningCredential.objects.filter(app__organization=organization).values_list("name", "uid")
        ),
        "backups": list(Backup.objects.values_list("public_id", "app_id")),
        "backup_schedules": list(BackupSchedule.objects.values_list("app_id", "every_hours")),
        "schema_migrations": list(SchemaMigration.objects.values_list("app_id", "number", "rolled_back")),
        "data": _data_of(world.bob.app.pk),
    }


def _data_of(app_pk: int) -> list[tuple[Any, ...]]:
    """The app's schema and objects, as stored."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT class_name, fields::text FROM datastore_schemaclass WHERE app_id = %s ORDER BY class_name", [app_pk]
        )
        schema = list(cursor.fetchall())
        cursor.execute(
            "SELECT class_name, object_id, data::text FROM datastore_object WHERE app_id = %s "
            "ORDER BY class_name, object_id",
            [app_pk],
        )
        return schema + list(cursor.fetchall())


def _push_objects() -> list[tuple[Any, ...]]:
    """Every app's campaigns and audiences (Alice's included: nothing may be sent or saved through Bob's ids)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT app_id, class_name, object_id, data::text FROM datastore_object "
            "WHERE class_name IN ('_PushStatus', '_Audience') ORDER BY app_id, class_name, object_id"
        )
        return list(cursor.fetchall())


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_alice_gets_404_for_bobs_ids_and_nothing_of_bob_changes(alice_client: Client, world: World, case: Case) -> None:
    url = reverse(f"dashboard:{case.name}", args=case.args(world))
    before = bob_state(world)

    response = getattr(alice_client, case.method)(url, case.data)

    assert response.status_code == 404, url
    assert bob_state(world) == before
    body = response.content.decode()
    for secret in world.bob.keys.values():
        assert secret not in body
    assert "bob-app" not in body
    assert "smtp.bob.example" not in body


def test_every_org_scoped_url_is_covered() -> None:
    """A new organization or app URL must get a case above."""
    from dashboard.urls import urlpatterns

    scoped = {p.name for p in urlpatterns if "organization_id" in str(p.pattern)}
    assert scoped == {case.name for case in CASES.values()}
