"""A transactional test's database flush, in a fraction of Django's time.

Django empties every table after a transactional test with one ``TRUNCATE`` of all ~60 of them,
then re-creates the content types and permissions (post_migrate). A TRUNCATE gives every table a
new file, and the COMMIT waits for all of them: about a second per test on this machine, with
some 1,000 transactional tests in the suite. Here only the tables that hold rows are emptied,
with DELETE (Django's foreign keys are deferred, so the order does not matter), and the content
types and permissions, which post_migrate would write back exactly as they were, are kept.
The end state is the one ``flush`` leaves. Anything unexpected (a foreign key that is not
deferred) falls back to Django's own flush.
"""

from __future__ import annotations

from django.db import DatabaseError, connections, transaction
from django.test.testcases import TransactionTestCase

# Written by migrate's post_migrate and never by a test: flush would empty them and write them back.
KEPT_TABLES = frozenset({"django_content_type", "auth_permission", "django_migrations"})

_djangos_teardown = TransactionTestCase._fixture_teardown
_emptied_tables: dict[str, list[str]] = {}


def _tables(alias: str) -> list[str]:
    if alias not in _emptied_tables:
        connection = connections[alias]
        names = connection.introspection.django_table_names(only_existing=True, include_views=False)
        _emptied_tables[alias] = sorted(set(names) - KEPT_TABLES)
    return _emptied_tables[alias]


def database_flush(alias: str) -> None:
    """Empty every Django table of ``alias`` that holds rows (but the post_migrate ones)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    tables = _tables(alias)
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(name)})" for name in tables), tables
        )
        holding_rows = [row[0] for row in cursor.fetchall()]
    if not holding_rows:
        return
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        for name in holding_rows:
            cursor.execute(f"DELETE FROM {quote(name)}")


def _fixture_teardown(self: TransactionTestCase) -> None:
    if self.available_apps is not None or self.serialized_rollback:
        _djangos_teardown(self)
        return
    for alias in self._databases_names(include_mirrors=False):
        try:
            database_flush(alias)
        except DatabaseError:
            _djangos_teardown(self)
            return


def install() -> None:
    TransactionTestCase._fixture_teardown = _fixture_teardown  # type: ignore[method-assign]
