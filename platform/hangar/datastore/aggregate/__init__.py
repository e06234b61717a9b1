"""Aggregation of a class's objects: ``distinct`` and pipelines (docs/datastore.md "Aggregate")."""

from hangar.datastore.aggregate.selectors import MAX_RESULTS, object_aggregate

__all__ = ["MAX_RESULTS", "object_aggregate"]
