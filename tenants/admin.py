from typing import ClassVar

from django.contrib import admin

from tenants.models import App, AuditEvent, Developer, Membership, Organization, Plan

admin.site.register(Developer)
admin.site.register(Organization)
admin.site.register(Membership)
admin.site.register(Plan)


@admin.register(App)
class AppAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "organization", "application_id", "status", "created_at"]
    # Keys are never shown here: only the dashboard's role-checked reveal decrypts them.
    exclude: ClassVar[list[str]] = []


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["created_at", "actor_email", "action", "target_type", "target_name"]
    list_filter = ["action"]
