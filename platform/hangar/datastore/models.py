"""The schema registry. App objects themselves live in the partitioned
``datastore_object`` table (see migrations/0001 and DESIGN.md section 4), which the
ORM does not manage: the data plane reaches it with SQL from the query compiler."""

from __future__ import annotations

from django.db import models


class SchemaClass(models.Model):
    """One class of one app: its fields and types, class-level permissions and indexes."""

    app = models.ForeignKey("tenants.App", on_delete=models.CASCADE, related_name="schema_classes")
    class_name = models.CharField(max_length=128)
    fields = models.JSONField(default=dict)
    class_level_permissions = models.JSONField(default=dict)
    indexes = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "class_name"], name="datastore_schemaclass_unique")]

    def __str__(self) -> str:
        return self.class_name


class ParseConfig(models.Model):
    """An app's Parse Config (``/config``, reference §13.2): parameters and which are master-key only.

    The data plane reads and writes it with SQL under row-level security (migration 0005).
    """

    app = models.OneToOneField("tenants.App", on_delete=models.CASCADE, primary_key=True, related_name="parse_config")
    params = models.JSONField(default=dict)
    master_key_only = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"config of app {self.app_id}"


class SparePartition(models.Model):
    """An app id reserved ahead with its partitions already made, claimed by the next app created.

    Building a partition's indexes is most of what provisioning costs (each index build syncs
    its file to disk: about 20 per app), so a pool of spares made in the background keeps app
    creation to a few inserts (hangar.datastore.partitions, docs/scaling.md "Density").
    """

    app_pk = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"spare partitions for app id {self.app_pk}"
