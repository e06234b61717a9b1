"""Writes of the tenants domain, one module per entity group.

Every service takes keyword-only arguments, the acting developer and the tenant
explicitly, checks the actor's role, writes in one transaction and records an audit
event; side effects (emails, cache invalidation, tasks) run after commit.
"""

from tenants.services import cloud_code
from tenants.services.accounts import access_token_create, access_token_revoke, developer_sign_up
from tenants.services.apps import (
    app_client_class_creation_set,
    app_create,
    app_delete,
    app_key_rotate,
    app_live_query_classes_set,
    app_master_key_reveal,
    app_purge,
    app_rename,
)
from tenants.services.members import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    membership_change_role,
    membership_remove,
)
from tenants.services.operators import operator_app_create
from tenants.services.organizations import organization_create, organization_rename
from tenants.services.sign_in import developer_authenticate

__all__ = [
    "access_token_create",
    "access_token_revoke",
    "app_client_class_creation_set",
    "app_create",
    "app_delete",
    "app_key_rotate",
    "app_live_query_classes_set",
    "app_master_key_reveal",
    "app_purge",
    "app_rename",
    "cloud_code",
    "developer_authenticate",
    "developer_sign_up",
    "invitation_accept",
    "invitation_create",
    "invitation_revoke",
    "membership_change_role",
    "membership_remove",
    "operator_app_create",
    "organization_create",
    "organization_rename",
]
