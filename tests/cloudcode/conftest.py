"""Cloud-code test helpers: deploy a bundle given as {path: source} to a tenant's app."""

from __future__ import annotations

import textwrap

import pytest
from asgiref.sync import sync_to_async

from hangar.cloudcode.bundles import Bundle, _pack
from hangar.cloudcode.models import CloudVersion
from hangar.cloudcode.services import deploy_version
from tests.conftest import Tenant


def bundle_of(files: dict[str, str]) -> Bundle:
    return _pack({name: textwrap.dedent(source).encode() for name, source in files.items()})


def deploy(tenant: Tenant, files: dict[str, str], **options: object) -> CloudVersion:
    version = deploy_version(tenant.app, bundle_of(files), **options)  # type: ignore[arg-type]
    return version


async def deploy_async(tenant: Tenant, files: dict[str, str], **options: object) -> CloudVersion:
    version = await sync_to_async(deploy)(tenant, files, **options)
    await _settle_app_version()
    return version


async def _settle_app_version() -> None:
    # Activation bumps the app's version after commit; the next request reloads the app.
    return None


@pytest.fixture(autouse=True)
async def _stop_workers() -> object:
    yield
    from hangar.cloudcode.pool import close_current_pool

    await close_current_pool()


from tests.datastore.conftest import app_a, app_b  # noqa: E402,F401 - the data API's Parse clients
