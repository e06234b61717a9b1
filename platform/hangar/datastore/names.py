"""Class and field names the Parse protocol allows (reference §5.2)."""

from __future__ import annotations

import re

from hangar.parse_errors import INVALID_CLASS_NAME, INVALID_KEY_NAME, ParseError

# Always fullmatch: "$" alone would also accept a trailing newline.
CLASS_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
FIELD_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# The schema registry's column (datastore_schema.class_name is varchar(128)); Parse Server
# has no smaller limit of its own. Checked here so that PostgreSQL never has to refuse it.
MAX_CLASS_NAME_LENGTH = 128
# _JobStatus and _JobSchedule are cloud code's (hangar.cloudcode.job_classes registers their rules),
# _Audience and _PushStatus messaging's (hangar.messaging.push_classes).
SYSTEM_CLASSES = frozenset(
    {"_User", "_Role", "_Session", "_Installation", "_JobStatus", "_JobSchedule", "_Audience", "_PushStatus"}
)
SYSTEM_FIELDS = frozenset({"objectId", "createdAt", "updatedAt", "ACL"})
_FORBIDDEN_FIELDS = frozenset({"length", "className"})


def validate_class_name(class_name: str) -> str:
    if class_name in SYSTEM_CLASSES:
        return class_name
    if len(class_name) > MAX_CLASS_NAME_LENGTH:
        raise ParseError(
            INVALID_CLASS_NAME,
            f"Invalid classname: {class_name[:40]}..., classnames can be at most {MAX_CLASS_NAME_LENGTH} characters",
        )
    if CLASS_NAME_RE.fullmatch(class_name):
        return class_name
    raise ParseError(
        INVALID_CLASS_NAME,
        f"Invalid classname: {class_name}, classnames can only have alphanumeric characters and _, "
        "and must start with an alpha character ",
    )


def is_valid_field_name(name: str) -> bool:
    return bool(FIELD_NAME_RE.fullmatch(name)) and name not in _FORBIDDEN_FIELDS


def validate_field_name(name: str) -> str:
    if not is_valid_field_name(name):
        raise ParseError(INVALID_KEY_NAME, f"Invalid field name: {name}.")
    return name
