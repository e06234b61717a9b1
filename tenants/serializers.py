"""Wire shapes of the management API: ``*InputSerializer`` decode, ``*Serializer`` encode.

Input serializers check types and lengths only; the services own the business rules
(name rules, role grants, expiry bounds) so that the API and the dashboard agree.
"""

from __future__ import annotations

from rest_framework import serializers

from tenants.models import (
    App,
    AuditEvent,
    Developer,
    Invitation,
    Membership,
    Organization,
    PersonalAccessToken,
)
from tenants.roles import ROLE_CHOICES

# Accounts and access tokens


class DeveloperSerializer(serializers.ModelSerializer[Developer]):
    class Meta:
        model = Developer
        fields = ["id", "email", "name"]
        read_only_fields = fields


class AccessTokenSerializer(serializers.ModelSerializer[PersonalAccessToken]):
    class Meta:
        model = PersonalAccessToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "read_only", "organization_id"]
        read_only_fields = fields


class AccessTokenCreatedSerializer(AccessTokenSerializer):
    """A token just created: the only response that ever carries the plain token."""

    token = serializers.CharField(help_text="The plain token; shown once and never stored.")

    class Meta(AccessTokenSerializer.Meta):
        fields = [*AccessTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class AccessTokenCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=False,
        help_text="1 to HANGAR_ACCESS_TOKEN_MAX_DAYS (365 by default); omitted: HANGAR_ACCESS_TOKEN_DEFAULT_DAYS (90).",
        error_messages={"null": "Access tokens always expire: give a number of days, or leave it out for the default."},
    )


class AccessTokenScopedCreateInputSerializer(AccessTokenCreateInputSerializer):
    # A declared field (DRF's metaclass takes it off the class), not Field.read_only.
    read_only = serializers.BooleanField(  # type: ignore[assignment]
        required=False, default=False, help_text="Only GET requests."
    )
    organization_id = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text="Limit the token to one of your organizations; omitted: all of them.",
    )  # fmt: skip


class AccessTokenExchangeInputSerializer(AccessTokenCreateInputSerializer):
    email = serializers.EmailField(max_length=254)
    otp = serializers.CharField(
        max_length=32, required=False, default="",
        help_text="The current code of your authenticator app (or a recovery code) when two-factor sign-in is on.",
    )  # fmt: skip
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


# Organizations, members and invitations


class OrganizationSerializer(serializers.ModelSerializer[Organization]):
    plan = serializers.CharField(source="plan.name", default=None, read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "plan", "created_at"]
        read_only_fields = fields


class NameInputSerializer(serializers.Serializer):
    """The body of every create-or-rename of an organization or app."""

    name = serializers.CharField(max_length=100)


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    email = serializers.EmailField(source="developer.email", read_only=True)
    name = serializers.CharField(source="developer.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization_id", "developer_id", "email", "name", "role", "created_at"]
        read_only_fields = fields


class JoinedMembershipSerializer(serializers.ModelSerializer[Membership]):
    """The membership an accepted invitation grants, with the organization joined."""

    organization = OrganizationSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization", "role", "created_at"]
        read_only_fields = fields


class RoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class InvitationSerializer(serializers.ModelSerializer[Invitation]):
    """An invitation as its organization sees it; the token is never part of it (only the email has it)."""

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "created_at", "expires_at"]
        read_only_fields = fields


class InvitationCreateInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class InvitationAcceptInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200, help_text="The token from the invitation link.")


# Apps and keys


