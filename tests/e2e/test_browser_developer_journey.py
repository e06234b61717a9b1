"""A new developer's journey in a real browser, with an accessibility check on every page it passes.

Sign up → create an app → create a class with its first columns on the Data page → add
objects → filter → sort by a column both ways → edit a cell in place → create roles, nest
one in the other and see the cycle refused → edit an ACL with the ACL editor (untick
public, add a role) → tick a box of the CLP form → import a CSV, then a JSON file whose
progress page reports its refused row → the Parse REST API and
the Parse JS SDK read what the browser wrote →
the API console answers a call → create an end user and revoke their sessions → create a
read-only token and use it → enrol TOTP, log out and sign in with a code → let clients
create classes and see a client's save succeed. axe-core (from npm) runs on each main
page; no serious or critical violation is allowed. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import PASSWORD, REPO_DIR, LiveServer
from tests.e2e.test_browser_dashboard import CHROMIUM, CHROMIUM_ARGS

NODE = shutil.which("node")
AXE = REPO_DIR / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO_DIR / "var" / "screenshots"
BLOCKING_IMPACTS = {"serious", "critical"}
AXE_RUN = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(
  (v) => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target.join(" "))}))"""


@dataclass
class Journey:
    application_id: str = ""
    rest_key: str = ""
    javascript_key: str = ""
    rows_after_filter: int = 0
    edited_cell: str = ""
    sorted_players: list[list[str]] = field(default_factory=list)
    import_counts: str = ""
    import_errors: list[str] = field(default_factory=list)
    console_status: str = ""
    console_answer: str = ""
    token: str = ""
    end_user_token: str = ""
    recovery_codes: int = 0
    signed_in_with_totp: bool = False
    phone_overflow: bool = True
    violations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_errors: list[str] = field(default_factory=list)


# The Parse JS SDK (npm ``parse``) reads the class the browser built, as a client app would.
SDK_READ = """
import Parse from "parse/node";
const [applicationId, javascriptKey, serverURL] = process.argv.slice(1);
Parse.initialize(applicationId, javascriptKey);
Parse.serverURL = serverURL;
const rows = await new Parse.Query("Score").ascending("player").find();
console.log(JSON.stringify(rows.map((row) => [row.get("player"), row.get("points")])));
"""


def read_with_the_js_sdk(base_url: str, journey: Journey) -> list[list[Any]]:
    done = subprocess.run(
        [NODE or "node", "--input-type=module", "-e", SDK_READ, journey.application_id, journey.javascript_key,
         f"{base_url}/parse"],
        cwd=REPO_DIR, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return list(json.loads(done.stdout))


def check_accessibility(page: Page, name: str, journey: Journey) -> None:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(AXE_RUN)
    journey.violations[name] = [v for v in found if v["impact"] in BLOCKING_IMPACTS]
    page.screenshot(path=str(SHOTS / f"journey-{name}.png"), full_page=True)


def sign_up_and_create_app(page: Page, base_url: str, journey: Journey) -> None:
    page.goto(f"{base_url}/signup/")
    check_accessibility(page, "signup", journey)
    page.get_by_label("Email").fill("nova@example.com")
    page.get_by_label("Your name").fill("Nova")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base_url}/")
    check_accessibility(page, "home", journey)
    page.get_by_role("link", name="Create app").first.click()
    page.get_by_label("Name").fill("Scores")
    page.get_by_role("button", name="Create app").click()
    page.wait_for_url(re.compile(r"/orgs/\d+/apps/\d+/$"))
    expect(page.locator("#class-creation")).to_contain_text("119")
    journey.application_id = page.get_by_test_id("key-application_id").input_value()
    journey.rest_key = page.get_by_test_id("key-rest").input_value()
    journey.javascript_key = page.get_by_test_id("key-javascript").input_value()
    check_accessibility(page, "settings", journey)


