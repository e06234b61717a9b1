"""The audit log's single writer, called by every service that changes something."""

from __future__ import annotations

from typing import Any

from tenants.models import AuditEvent, Developer, Organization


def audit_record(
    *,
    actor: Developer | None,
    organization: Organization | None,
    action: str,
    target_type: str,
    target_id: object,
    target_name: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        actor_email=actor.email if actor else "",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        target_name=target_name,
        details=details or {},
    )
