"""The management API, included at /api/v1/."""

from django.urls import path

from tenants.api.accounts import AccessTokenExchangeApi, AccessTokenListCreateApi, AccessTokenRevokeApi, MeApi
from tenants.api.analytics import AppEventStatsApi, AppFunnelApi, AppRetentionApi, AppUsageApi
from tenants.api.apps import (
    AppClientClassCreationApi,
    AppDetailApi,
    AppKeyListApi,
    AppKeyRotateApi,
    AppListCreateApi,
    AppLiveQueryApi,
)
from tenants.api.backups import (
    AppBackupCreateApi,
    AppBackupScheduleApi,
    AppRestoreApi,
    BackupArchiveApi,
    BackupDetailApi,
    BackupListApi,
    RestoreDetailApi,
)
from tenants.api.builds import (
    BuildCancelApi,
    BuildDetailApi,
    BuildListApi,
    BuildLogApi,
    BuildProfileListApi,
    SigningCredentialDetailApi,
    SigningCredentialListApi,
)
from tenants.api.cloud_code import (
    CloudFunctionRunApi,
    CloudLogListApi,
    CloudSettingsApi,
    CloudVariableDetailApi,
    CloudVariableListApi,
    CloudVersionActivateApi,
    CloudVersionListCreateApi,
)
from tenants.api.end_user_mfa import EndUserMfaApi
from tenants.api.members import (
    InvitationAcceptApi,
    InvitationListCreateApi,
    InvitationRevokeApi,
    MembershipDetailApi,
    MembershipListApi,
)
from tenants.api.messaging_providers import MessagingLogListApi, MessagingProviderDetailApi, MessagingProviderListApi
from tenants.api.organizations import AuditEventListApi, OrganizationDetailApi, OrganizationListCreateApi
from tenants.api.push import PushAudienceCountApi, PushQueryCountApi
from tenants.api.push_campaigns import PushCampaignDetailApi, PushCampaignListApi
from tenants.api.schema_code import (
    SchemaDiffApi,
    SchemaFileApi,
    SchemaMigrationListApi,
    SchemaPromoteApi,
    SchemaPushApi,
    SchemaRollbackApi,
)
from tenants.api.sms_email import (
    EmailSendApi,
    MessageDetailApi,
    MessageListApi,
    SenderSettingsApi,
    SmsSendApi,
    TemplateDetailApi,
    TemplateListApi,
    TemplatePreviewApi,
)

app_name = "tenants"

ORG = "organizations/<int:org_id>"
APP = f"{ORG}/apps/<int:app_id>"

