"""Fixtures of the realtime tests: the Parse API fixtures of the datastore tests."""

from tests.datastore.conftest import app_a  # noqa: F401  (fixture of the Parse API tests)
