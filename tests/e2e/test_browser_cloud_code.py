"""In a real browser at phone width, a developer uploads a bundle on the Cloud code page, runs a function,
sees its result, and sees the invocation's log line arrive in the live tail."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from hangar.cloudcode.models import CloudVersion
from tests.conftest import PASSWORD, LiveServer, Tenant
from tests.e2e.test_browser_dashboard import CHROMIUM, CHROMIUM_ARGS

MAIN = b"""from hangar_cloud import define

@define("hello")
def hello(request):
    request.log.info("greeting", request.params.get("name"))
    return "Hello " + str(request.params.get("name"))
"""


def _bundle() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("main.py", MAIN)
    return out.getvalue()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_run_and_tail_on_a_phone(live_server: LiveServer, tenant_a: Tenant) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser)")
    base = live_server.url
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.set_default_timeout(20_000)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/login/")
            page.get_by_label("Email").fill(tenant_a.developer.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/orgs/{tenant_a.organization.pk}/apps/{tenant_a.app.pk}/")
            page.get_by_role("link", name="Cloud code").click()
            page.wait_for_url(re.compile(r"/cloud-code/$"))

            page.locator("#cloud-bundle").set_input_files(
                {"name": "bundle.zip", "mimeType": "application/zip", "buffer": _bundle()}
            )
            page.get_by_role("button", name="Upload zip").click()
            expect(page.locator("#cloud-versions tbody tr")).to_have_count(1)
            expect(page.locator("#cloud-versions")).to_contain_text("hello()")
            expect(page.locator("#cloud-versions")).to_contain_text("active")

            page.locator("#cloud-run-name").fill("hello")
            page.locator("#cloud-run-params").fill('{"name": "Ada"}')
            page.get_by_role("button", name="Run").click()
            expect(page.locator("#cloud-run-result")).to_contain_text('"result": "Hello Ada"')
            expect(page.locator("#cloud-logs")).to_contain_text("greeting Ada")
            width = page.evaluate("document.documentElement.scrollWidth")
        finally:
            browser.close()
    assert errors == []
    assert width <= 390, "nothing overflows a phone's width"
    assert CloudVersion.objects.filter(app=tenant_a.app).count() == 1
