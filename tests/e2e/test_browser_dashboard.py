"""A developer signs up in a real browser, creates an app, sees its keys, reveals the master key and rotates one;
a LiveQuery client opened in another tab then shows on the app page (connections, subscriptions per class)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tenants import selectors
from tenants.models import App, Developer
from tests.conftest import PASSWORD, REPO_DIR, LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOT = REPO_DIR / "var" / "screenshots" / "dashboard-app.png"
LIVE_FIGURES_TIMEOUT_SECONDS = 15  # realtime processes write their counts within a second of a change

# In the page: a Parse LiveQuery client over the browser's own WebSocket (connect with the
# JavaScript key, subscribe to Game); resolves with the server's answer to the subscribe.
LIVE_CLIENT_JS = """
([serverUrl, applicationId, javascriptKey]) => new Promise((resolve, reject) => {
  const socket = new WebSocket(serverUrl.replace(/^http/, "ws"));
  window.liveQuerySocket = socket;  // kept open while the tab lives
  socket.onopen = () => socket.send(JSON.stringify({op: "connect", applicationId, javascriptKey}));
  socket.onerror = () => reject(new Error("WebSocket error"));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.op === "connected") {
      socket.send(JSON.stringify({op: "subscribe", requestId: 1, query: {className: "Game", where: {}}}));
    } else {
      resolve(message.op === "subscribed" ? "subscribed" : JSON.stringify(message));
    }
  };
})
"""


@dataclass
class Seen:
    """What the browser showed, checked against the database afterwards."""

    app_pk: int = 0
    application_id: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    rotated_rest_key: str = ""
    page_errors: list[str] = field(default_factory=list)
    live_subscribe: str = ""
    live_connections: str = ""
    live_subscriptions: list[str] = field(default_factory=list)


def wait_for_live_figures(page: Page) -> tuple[str, list[str]]:
    """Reload the app page until it counts the live client (bounded); return what it shows."""
    deadline = time.monotonic() + LIVE_FIGURES_TIMEOUT_SECONDS
    while True:
        page.reload()
        connections = page.locator("#livequery-connections").inner_text()
        rows = page.locator("#livequery-subscriptions tbody tr").all_inner_texts()
        if connections == "1" or time.monotonic() > deadline:
            return connections, [" ".join(row.split()) for row in rows]
        time.sleep(0.5)


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

            expect(page.locator("#livequery-connections")).to_have_text("0")
            # The class must exist for a client key to subscribe to it (as in Parse Server).
            created = httpx.post(
                f"{base_url}/parse/schemas/Game", json={"className": "Game"}, timeout=10,
                headers={"X-Parse-Application-Id": seen.application_id, "X-Parse-Master-Key": seen.keys["master"]},
            )  # fmt: skip
            created.raise_for_status()
            live_tab = browser.new_page()
            live_tab.goto(settings_url)  # same origin as /parse
            seen.live_subscribe = live_tab.evaluate(
                LIVE_CLIENT_JS, [f"{base_url}/parse", seen.application_id, seen.keys["javascript"]]
            )
            seen.live_connections, seen.live_subscriptions = wait_for_live_figures(page)

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
    assert seen.live_subscribe == "subscribed"
    assert seen.live_connections == "1"
    assert seen.live_subscriptions == ["Game 1"]
    assert SCREENSHOT.stat().st_size > 10_000
