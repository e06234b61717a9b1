"""Organization roles and what each may do.

The table is the single source of truth: services check it, the dashboard hides what
a role cannot do, and docs/tenants.md reproduces it. A role may do everything the
roles below it may do.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    DEVELOPER = "developer"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.ADMIN: 2, Role.OWNER: 3}
ROLE_CHOICES = [(role.value, role.value.title()) for role in Role]


class Permission(StrEnum):
    VIEW_ORG = "view_org"  # see the organization, its apps, members and public keys
    VIEW_AUDIT_LOG = "view_audit_log"
    CREATE_APP = "create_app"
    RENAME_APP = "rename_app"
    VIEW_MASTER_KEY = "view_master_key"
    ROTATE_KEY = "rotate_key"
    DELETE_APP = "delete_app"
    MANAGE_MEMBERS = "manage_members"  # invite, change roles below owner, remove non-owners
    MANAGE_OWNERS = "manage_owners"  # grant or take the owner role, remove an owner
    RENAME_ORG = "rename_org"
    DELETE_ORG = "delete_org"
    VIEW_CLOUD_CODE = "view_cloud_code"  # versions, handlers, variable names (never secret values), logs
    MANAGE_CLOUD_CODE = "manage_cloud_code"  # deploy, activate or roll back, run a function as master
    MANAGE_CLOUD_VARIABLES = "manage_cloud_variables"  # set or delete environment variables and secrets
    MANAGE_MESSAGING = "manage_messaging"  # SMS and email: send, templates, sender settings, the message log
    MANAGE_END_USER_MFA = "manage_end_user_mfa"  # turn the app's multi-factor sign-in on or off, its code options
    # Messaging: push/SMS/email provider credentials (write-only secrets) and the log provider's records.
    MANAGE_MESSAGING_PROVIDERS = "manage_messaging_providers"
    VIEW_MESSAGING_LOG = "view_messaging_log"  # what the log provider recorded (phone numbers, addresses, codes)
    VIEW_PUSH = "view_push"  # push campaigns (status, counts, errors) and saved audiences
    SEND_PUSH = "send_push"  # compose and send a push, count an audience being built, save or delete audiences
    VIEW_BUILDS = "view_builds"  # native builds: profiles, history, logs, artifacts and their download links
    RUN_BUILDS = "run_builds"  # save a build profile, start or cancel a build
    MANAGE_SIGNING = "manage_signing"  # upload, rotate or delete signing credentials (never readable back)
    MANAGE_SCHEMA = "manage_schema"  # push a schema file, roll a schema migration back, promote a schema into the app
    # Back an app up or restore or import into it: a backup holds every object and password hash.
    MANAGE_BACKUPS = "manage_backups"
    EDIT_DATA = "edit_data"  # the data browser's writes: classes, columns, objects (reads need only view_org)


MINIMUM_ROLE: dict[Permission, Role] = {
    Permission.VIEW_ORG: Role.VIEWER,
    # Editing the app's data with the master scope is a developer's right, like deploying cloud code.
    Permission.EDIT_DATA: Role.DEVELOPER,
    Permission.VIEW_AUDIT_LOG: Role.VIEWER,
    Permission.CREATE_APP: Role.DEVELOPER,
    Permission.RENAME_APP: Role.DEVELOPER,
    Permission.VIEW_MASTER_KEY: Role.ADMIN,
    Permission.ROTATE_KEY: Role.ADMIN,
    Permission.DELETE_APP: Role.ADMIN,
    Permission.MANAGE_MEMBERS: Role.ADMIN,
    Permission.RENAME_ORG: Role.ADMIN,
    Permission.MANAGE_OWNERS: Role.OWNER,
    Permission.DELETE_ORG: Role.OWNER,
    Permission.VIEW_CLOUD_CODE: Role.VIEWER,
    # A bundle may act with the master scope, so deploying (or running) one is a developer's
    # right, like editing the app; its secrets are the admins', like the master key.
    Permission.MANAGE_CLOUD_CODE: Role.DEVELOPER,
    Permission.MANAGE_CLOUD_VARIABLES: Role.ADMIN,
    # Messages go to the app's users under its name (and its SMS bill): a developer's right, like a
    # cloud function that could send them.
    Permission.MANAGE_MESSAGING: Role.DEVELOPER,
    # How the app's users sign in is its security posture, like its keys: an admin's decision.
    Permission.MANAGE_END_USER_MFA: Role.ADMIN,
    # Provider credentials are secrets like the master key; a viewer still sees which are configured.
    Permission.MANAGE_MESSAGING_PROVIDERS: Role.ADMIN,
    Permission.VIEW_MESSAGING_LOG: Role.DEVELOPER,
    Permission.VIEW_PUSH: Role.VIEWER,
    # Sending reaches every user's device, and a live count answers questions about the
    # installations' fields: a developer's right, like running a function as master.
    Permission.SEND_PUSH: Role.DEVELOPER,
    Permission.VIEW_BUILDS: Role.VIEWER,
    Permission.RUN_BUILDS: Role.DEVELOPER,
    # A signing key is the app's identity in the stores, like the master key is its identity here.
    Permission.MANAGE_SIGNING: Role.ADMIN,
    # The same right as adding a field through /schemas with the master key, which developers run.
    Permission.MANAGE_SCHEMA: Role.DEVELOPER,
    # A backup is every object and password hash (more than the master key reveals at once), and a
    # restore replaces them: an admin's decision, like deleting the app.
    Permission.MANAGE_BACKUPS: Role.ADMIN,
}


def role_allows(role: Role | str, permission: Permission) -> bool:
    return Role(role).at_least(MINIMUM_ROLE[permission])
