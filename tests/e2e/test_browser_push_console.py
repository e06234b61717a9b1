"""In a real browser at phone width, a developer composes a push to a channel on the Push tab, watches the
live count follow the channel typed, sends it, and finds the campaign in the list."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from playwright.sync_api import expect, sync_playwright

from hangar.caller import Caller
from hangar.datastore import objects
from tests.conftest import PASSWORD, LiveServer, Tenant
from tests.e2e.test_browser_dashboard import CHROMIUM, CHROMIUM_ARGS


def _install(tenant: Tenant, installation_id: str, channels: list[str]) -> None:
    async_to_sync(objects.object_create)(
        caller=Caller(app_pk=tenant.app.pk, is_master=True), class_name="_Installation",
        body={"installationId": installation_id, "deviceType": "android", "channels": channels}, files_base="",
    )  # fmt: skip


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_compose_to_a_channel_with_a_live_count_and_see_the_campaign_on_a_phone(
    live_server: LiveServer, tenant_a: Tenant
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser)")
    _install(tenant_a, "i-1", ["news"])
    _install(tenant_a, "i-2", ["news", "sports"])
    _install(tenant_a, "i-3", ["sports"])
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
            page.get_by_role("link", name="Push").click()
            page.wait_for_url(re.compile(r"/push/$"))
            expect(page.locator("#push-no-campaigns")).to_be_visible()
            expect(page.locator("#push-count [data-count]")).to_have_attribute("data-count", "3")  # everyone

            page.get_by_label("Alert").fill("Breaking <news>")
            page.locator("#push-channels").press_sequentially("news", delay=30)
            expect(page.get_by_label("Channels", exact=True)).to_be_checked()  # typing a channel chose the target
            expect(page.locator("#push-count [data-count]")).to_have_attribute("data-count", "2")
            page.locator("#push-channels").fill("news, sports")
            expect(page.locator("#push-count [data-count]")).to_have_attribute("data-count", "3")
            page.locator("#push-channels").fill("sports")
            expect(page.locator("#push-count [data-count]")).to_have_attribute("data-count", "2")
            page.locator("#push-channels").fill("nobody")
            expect(page.locator("#push-count [data-count]")).to_have_attribute("data-count", "0")
            page.locator("#push-channels").fill("news")
            expect(page.locator("#push-count [data-count]")).to_have_attribute("data-count", "2")

            page.get_by_label("At a time (UTC)").check()
            page.get_by_label("Date and time").fill("2031-06-01T12:00")
            expect(page.locator("#push-time-local")).to_contain_text("your time")
            page.get_by_label("Now").check()
            page.get_by_role("button", name="Send push").click()
            page.wait_for_url(re.compile(r"/push/campaigns/\w+/$"))
            expect(page.locator("#campaign-title")).to_have_text("Breaking <news>")
            width = page.evaluate("document.documentElement.scrollWidth")
            page.get_by_role("link", name="Push").click()
            row = page.locator("#push-campaigns tbody tr")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("Breaking <news>")
            expect(row).to_contain_text("webui")
            width = max(width, page.evaluate("document.documentElement.scrollWidth"))
        finally:
            browser.close()
    assert errors == []
    assert width <= 390, "nothing overflows a phone's width"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data FROM datastore_object WHERE app_id = %s AND class_name = '_PushStatus'", [tenant_a.app.pk]
        )
        [(data,)] = cursor.fetchall()
    data = data if isinstance(data, dict) else json.loads(data)
    assert (data["source"], json.loads(data["query"])) == ("webui", {"channels": {"$in": ["news"]}})
