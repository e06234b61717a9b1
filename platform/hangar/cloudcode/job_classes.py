"""Class rules of the job classes: ``_JobStatus`` and ``_JobSchedule`` are the master key's alone.

Parse Server refuses every client operation on them whatever their CLP says
(SharedRest.js ``enforceRoleSecurity``, ``classesWithMasterOnlyAccess``): a job's params
and messages are the developer's, not an end user's.
"""

from __future__ import annotations

from hangar.caller import Caller
from hangar.datastore.class_rules import ClassRules, register_class_rules
from hangar.parse_errors import OPERATION_FORBIDDEN, ParseError

JOB_STATUS_CLASS = "_JobStatus"
JOB_SCHEDULE_CLASS = "_JobSchedule"


class MasterOnlyClassRules(ClassRules):
    def __init__(self, class_name: str) -> None:
        self.class_name = class_name

    def client_access_check(self, *, operation: str, caller: Caller) -> None:
        raise ParseError(
            OPERATION_FORBIDDEN,
            f"Clients aren't allowed to perform the {operation} operation on the {self.class_name} collection.",
        )


def register() -> None:
    for class_name in (JOB_STATUS_CLASS, JOB_SCHEDULE_CLASS):
        register_class_rules(class_name, MasterOnlyClassRules(class_name))