def build_data(page: Page, journey: Journey) -> None:
    page.get_by_role("navigation", name="App").get_by_role("link", name="Data").click()
    expect(page.locator("#no-classes")).to_be_visible()
    check_accessibility(page, "data", journey)
    page.get_by_label("Class name").fill("Score")
    page.locator("#field-name-0").fill("player")
    page.locator("#field-name-1").fill("points")
    page.locator("#field-type-1").select_option("Number")
    page.get_by_role("button", name="Create class").click()
    page.wait_for_url(re.compile(r"/data/Score/$"))
    for player, points in [("Ada", "12"), ("Bob", "5"), ("Cy", "30")]:
        page.locator("#new-player").fill(player)
        page.locator("#new-points").fill(points)
        page.get_by_role("button", name="Add object").click()
        expect(page.get_by_text(re.compile(r"Added the object"))).to_be_visible()
    expect(page.locator("#data-grid tbody tr")).to_have_count(3)

    page.locator("#filter-field-1").select_option("points")
    page.locator("#filter-op-1").select_option("gt")
    page.locator("#filter-value-1").fill("10")
    page.get_by_role("button", name="Apply").first.click()
    expect(page.locator("#where-json")).to_have_text('{"points":{"$gt":10}}')
    journey.rows_after_filter = page.locator("#data-grid tbody tr").count()
    check_accessibility(page, "data-class", journey)

    page.get_by_role("link", name="Clear").click()
    page.locator("#data-grid thead").get_by_role("link", name="points").click()  # sort by a column of its own
    expect(page.locator("#data-grid th[aria-sort=ascending]")).to_contain_text("points")
    journey.sorted_players.append([text.split()[0] for text in page.locator("td[id$='-player']").all_inner_texts()])
    page.locator("#data-grid thead").get_by_role("link", name="points").click()  # again: descending
    expect(page.locator("#data-grid th[aria-sort=descending]")).to_contain_text("points")
    journey.sorted_players.append([text.split()[0] for text in page.locator("td[id$='-player']").all_inner_texts()])

    ada = page.locator("#data-grid tbody tr", has_text="Ada")
    object_id = ada.get_attribute("data-object-id")
    ada.get_by_role("link", name=f"Edit points of {object_id}").click()
    editor = page.locator(f"#edit-{object_id}-points")
    editor.fill("15")
    page.locator(f"#cell-{object_id}-points").get_by_role("button", name="Save").click()
    cell = page.locator(f"#cell-{object_id}-points")
    expect(cell).to_contain_text("15 (edit points")  # swapped back in place, read-only again
    journey.edited_cell = cell.inner_text().split("(")[0].strip()

    class_url = page.url.split("?")[0]
    create_nested_roles(page)
    page.goto(class_url)
    cy = page.locator("#data-grid tbody tr", has_text="Cy")
    cy_id = cy.get_attribute("data-object-id")
    cy.get_by_role("link", name=f"edit ACL of {cy_id}").click()  # the ACL editor: untick public, add a role
    acl = page.locator(f"#cell-{cy_id}-ACL")
    acl.get_by_label("read (Public (anyone))").uncheck()
    acl.get_by_label("write (Public (anyone))").uncheck()
    acl.get_by_label("Add role").fill("Admins")
    acl.get_by_label("Role's access").select_option("read-write")
    check_accessibility(page, "data-acl-editor", journey)
    acl.get_by_role("button", name="Save").click()
    expect(page.locator(f"#cell-{cy_id}-ACL")).to_contain_text("role:Admins")

    page.locator("#clp-addField-auth").check()  # the CLP form: adding fields needs a signed-in user
    page.get_by_role("button", name="Save permissions").click()
    expect(page.get_by_text("Saved the class-level permissions.")).to_be_visible()
    expect(page.locator("#clp-addField-auth")).to_be_checked()

    page.locator("#import-file").set_input_files(
        {"name": "more.csv", "mimeType": "text/csv", "buffer": b"player,points\nDee,7\n"}
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-progress[data-status=done]")).to_contain_text("1 created")
    page.goto(class_url)
    rows = [{"player": "Eve", "points": 9}, {"player": "Fay", "points": "nine"}]
    page.locator("#import-file").set_input_files(
        {"name": "more.json", "mimeType": "application/json", "buffer": json.dumps({"results": rows}).encode()}
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-progress[data-status=done]")).to_be_visible()
    journey.import_counts = page.locator("#import-counts").inner_text()
    journey.import_errors = page.locator("#import-errors li").all_inner_texts()
    check_accessibility(page, "data-import", journey)
    page.goto(class_url)


def create_nested_roles(page: Page) -> None:
    """Create Admins and Staff on the Roles page, include Staff in Admins, and see the cycle back refused."""
    page.get_by_role("navigation", name="App").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Roles").first.click()
    roles_url = page.url
    for name in ("Staff", "Admins"):
        page.goto(roles_url)
        page.get_by_label("Name (letters").fill(name)
        page.get_by_role("button", name="Create role").click()
        expect(page.get_by_role("heading", name=f"role:{name}")).to_be_visible()
    page.get_by_label("Role name").fill("Staff")  # on Admins' page: Staff's users get Admins' rights
    page.get_by_role("button", name="Include role").click()
    expect(page.locator("#child-role-list")).to_contain_text("Staff")
    page.locator("#child-role-list").get_by_role("link", name="Staff").click()
    page.get_by_label("Role name").fill("Admins")
    page.get_by_role("button", name="Include role").click()
    expect(page.get_by_text("would make a cycle")).to_be_visible()


def use_console(page: Page, journey: Journey) -> None:
    page.get_by_role("navigation", name="App").get_by_role("link", name="API console").click()
    page.get_by_label("Path").fill("/classes/Score")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#console-status")).to_have_text(re.compile(r"^\d{3}$"))
    journey.console_status = page.locator("#console-status").inner_text()
    journey.console_answer = page.locator("#console-response").inner_text()
    check_accessibility(page, "api-console", journey)


def create_user_and_revoke_a_session(page: Page, base_url: str, journey: Journey) -> None:
    page.get_by_role("navigation", name="App").get_by_role("link", name="Users").click()
    page.get_by_label("Username", exact=True).fill("player1")
    page.get_by_label("Email (optional)").fill("player1@example.com")
    page.get_by_label("Password").fill("player-pass-1")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", name="player1")).to_be_visible()
    parse = {"X-Parse-Application-Id": journey.application_id, "X-Parse-REST-API-Key": journey.rest_key}
    logged_in = httpx.post(
        f"{base_url}/parse/login", headers=parse, json={"username": "player1", "password": "player-pass-1"}, timeout=10
    )
    journey.end_user_token = logged_in.json()["sessionToken"]
    page.reload()
    check_accessibility(page, "user", journey)
    for _ in range(page.locator("#session-list tbody tr").count()):  # the sign-up's session and the login's
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#session-list tbody tr").first.get_by_role("button", name="Revoke").click()
        expect(page.get_by_text("Revoked the session")).to_be_visible()
    expect(page.locator("#no-sessions")).to_be_visible()
    page.get_by_role("link", name="All users").click()
    check_accessibility(page, "users", journey)
    page.get_by_role("navigation", name="App").get_by_role("link", name="Files").click()
    expect(page.locator("#no-files")).to_be_visible()
    check_accessibility(page, "files", journey)


def create_token(page: Page, journey: Journey) -> None:
    page.get_by_role("link", name="Access tokens").click()
    page.get_by_label("Name").fill("ci read-only")
    page.get_by_label("Access").select_option("read")
    page.get_by_role("button", name="Create token").click()
    journey.token = page.locator("#new-token").input_value()
    check_accessibility(page, "tokens", journey)


def enrol_totp_and_sign_in_with_it(page: Page, base_url: str, journey: Journey) -> None:
    page.get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator("#totp-qr svg")).to_be_visible()
    check_accessibility(page, "security-enrol", journey)
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    journey.recovery_codes = page.locator("#recovery-codes li").count()
    page.get_by_role("button", name="Log out").click()
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill("nova@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/login/code/")
    check_accessibility(page, "login-code", journey)
    page.get_by_label("Code").fill(totp.at(time.time() + 30))  # the enrolment used this step's code
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{base_url}/")
    journey.signed_in_with_totp = page.get_by_role("heading", name="Your organizations").is_visible()


def allow_client_classes(page: Page, base_url: str, journey: Journey) -> None:
    page.goto(f"{base_url}/")
    page.get_by_role("link", name="Scores").first.click()
    page.locator("#allow-client-class-creation").check()
    page.locator("#class-creation").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Clients may now create classes")).to_be_visible()


def walk(base_url: str) -> Journey:
    journey = Journey()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda error: journey.page_errors.append(str(error)))
            sign_up_and_create_app(page, base_url, journey)
            build_data(page, journey)
            use_console(page, journey)
            create_user_and_revoke_a_session(page, base_url, journey)
            create_token(page, journey)
            enrol_totp_and_sign_in_with_it(page, base_url, journey)
            allow_client_classes(page, base_url, journey)
            phone = context.new_page()  # the same signed-in session, on a phone-sized screen
            phone.set_viewport_size({"width": 390, "height": 844})
            phone.goto(page.url)
            phone.screenshot(path=str(SHOTS / "journey-settings-phone.png"), full_page=True)
            phone.get_by_role("navigation", name="App").get_by_role("link", name="Data").click()
            phone.locator("#class-list").get_by_role("link", name="Score", exact=True).click()
            phone.wait_for_url(re.compile(r"/data/Score/$"))
            expect(phone.locator("#clp-form")).to_be_visible()
            phone.screenshot(path=str(SHOTS / "journey-data-class-phone.png"), full_page=True)
            journey.phone_overflow = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        finally:
            browser.close()
    return journey


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_new_developer_builds_data_and_keys_in_the_browser(live_server: LiveServer) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser)")
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make assets runs npm install)")

    journey = walk(live_server.url)
    parse = {"X-Parse-Application-Id": journey.application_id, "X-Parse-REST-API-Key": journey.rest_key}

    assert journey.page_errors == []
    blocking = {name: found for name, found in journey.violations.items() if found}
    assert blocking == {}, blocking
    assert journey.recovery_codes == 10
    assert journey.signed_in_with_totp
    assert journey.rows_after_filter == 2, "Ada (12) and Cy (30), not Bob (5)"
    assert journey.edited_cell == "15"
    assert journey.sorted_players == [["Bob", "Ada", "Cy"], ["Cy", "Ada", "Bob"]], "by points, up then down"
    assert journey.import_counts == "2 of 2 rows handled · 1 created · 1 refused"
    assert journey.import_errors == ["row 2: points is a Number column; this row has a String"]
    assert not journey.phone_overflow, "the data page fits a phone's width (tables scroll inside their box)"
    found = httpx.get(
        f"{live_server.url}/parse/classes/Score", params={"order": "player"}, headers=parse, timeout=10
    ).json()
    assert [(row["player"], row["points"]) for row in found["results"]] == [
        ("Ada", 15),
        ("Bob", 5),
        ("Dee", 7),
        ("Eve", 9),
    ]
    if NODE:  # the Parse JS SDK sees what the browser wrote (Cy hidden by its ACL)
        assert read_with_the_js_sdk(live_server.url, journey) == [["Ada", 15], ["Bob", 5], ["Dee", 7], ["Eve", 9]]
    assert journey.console_status == "200"
    assert '"player": "Ada"' in journey.console_answer
    me = httpx.get(
        f"{live_server.url}/parse/users/me", headers={**parse, "X-Parse-Session-Token": journey.end_user_token}
    )
    assert me.json()["code"] == 209, "the session revoked in the dashboard no longer works"
    api = {"Authorization": f"Bearer {journey.token}"}
    assert httpx.get(f"{live_server.url}/api/v1/me", headers=api, timeout=10).status_code == 200
    assert httpx.post(f"{live_server.url}/api/v1/organizations", headers=api, json={"name": "x"}).status_code == 403
    created = httpx.post(f"{live_server.url}/parse/classes/Fresh", headers=parse, json={"ok": True}, timeout=10)
    assert created.status_code == 201, created.text
