"""A developer signs up in a real browser, creates an app, sees its keys, reveals the master key and rotates one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tenants import selectors
from tenants.models import App, Developer
from tests.conftest import PASSWORD, REPO_DIR, LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOT = REPO_DIR / "var" / "screenshots" / "dashboard-app.png"


@dataclass
class Seen:
    """What the browser showed, checked against the database afterwards."""

    app_pk: int = 0
    application_id: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    rotated_rest_key: str = ""
    page_errors: list[str] = field(default_factory=list)


def walk_sign_up_to_master_key(base_url: str) -> Seen:
    seen = Seen()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda error: seen.page_errors.append(str(error)))

            page.goto(f"{base_url}/signup/")
            page.get_by_label("Email").fill("pilot@example.com")
            page.get_by_label("Your name").fill("Pat Pilot")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Create account").click()
            page.wait_for_url(f"{base_url}/")
            expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
            expect(page.get_by_role("heading", name="Pat Pilot's organization")).to_be_visible()

            page.get_by_role("link", name="Create app").first.click()
            page.get_by_label("Name").fill("Rocket")
            page.get_by_role("button", name="Create app").click()
            page.wait_for_url(re.compile(r"/orgs/\d+/apps/\d+/$"))
            expect(page.get_by_role("heading", name="Rocket", exact=True)).to_be_visible()
            seen.app_pk = int(page.url.rstrip("/").rsplit("/", 1)[1])
            seen.application_id = page.get_by_test_id("key-application_id").input_value()
            for kind in ["client", "javascript", "rest", "dotnet"]:
                seen.keys[kind] = page.get_by_test_id(f"key-{kind}").input_value()
            expect(page.get_by_test_id("key-master")).to_have_count(0)

            settings_url = page.url
            page.get_by_role("button", name="Reveal").click()
            expect(page.get_by_test_id("key-master")).to_be_visible()
            assert page.url == settings_url, "htmx swapped the row in place"
            seen.keys["master"] = page.get_by_test_id("key-master").input_value()

            page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm asks first
            page.locator("#key-rest").get_by_role("button", name="Rotate").click()
            expect(page.locator("#key-rest.is-fresh")).to_be_visible()
            seen.rotated_rest_key = page.get_by_test_id("key-rest").input_value()

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    return seen


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sign_up_create_an_app_and_reveal_its_master_key(live_server: LiveServer) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser)")

    seen = walk_sign_up_to_master_key(live_server.url)

    owner = Developer.objects.get(email="pilot@example.com")
    app = App.objects.get(pk=seen.app_pk, organization__memberships__developer=owner)
    assert seen.application_id == app.application_id
    keys = selectors.app_keys_for(developer=owner, app=app, include_master=True)
    for kind in ["client", "javascript", "dotnet", "master"]:
        assert seen.keys[kind] == keys[kind], kind
    assert seen.keys["rest"] != keys["rest"], "the REST key shown first was rotated away"
    assert seen.rotated_rest_key == keys["rest"]
    assert len(seen.keys["master"]) == 40
    assert seen.page_errors == []
    assert SCREENSHOT.stat().st_size > 10_000
