"""Dashboard URLs. Every mutating action is a POST; organization and app ids are plain integers."""

from __future__ import annotations

from django.urls import path, register_converter

from dashboard.views import (
    account_security,
    account_tokens,
    accounts,
    analytics,
    api_console,
    app_policies,
    apps,
    audit,
    builds,
    cloud_code,
    data,
    data_cells,
    files,
    members,
    messaging_providers,
    organizations,
    push,
    roles,
    schema_backups,
    sdks,
    sms_email,
    users,
)
from tenants.models import AppKey


class KeyKindConverter:
    """Matches only the kinds of key an app has, so a typo is a 404 and not a service error."""

    regex = "|".join(AppKey.Kind.values)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KeyKindConverter, "key_kind")

app_name = "dashboard"

_ORG = "orgs/<int:organization_id>/"
_APP = _ORG + "apps/<int:app_id>/"

urlpatterns = [
    path("signup/", accounts.signup, name="signup"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("password-reset/", accounts.password_reset, name="password_reset"),
    path("password-reset/sent/", accounts.password_reset_done, name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", accounts.password_reset_confirm, name="password_reset_confirm"),
    path("password-reset/done/", accounts.password_reset_complete, name="password_reset_complete"),
    path("", organizations.home, name="home"),
    path("login/code/", account_security.login_code, name="login_code"),
    path("account/security/", account_security.account_security, name="account_security"),
    path("account/security/totp/enrol/", account_security.totp_enrol, name="totp_enrol"),
    path("account/security/totp/confirm/", account_security.totp_confirm, name="totp_confirm"),
    path("account/security/totp/disable/", account_security.totp_disable, name="totp_disable"),
    path("account/tokens/", account_tokens.access_tokens, name="access_tokens"),
    path("account/tokens/<int:token_id>/revoke/", account_tokens.access_token_revoke, name="access_token_revoke"),
    path("orgs/new/", organizations.organization_create, name="organization_create"),
    path(_ORG, organizations.organization_detail, name="organization_detail"),
    path(_ORG + "apps/new/", apps.app_create, name="app_create"),
    path(_APP, apps.app_settings, name="app_settings"),
    path(_APP + "master-key/reveal/", apps.app_master_key_reveal, name="app_master_key_reveal"),
    path(_APP + "keys/<key_kind:kind>/rotate/", apps.app_key_rotate, name="app_key_rotate"),
    path(_APP + "rename/", apps.app_rename, name="app_rename"),
    path(_APP + "live-query/", apps.app_live_query, name="app_live_query"),
    path(_APP + "class-creation/", apps.app_client_class_creation, name="app_client_class_creation"),
    path(_APP + "auth-policy/", app_policies.auth_policy, name="app_auth_policy"),
    path(_APP + "file-policy/", app_policies.file_policy, name="app_file_policy"),
    path(_APP + "rate-limit/", app_policies.rate_limit, name="app_rate_limit"),
    path(_APP + "delete/", apps.app_delete, name="app_delete"),
    path(_APP + "data/", data.data_home, name="data"),
    path(_APP + "data/classes/", data.data_class_create, name="data_class_create"),
    path(_APP + "data/<str:class_name>/", data.data_class, name="data_class"),
    path(_APP + "data/<str:class_name>/delete/", data.data_class_delete, name="data_class_delete"),
    path(_APP + "data/<str:class_name>/columns/", data.data_field_add, name="data_field_add"),
    path(
        _APP + "data/<str:class_name>/columns/<str:field_name>/delete/",
        data.data_field_remove,
        name="data_field_remove",
    ),
    path(_APP + "data/<str:class_name>/objects/", data.data_row_add, name="data_row_add"),
    path(_APP + "data/<str:class_name>/permissions/", data.data_class_permissions, name="data_class_permissions"),
    path(_APP + "data/<str:class_name>/indexes/", data.data_index_add, name="data_index_add"),
    path(_APP + "data/<str:class_name>/indexes/<str:index_name>/drop/", data.data_index_drop, name="data_index_drop"),
    path(_APP + "data/<str:class_name>/export.<str:fmt>", data.data_export, name="data_export"),
    path(_APP + "data/<str:class_name>/import/", data.data_import, name="data_import"),
    path(_APP + "data/<str:class_name>/import/<str:job_id>/", data.data_import_status, name="data_import_status"),
    path(_APP + "data/<str:class_name>/objects/delete/", data.data_rows_delete, name="data_rows_delete"),
    path(
        _APP + "data/<str:class_name>/objects/<str:object_id>/<str:field_name>/edit/",
        data_cells.data_cell_edit,
        name="data_cell_edit",
    ),
    path(
        _APP + "data/<str:class_name>/objects/<str:object_id>/<str:field_name>/",
        data_cells.data_cell_save,
        name="data_cell_save",
    ),
    path(_APP + "files/", files.file_list, name="files"),
    path(_APP + "files/delete/", files.file_remove, name="file_remove"),
    path(_APP + "roles/", roles.role_list, name="roles"),
    path(_APP + "roles/new/", roles.role_create, name="role_create"),
    path(_APP + "roles/<str:role_id>/", roles.role_detail, name="role_detail"),
    path(_APP + "roles/<str:role_id>/delete/", roles.role_delete, name="role_delete"),
    path(_APP + "roles/<str:role_id>/members/", roles.role_member_add, name="role_member_add"),
    path(
        _APP + "roles/<str:role_id>/members/<str:user_id>/remove/",
        roles.role_member_remove,
        name="role_member_remove",
    ),
    path(_APP + "roles/<str:role_id>/roles/", roles.role_child_add, name="role_child_add"),
    path(_APP + "roles/<str:role_id>/roles/<str:child_id>/remove/", roles.role_child_remove, name="role_child_remove"),
    path(_APP + "users/", users.user_list, name="users"),
    path(_APP + "users/new/", users.user_create, name="user_create"),
    path(_APP + "users/<str:user_id>/", users.user_detail, name="user_detail"),
    path(
        _APP + "users/<str:user_id>/sessions/<str:session_id>/revoke/",
        users.user_session_revoke,
        name="user_session_revoke",
    ),
    path(_APP + "users/<str:user_id>/mail/<str:kind>/", users.user_mail, name="user_mail"),
    path(_APP + "api-console/", api_console.api_console_page, name="api_console"),
    path(_APP + "cloud-code/", cloud_code.cloud_code_page, name="cloud_code"),
    path(_APP + "sdks/", sdks.sdks_page, name="sdks"),
    path(_APP + "sdks/<str:language>/download/", sdks.sdk_download, name="sdk_download"),
    path(_APP + "schema-backups/", schema_backups.schema_backups_page, name="schema_backups"),
    path(_APP + "schema-backups/rollback/", schema_backups.schema_rollback, name="schema_rollback"),
    path(_APP + "schema-backups/backup/", schema_backups.backup_create, name="backup_create"),
    path(_APP + "schema-backups/schedule/", schema_backups.backup_schedule, name="backup_schedule"),
    path(_APP + "schema-backups/<str:backup_id>/download/", schema_backups.backup_download, name="backup_download"),
    path(_APP + "cloud-code/upload/", cloud_code.cloud_code_upload, name="cloud_code_upload"),
    path(
        _APP + "cloud-code/versions/<int:number>/activate/", cloud_code.cloud_code_activate, name="cloud_code_activate"
    ),
    path(_APP + "cloud-code/variables/", cloud_code.cloud_variable_set, name="cloud_variable_set"),
    path(
        _APP + "cloud-code/variables/<str:name>/delete/", cloud_code.cloud_variable_delete, name="cloud_variable_delete"
    ),
    path(_APP + "cloud-code/run/", cloud_code.cloud_function_run, name="cloud_function_run"),
    path(_APP + "sms-email/", sms_email.sms_email_page, name="sms_email"),
    path(_APP + "sms-email/sender/", sms_email.sms_email_sender, name="sms_email_sender"),
    path(_APP + "sms-email/mfa/", sms_email.sms_email_mfa, name="sms_email_mfa"),
    path(_APP + "sms-email/templates/", sms_email.sms_email_template_save, name="sms_email_template_save"),
    path(
        _APP + "sms-email/templates/<str:channel>/<str:name>/delete/",
        sms_email.sms_email_template_delete,
        name="sms_email_template_delete",
    ),
    path(_APP + "messaging/", messaging_providers.messaging_providers_page, name="messaging_providers"),
    path(
        _APP + "messaging/providers/<str:kind>/",
        messaging_providers.messaging_provider_set,
        name="messaging_provider_set",
    ),
    path(
        _APP + "messaging/providers/<str:kind>/delete/",
        messaging_providers.messaging_provider_delete,
        name="messaging_provider_delete",
    ),
    path(_APP + "push/", push.push_console_page, name="push"),
    path(_APP + "push/send/", push.push_send, name="push_send"),
    path(_APP + "push/count/", push.push_count, name="push_count"),
    path(_APP + "push/audiences/", push.push_audience_create, name="push_audience_create"),
    path(_APP + "push/audiences/<str:audience_id>/count/", push.push_audience_count, name="push_audience_count"),
    path(_APP + "push/audiences/<str:audience_id>/delete/", push.push_audience_delete, name="push_audience_delete"),
    path(_APP + "push/campaigns/", push.push_campaign_list, name="push_campaigns"),
    path(_APP + "push/campaigns/<str:campaign_id>/", push.push_campaign_detail, name="push_campaign"),
    path(_APP + "analytics/", analytics.analytics_page, name="analytics"),
    path(_APP + "usage/", analytics.usage_page, name="usage"),
    path("staff/usage/", analytics.staff_usage_page, name="staff_usage"),
    path(_APP + "builds/", builds.builds_page, name="builds"),
    path(_APP + "builds/credentials/", builds.builds_credential_upload, name="builds_credential_upload"),
    path(
        _APP + "builds/credentials/<str:name>/delete/", builds.builds_credential_delete, name="builds_credential_delete"
    ),
    path(_APP + "builds/profiles/", builds.builds_profile_save, name="builds_profile_save"),
    path(_APP + "builds/start/", builds.builds_start, name="builds_start"),
    path(_APP + "builds/<int:number>/", builds.build_detail, name="build_detail"),
    path(_APP + "builds/<int:number>/cancel/", builds.builds_cancel, name="builds_cancel"),
    path(_ORG + "members/", members.member_list, name="member_list"),
    path(_ORG + "members/invite/", members.member_invite, name="member_invite"),
    path(_ORG + "members/<int:membership_id>/role/", members.member_change_role, name="member_change_role"),
    path(_ORG + "members/<int:membership_id>/remove/", members.member_remove, name="member_remove"),
    path(_ORG + "invitations/<int:invitation_id>/revoke/", members.invitation_revoke, name="invitation_revoke"),
    path(_ORG + "audit/", audit.audit_log, name="audit_log"),
    path("invitations/<str:token>/", members.invitation_accept, name="invitation_accept"),
]
