"""An app's SMS and email: send, the message log, templates (with a preview) and sender settings."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from hangar.messaging.sms_email_models import Message, MessageTemplate
from tenants.api.base import OrganizationScopedApi, decoded, developer_of
from tenants.services import sms_email

TAGS = ["sms and email"]
CHANNELS = ["sms", "email"]


class SmsSendInputSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=20)
    template = serializers.CharField(max_length=100, required=False)
    context = serializers.DictField(required=False)  # type: ignore[assignment]  # popped into the fields by DRF
    body = serializers.CharField(max_length=2000, required=False, trim_whitespace=False)


class EmailSendInputSerializer(serializers.Serializer):
    to = serializers.ListField(child=serializers.CharField(max_length=254), min_length=1, max_length=50)
    template = serializers.CharField(max_length=100, required=False)
    context = serializers.DictField(required=False)  # type: ignore[assignment]  # popped into the fields by DRF
    subject = serializers.CharField(max_length=500, required=False)
    text = serializers.CharField(required=False, trim_whitespace=False)
    html = serializers.CharField(required=False, trim_whitespace=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("to"), str):
            data = {**data, "to": [data["to"]]}  # one address or a list
        return super().to_internal_value(data)


class MessageSerializer(serializers.ModelSerializer):
    template = serializers.CharField(source="template_name")
    # A plain string in the OpenAPI document: an enum named "status" would collide with the apps' one.
    status = serializers.CharField(read_only=True, help_text="queued, sending (claimed: being sent), sent or failed")
    text = serializers.SerializerMethodField()
    html = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id", "channel", "source", "to", "sender", "reply_to", "template", "subject", "text", "html", "status",
            "attempts", "provider", "provider_message_id", "error", "created_at", "claimed_at", "finished_at",
        ]  # fmt: skip

    # A sign-in code or a reset link is never shown, even before it is erased.
    def get_text(self, message: Message) -> str:
        return "" if message.sensitive else message.text

    def get_html(self, message: Message) -> str:
        return "" if message.sensitive else message.html


class MessageQuerySerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=CHANNELS, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class TemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageTemplate
        fields = ["channel", "name", "subject", "text", "html", "created_at", "updated_at"]


class TemplateInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    html = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)


class PreviewInputSerializer(TemplateInputSerializer):
    name = serializers.CharField(max_length=100, required=False)
    context = serializers.DictField(required=False)  # type: ignore[assignment]  # popped into the fields by DRF


class RenderedSerializer(serializers.Serializer):
    subject = serializers.CharField()
    text = serializers.CharField()
    html = serializers.CharField()


class SenderSettingsSerializer(serializers.Serializer):
    email_from_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email_from_address = serializers.EmailField(required=False, allow_blank=True)
    email_reply_to = serializers.EmailField(required=False, allow_blank=True)
    sms_sender_id = serializers.CharField(max_length=20, required=False, allow_blank=True)


class SmsSendApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=SmsSendInputSerializer, responses={202: MessageSerializer},
        summary="Send an SMS (a template with its context, or a body); recorded, then delivered once",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(SmsSendInputSerializer, request.data)
        message = sms_email.message_send(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, channel="sms", data=data
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)


class EmailSendApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=EmailSendInputSerializer, responses={202: MessageSerializer},
        summary="Send an email (a template with its context, or subject and text/html); recorded, then delivered once",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int) -> Response:
        data = decoded(EmailSendInputSerializer, request.data)
        message = sms_email.message_send(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, channel="email", data=data
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)


class MessageListApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, parameters=[MessageQuerySerializer], responses=MessageSerializer(many=True),
                   summary="The app's recent messages and their status, newest first")  # fmt: skip
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        query = decoded(MessageQuerySerializer, request.query_params)
        rows = sms_email.message_list(
            actor=developer_of(request), organization=self.organization, app_pk=app_id,
            channel=query.get("channel"), limit=query["limit"],
        )  # fmt: skip
        return Response(MessageSerializer(rows, many=True).data)


class MessageDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=MessageSerializer, summary="One message and its delivery status")
    def get(self, request: Request, org_id: int, app_id: int, message_id: int) -> Response:
        row = sms_email.message_get(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, message_id=message_id
        )
        return Response(MessageSerializer(row).data)


class TemplateListApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=TemplateSerializer(many=True), summary="The app's SMS and email templates")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        rows = sms_email.template_list(actor=developer_of(request), organization=self.organization, app_pk=app_id)
        return Response(TemplateSerializer(rows, many=True).data)


class TemplateDetailApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=TemplateSerializer, summary="One template")
    def get(self, request: Request, org_id: int, app_id: int, channel: str, name: str) -> Response:
        row = sms_email.template_get(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, channel=channel, name=name
        )
        return Response(TemplateSerializer(row).data)

    @extend_schema(
        tags=TAGS, request=TemplateInputSerializer, responses=TemplateSerializer,
        summary="Create or replace a template (Django template language, checked in the sandbox)",
    )  # fmt: skip
    def put(self, request: Request, org_id: int, app_id: int, channel: str, name: str) -> Response:
        values = decoded(TemplateInputSerializer, request.data)
        row = sms_email.template_save(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, channel=channel, name=name,
            values=values,
        )  # fmt: skip
        return Response(TemplateSerializer(row).data)

    @extend_schema(tags=TAGS, responses={204: None}, summary="Delete a template")
    def delete(self, request: Request, org_id: int, app_id: int, channel: str, name: str) -> Response:
        sms_email.template_delete(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, channel=channel, name=name
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplatePreviewApi(OrganizationScopedApi):
    @extend_schema(
        tags=TAGS, request=PreviewInputSerializer, responses=RenderedSerializer,
        summary="Render a saved template (name) or unsaved source with a sample context; sends nothing",
    )  # fmt: skip
    def post(self, request: Request, org_id: int, app_id: int, channel: str) -> Response:
        data = decoded(PreviewInputSerializer, request.data)
        rendered = sms_email.template_preview(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, channel=channel, data=data
        )
        return Response({"subject": rendered.subject, "text": rendered.text, "html": rendered.html})


class SenderSettingsApi(OrganizationScopedApi):
    @extend_schema(tags=TAGS, responses=SenderSettingsSerializer, summary="Who the app's messages come from")
    def get(self, request: Request, org_id: int, app_id: int) -> Response:
        row = sms_email.sender_settings_get(actor=developer_of(request), organization=self.organization, app_pk=app_id)
        return Response(SenderSettingsSerializer(row).data)

    @extend_schema(tags=TAGS, request=SenderSettingsSerializer, responses=SenderSettingsSerializer,
                   summary="Set the email from-name and address, reply-to and the SMS sender id")  # fmt: skip
    def put(self, request: Request, org_id: int, app_id: int) -> Response:
        values = decoded(SenderSettingsSerializer, request.data)
        row = sms_email.sender_settings_update(
            actor=developer_of(request), organization=self.organization, app_pk=app_id, values=values
        )
        return Response(SenderSettingsSerializer(row).data)
