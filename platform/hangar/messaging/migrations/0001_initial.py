# The messaging app's first migration: the tables arrive in the ones that follow.
from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = [("tenants", "0006_plan_cloud_timeouts")]
    operations: list[migrations.operations.base.Operation] = []
