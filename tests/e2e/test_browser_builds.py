"""In a real browser at phone width, an admin stores a keystore and saves a profile on the Builds page, then
watches a build's log stream in over the WebSocket and its state turn to succeeded with a download link."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from hangar.builds import queue
from hangar.builds.models import Build, BuildProfile, SigningCredential
from hangar.builds.runner import build_execute
from tests.builds.conftest import icon_png, requires_toolchain, web_bundle
from tests.conftest import PASSWORD, LiveServer, Tenant
from tests.e2e.test_browser_dashboard import CHROMIUM, CHROMIUM_ARGS


def _on_a_thread(call):  # type: ignore[no-untyped-def]
    result = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    thread.join(timeout=60)
    return result[0]


def _claim_and_run() -> None:
    from django.db import connection

    try:
        claimed = queue.build_claim(platform="android", agent="e2e")
        assert claimed is not None
        build_execute(claimed, agent="e2e")
    finally:
        connection.close()


@pytest.mark.browser
@requires_toolchain
@pytest.mark.django_db(transaction=True)
def test_profile_credential_and_a_live_build_on_a_phone(  # type: ignore[no-untyped-def]
    live_server: LiveServer, tenant_a: Tenant, pkcs12_keystore, queued_in_broker
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser)")
    base = live_server.url
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/login/")
            page.get_by_label("Email").fill(tenant_a.developer.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/orgs/{tenant_a.organization.pk}/apps/{tenant_a.app.pk}/")
            page.get_by_role("link", name="Builds").click()
            page.wait_for_url(re.compile(r"/builds/$"))

            page.locator("#credential-file").set_input_files(
                {"name": "release.p12", "mimeType": "application/x-pkcs12", "buffer": pkcs12_keystore.path.read_bytes()}
            )
            page.locator("#credential-alias").fill(pkcs12_keystore.alias)
            page.locator("#credential-storepass").fill(pkcs12_keystore.store_password)
            page.get_by_role("button", name="Store in the vault").click()
            expect(page.locator("#signing-credentials")).to_contain_text(pkcs12_keystore.sha256)

            page.locator("#profile-package").fill("com.example.phone")
            page.locator("#profile-label").fill("Phone Shop")
            page.locator("#profile-icon").set_input_files({"name": "icon.png", "mimeType": "image/png",
                                                           "buffer": icon_png()})  # fmt: skip
            page.locator("#profile-bundle").set_input_files({"name": "site.zip", "mimeType": "application/zip",
                                                             "buffer": web_bundle()})  # fmt: skip
            page.get_by_role("button", name="Save profile").click()
            expect(page.locator("#build-profiles")).to_contain_text("com.example.phone")
            width = page.evaluate("document.documentElement.scrollWidth")

            # Queued here (no worker takes it), opened in the browser, then run by this process as a worker would.
            # The ORM runs on threads of its own: Playwright's sync API keeps an event loop on this one.
            profile = _on_a_thread(lambda: BuildProfile.objects.get(app=tenant_a.app))
            build = _on_a_thread(lambda: queue.build_request(app=tenant_a.app, profile=profile))
            page.goto(f"{base}/orgs/{tenant_a.organization.pk}/apps/{tenant_a.app.pk}/builds/{build.number}/")
            expect(page.locator("#build-state")).to_have_text("queued")
            worker = threading.Thread(target=_claim_and_run)
            worker.start()
            expect(page.locator("#build-log")).to_contain_text("smali assemble")
            expect(page.locator("#build-log")).to_contain_text("Verifies")
            expect(page.locator("#build-state")).to_have_text("succeeded")
            expect(page.get_by_role("link", name="Download the APK")).to_be_visible()
            expect(page.locator("#build-artifact svg")).to_be_visible()
            worker.join(timeout=60)
        finally:
            browser.close()
    assert errors == []
    assert width <= 390, "nothing overflows a phone's width"
    assert SigningCredential.objects.filter(app=tenant_a.app).count() == 1
    assert Build.objects.get(pk=build.pk).state == "succeeded"