urlpatterns = [
    path("me", MeApi.as_view(), name="me"),
    path("auth/token", AccessTokenExchangeApi.as_view(), name="auth-token"),
    path("tokens", AccessTokenListCreateApi.as_view(), name="token-list"),
    path("tokens/<int:token_id>", AccessTokenRevokeApi.as_view(), name="token-detail"),
    path("organizations", OrganizationListCreateApi.as_view(), name="organization-list"),
    path(ORG, OrganizationDetailApi.as_view(), name="organization-detail"),
    path(f"{ORG}/members", MembershipListApi.as_view(), name="membership-list"),
    path(f"{ORG}/members/<int:membership_id>", MembershipDetailApi.as_view(), name="membership-detail"),
    path(f"{ORG}/invitations", InvitationListCreateApi.as_view(), name="invitation-list"),
    path(f"{ORG}/invitations/<int:invitation_id>", InvitationRevokeApi.as_view(), name="invitation-detail"),
    path("invitations/accept", InvitationAcceptApi.as_view(), name="invitation-accept"),
    path(f"{ORG}/apps", AppListCreateApi.as_view(), name="app-list"),
    path(APP, AppDetailApi.as_view(), name="app-detail"),
    path(f"{APP}/keys", AppKeyListApi.as_view(), name="app-keys"),
    path(f"{APP}/live-query", AppLiveQueryApi.as_view(), name="app-live-query"),
    path(f"{APP}/client-class-creation", AppClientClassCreationApi.as_view(), name="app-client-class-creation"),
    path(f"{APP}/keys/<str:kind>/rotate", AppKeyRotateApi.as_view(), name="app-key-rotate"),
    path(f"{APP}/cloud-code/versions", CloudVersionListCreateApi.as_view(), name="cloud-versions"),
    path(f"{APP}/cloud-code/versions/<int:number>/activate", CloudVersionActivateApi.as_view(), name="cloud-activate"),
    path(f"{APP}/cloud-code/variables", CloudVariableListApi.as_view(), name="cloud-variables"),
    path(f"{APP}/cloud-code/variables/<str:name>", CloudVariableDetailApi.as_view(), name="cloud-variable"),
    path(f"{APP}/cloud-code/logs", CloudLogListApi.as_view(), name="cloud-logs"),
    path(f"{APP}/cloud-code/run", CloudFunctionRunApi.as_view(), name="cloud-run"),
    path(f"{APP}/cloud-code/settings", CloudSettingsApi.as_view(), name="cloud-settings"),
    path(f"{APP}/messaging/sms", SmsSendApi.as_view(), name="messaging-sms"),
    path(f"{APP}/messaging/email", EmailSendApi.as_view(), name="messaging-email"),
    path(f"{APP}/messaging/messages", MessageListApi.as_view(), name="messaging-messages"),
    path(f"{APP}/messaging/messages/<int:message_id>", MessageDetailApi.as_view(), name="messaging-message"),
    path(f"{APP}/messaging/templates", TemplateListApi.as_view(), name="messaging-templates"),
    path(f"{APP}/messaging/templates/<str:channel>/preview", TemplatePreviewApi.as_view(), name="messaging-preview"),
    path(f"{APP}/messaging/templates/<str:channel>/<str:name>", TemplateDetailApi.as_view(), name="messaging-template"),
    path(f"{APP}/messaging/sender", SenderSettingsApi.as_view(), name="messaging-sender"),
    path(f"{APP}/auth/mfa", EndUserMfaApi.as_view(), name="end-user-mfa"),
    path(f"{APP}/messaging/providers", MessagingProviderListApi.as_view(), name="messaging-providers"),
    path(f"{APP}/messaging/providers/<str:kind>", MessagingProviderDetailApi.as_view(), name="messaging-provider"),
    path(f"{APP}/messaging/log", MessagingLogListApi.as_view(), name="messaging-log"),
    path(f"{APP}/push/campaigns", PushCampaignListApi.as_view(), name="push-campaigns"),
    path(f"{APP}/push/campaigns/<str:campaign_id>", PushCampaignDetailApi.as_view(), name="push-campaign"),
    path(f"{ORG}/audit-log", AuditEventListApi.as_view(), name="audit-log"),
    path(f"{APP}/usage", AppUsageApi.as_view(), name="app-usage"),
    path(f"{APP}/analytics/events", AppEventStatsApi.as_view(), name="app-analytics-events"),
    path(f"{APP}/analytics/funnel", AppFunnelApi.as_view(), name="app-analytics-funnel"),
    path(f"{APP}/analytics/retention", AppRetentionApi.as_view(), name="app-analytics-retention"),
    path(f"{APP}/push/audiences/count", PushQueryCountApi.as_view(), name="push-query-count"),
    path(f"{APP}/push/audiences/<str:audience_id>/count", PushAudienceCountApi.as_view(), name="push-audience-count"),
    path(f"{APP}/builds", BuildListApi.as_view(), name="builds"),
    path(f"{APP}/builds/<int:number>", BuildDetailApi.as_view(), name="build"),
    path(f"{APP}/builds/<int:number>/cancel", BuildCancelApi.as_view(), name="build-cancel"),
    path(f"{APP}/builds/<int:number>/log", BuildLogApi.as_view(), name="build-log"),
    path(f"{APP}/builds/profiles", BuildProfileListApi.as_view(), name="build-profiles"),
    path(f"{APP}/builds/credentials", SigningCredentialListApi.as_view(), name="signing-credentials"),
    path(f"{APP}/builds/credentials/<str:name>", SigningCredentialDetailApi.as_view(), name="signing-credential"),
    path(f"{APP}/schema", SchemaFileApi.as_view(), name="schema-file"),
    path(f"{APP}/schema/diff", SchemaDiffApi.as_view(), name="schema-diff"),
    path(f"{APP}/schema/push", SchemaPushApi.as_view(), name="schema-push"),
    path(f"{APP}/schema/promote", SchemaPromoteApi.as_view(), name="schema-promote"),
    path(f"{APP}/schema/migrations", SchemaMigrationListApi.as_view(), name="schema-migrations"),
    path(f"{APP}/schema/rollback", SchemaRollbackApi.as_view(), name="schema-rollback"),
    path(f"{ORG}/backups", BackupListApi.as_view(), name="backup-list"),
    path(f"{ORG}/backups/<str:backup_id>", BackupDetailApi.as_view(), name="backup-detail"),
    path(f"{ORG}/backups/<str:backup_id>/archive", BackupArchiveApi.as_view(), name="backup-archive"),
    path(f"{APP}/backups", AppBackupCreateApi.as_view(), name="app-backup-create"),
    path(f"{APP}/backups/schedule", AppBackupScheduleApi.as_view(), name="app-backup-schedule"),
    path(f"{APP}/restore", AppRestoreApi.as_view(), name="app-restore"),
    path(f"{ORG}/restores/<str:restore_id>", RestoreDetailApi.as_view(), name="restore-detail"),
]
