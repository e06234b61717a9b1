"""Fixtures the browser tests share with the packages they drive."""

from tests.builds.conftest import pkcs12_keystore, queued_in_broker  # noqa: F401