class AppSerializer(serializers.ModelSerializer[App]):
    class Meta:
        model = App
        fields = [
            "id", "organization_id", "name", "application_id", "status", "rate_limit_rps", "live_query_classes",
            "allow_client_class_creation", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ClientClassCreationInputSerializer(serializers.Serializer):
    allow_client_class_creation = serializers.BooleanField(
        help_text="Whether clients (not only the master key) may create a class by saving to it."
    )


class LiveQueryClassesInputSerializer(serializers.Serializer):
    live_query_classes = serializers.ListField(
        child=serializers.CharField(max_length=128), max_length=200, allow_empty=True,
        help_text="Classes LiveQuery clients may subscribe to; an empty list allows every class.",
    )  # fmt: skip


class AppKeysSerializer(serializers.Serializer):
    application_id = serializers.CharField()
    client = serializers.CharField()
    javascript = serializers.CharField()
    rest = serializers.CharField()
    dotnet = serializers.CharField()
    master = serializers.CharField(allow_null=True, help_text="Null unless an admin (or owner) asked for it.")


class AppCreatedSerializer(AppSerializer):
    """A new app with its plain keys; the master key only if the creator's role may see it."""

    keys = AppKeysSerializer()

    class Meta(AppSerializer.Meta):
        fields = [*AppSerializer.Meta.fields, "keys"]
        read_only_fields = fields


class AppDeleteInputSerializer(serializers.Serializer):
    confirm_name = serializers.CharField(max_length=100, help_text="The app's exact name.")


class AppKeysQuerySerializer(serializers.Serializer):
    include_master = serializers.BooleanField(required=False, default=False)


class AppKeyRotatedSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()


# Audit log


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor_email", "action", "target_type", "target_id", "target_name", "details"]
        read_only_fields = fields


# Cloud code


class _TrueUnlessSent(serializers.BooleanField):
    """A boolean that defaults to true in multipart forms too (DRF reads an absent form field as false)."""

    default_empty_html = serializers.empty


class _SourceText(serializers.CharField):
    """A file's text exactly as sent: a number or a list is refused, not turned into a string."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class CloudVersionUploadInputSerializer(serializers.Serializer):
    bundle = serializers.FileField(required=False, help_text="A zip with main.py at its root (multipart).")
    files = serializers.DictField(
        child=_SourceText(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="Or, in JSON: a map of file path to source text.",
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    activate = _TrueUnlessSent(default=True, help_text="Make it the running version (default true).")

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if ("bundle" in attrs) == ("files" in attrs):
            raise serializers.ValidationError({"bundle": "Send either a zip file (bundle) or a files map."})
        return attrs


class CloudVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(help_text="The email of the developer who deployed it, or cloud_deploy.")
    size = serializers.IntegerField(help_text="Bytes of the stored (zipped) bundle.")
    sha256 = serializers.CharField()
    note = serializers.CharField()
    handlers = serializers.JSONField(help_text="functions, triggers and jobs the bundle registered.")
    active = serializers.BooleanField()


class CloudVariableSerializer(serializers.Serializer):
    name = serializers.CharField()
    secret = serializers.BooleanField()
    value = serializers.CharField(help_text="The value, or a mask for a secret: secrets are never shown again.")
    updated_at = serializers.DateTimeField()


class CloudVariableInputSerializer(serializers.Serializer):
    value = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=32 * 1024)
    secret = serializers.BooleanField(default=False)


class CloudLogQuerySerializer(serializers.Serializer):
    since = serializers.FloatField(
        required=False, help_text="Only records written after this one (the previous answer's cursor)."
    )
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)
    level = serializers.ChoiceField(choices=["error"], required=False, help_text="error: failed invocations only.")


class CloudFunctionRunInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    params = serializers.DictField(required=False, default=dict)


class CloudLogPageSerializer(serializers.Serializer):
    results = serializers.ListField(
        child=serializers.JSONField(),
        help_text="Invocation records, newest first: kind, name, version, ms, outcome, lines, at (+ code, error).",
    )
    cursor = serializers.FloatField(allow_null=True, help_text="Pass as since= to get only newer records.")


class CloudFunctionErrorSerializer(serializers.Serializer):
    code = serializers.IntegerField()
    error = serializers.CharField()


class CloudFunctionOutcomeSerializer(serializers.Serializer):
    result = serializers.JSONField(required=False, help_text="What the function returned (when it succeeded).")
    error = CloudFunctionErrorSerializer(required=False, help_text="The Parse error it answered (when it failed).")


class CloudSettingsSerializer(serializers.Serializer):
    function_timeout_seconds = serializers.FloatField(allow_null=True, help_text="The app's own; null: the default.")
    trigger_timeout_seconds = serializers.FloatField(allow_null=True, help_text="The app's own; null: the default.")
    function_timeout_default = serializers.FloatField()
    trigger_timeout_default = serializers.FloatField()
    function_timeout_max = serializers.FloatField()
    trigger_timeout_max = serializers.FloatField()
    webhook_key = serializers.CharField(
        allow_null=True, help_text="Sent as X-Parse-Webhook-Key to the app's webhooks; null below developer."
    )


class CloudSettingsInputSerializer(serializers.Serializer):
    function_timeout_seconds = serializers.FloatField(allow_null=True, required=False, default=None)
    trigger_timeout_seconds = serializers.FloatField(allow_null=True, required=False, default=None)
