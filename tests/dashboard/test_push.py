"""The app's push console: compose and send (one code path with POST /parse/push), the builder's live count,
saved audiences, campaigns' status; by role, across tenants, and attacked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import Client
from django.urls import reverse

from hangar.caller import Caller
from hangar.datastore import objects
from hangar.messaging.adapters.base import DeliveryOutcome, OutcomeKind
from tenants.models import AuditEvent
from tests.conftest import Tenant
from tests.dashboard.conftest import AddMember, logged_in
from tests.messaging.engine_support import RecordingProvider

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(tenant: Tenant, name: str, *extra: object) -> str:
    return reverse(f"dashboard:{name}", args=[tenant.organization.pk, tenant.app.pk, *extra])


def _install(tenant: Tenant, installation_id: str, **fields: Any) -> str:
    body = {"installationId": installation_id, "deviceType": "android", **fields}
    _, object_id = async_to_sync(objects.object_create)(
        caller=Caller(app_pk=tenant.app.pk, is_master=True), class_name="_Installation", body=body, files_base=""
    )
    return object_id


def _rows(tenant: Tenant, class_name: str) -> list[tuple[str, dict[str, Any]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT object_id, data FROM datastore_object WHERE app_id = %s AND class_name = %s ORDER BY created_at",
            [tenant.app.pk, class_name],
        )
        return [(oid, data if isinstance(data, dict) else json.loads(data)) for oid, data in cursor.fetchall()]


def _campaign_set(tenant: Tenant, campaign_id: str, **fields: Any) -> None:
    """Move a campaign as the delivery engine does (hangar.messaging.push_status): a jsonb merge of its row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE datastore_object SET data = data || %s::jsonb, updated_at = now() "
            "WHERE app_id = %s AND class_name = '_PushStatus' AND object_id = %s",
            [json.dumps(fields), tenant.app.pk, campaign_id],
        )


def _form(**values: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"alert": "", "target": "all", "when": "now", "expire": "never"}
    form.update(values)
    return form


def _count(client: Client, tenant: Tenant, **values: Any) -> str:
    response = client.post(_url(tenant, "push_count"), _form(**values), **HTMX)
    assert response.status_code == 200, response.content
    return response.content.decode()


def test_a_developer_counts_a_channel_live_sends_to_it_and_follows_the_campaign(tenant_a: Tenant, settings: Any):
    settings.HANGAR_PUSH_PROVIDER_FOR = "tests.dashboard.test_push.console_provider_for"
    _install(tenant_a, "i-1", channels=["news"], deviceToken="t1")
    _install(tenant_a, "i-2", channels=["news", "sports"], deviceType="ios", deviceToken="a" * 64)
    _install(tenant_a, "i-3", channels=["sports"], deviceToken="t3")
    client = logged_in(tenant_a.developer)
    assert "Push" in client.get(_url(tenant_a, "app_settings")).content.decode()

    assert 'data-count="2"' in _count(client, tenant_a, target="channels", channels="news")
    assert 'data-count="3"' in _count(client, tenant_a, target="channels", channels="news, sports")
    assert 'data-count="3"' in _count(client, tenant_a, target="all")
    assert "device token" not in _count(client, tenant_a, target="all")  # every one has a token

    sent = client.post(
        _url(tenant_a, "push_send"),
        _form(alert="Hello", title="News", badge="Increment", sound="default", data='{"uri": "app://news"}',
              target="channels", channels="news"),
    )  # fmt: skip
    [(campaign_id, row)] = _rows(tenant_a, "_PushStatus")
    assert sent.status_code == 302
    assert sent["Location"] == _url(tenant_a, "push_campaign", campaign_id)
    assert row["source"] == "webui"
    assert json.loads(row["query"]) == {"channels": {"$in": ["news"]}}
    assert json.loads(row["payload"]) == {
        "alert": "Hello", "title": "News", "sound": "default", "badge": "Increment", "uri": "app://news"
    }  # fmt: skip
    assert row["title"] == "News"
    assert AuditEvent.objects.filter(action="push.send", details__campaign=campaign_id).exists()

    page = client.get(_url(tenant_a, "push")).content.decode()
    assert f'data-campaign="{campaign_id}"' in page
    detail = client.get(sent["Location"]).content.decode()
    assert "Hello" in detail
    assert "webui" in detail


def test_the_builder_counts_rows_on_built_in_and_custom_fields_and_saves_an_audience(tenant_a: Tenant):
    _install(tenant_a, "i-1", deviceType="ios", appVersion="2.1", plan="pro", seats=3)
    _install(tenant_a, "i-2", deviceType="ios", appVersion="1.0", plan="free", seats=1)
    _install(tenant_a, "i-3", deviceType="android", appVersion="2.5", plan="pro", seats=10)
    client = logged_in(tenant_a.developer)
    page = client.get(_url(tenant_a, "push")).content.decode()
    assert '<option value="plan">' in page  # custom fields are offered
    assert '<option value="deviceToken">' not in page

    def where(*rows: tuple[str, str, str]) -> dict[str, Any]:
        return {"target": "where", "row_field": [r[0] for r in rows], "row_op": [r[1] for r in rows],
                "row_value": [r[2] for r in rows]}  # fmt: skip

    assert 'data-count="2"' in _count(client, tenant_a, **where(("deviceType", "eq", "ios"), ("", "eq", "")))
    assert 'data-count="1"' in _count(client, tenant_a, **where(("deviceType", "eq", "ios"), ("plan", "eq", "pro")))
    assert 'data-count="2"' in _count(client, tenant_a, **where(("seats", "gt", "2")))  # typed as a number
    assert 'data-count="1"' in _count(client, tenant_a, **where(("appVersion", "gt", "2"), ("appVersion", "lt", "2.2")))
    rows = (("plan", "in", "free, nobody"), ("deviceType", "ne", "x"), ("appVersion", "exists", ""))
    counted = _count(client, tenant_a, **where(*rows))
    assert 'data-count="1"' in counted
    assert 'data-reachable="0"' in counted  # none of them has a device token: a send reaches nobody
    assert 'data-count="0"' in _count(client, tenant_a, **where(("appName", "exists", "")))

    saved = client.post(
        _url(tenant_a, "push_audience_create"), {**where(("plan", "eq", "pro")), "audience_name": "Pro"}
    )
    assert saved.status_code == 302
    [(audience_id, audience)] = _rows(tenant_a, "_Audience")
    assert (audience["name"], json.loads(audience["query"])) == ("Pro", {"plan": "pro"})
    page = client.get(_url(tenant_a, "push")).content.decode()
    assert f'data-audience="{audience_id}"' in page
    counted = client.get(_url(tenant_a, "push_audience_count", audience_id), **HTMX).content.decode()
    assert 'data-count="2"' in counted
    assert 'data-count="2"' in _count(client, tenant_a, target="audience", audience_id=audience_id)

    client.post(_url(tenant_a, "push_send"), _form(alert="For pros", target="audience", audience_id=audience_id))
    [(_, campaign)] = _rows(tenant_a, "_PushStatus")
    assert json.loads(campaign["query"]) == {"plan": "pro"}
    [(_, audience)] = _rows(tenant_a, "_Audience")
    assert audience["timesUsed"] == 1  # the same path as POST /push: the audience's use is counted

    assert client.post(_url(tenant_a, "push_audience_delete", audience_id)).status_code == 302
    assert _rows(tenant_a, "_Audience") == []
    assert client.post(_url(tenant_a, "push_audience_delete", audience_id)).status_code == 404


def test_a_form_sent_twice_records_one_campaign(tenant_a: Tenant):
    client = logged_in(tenant_a.developer)
    page = client.get(_url(tenant_a, "push")).content.decode()
    once = page.split('name="once" value="', 1)[1].split('"', 1)[0]
    assert len(once) >= 16
    refused = client.post(_url(tenant_a, "push_send"), _form(alert="Twice", badge="x", once=once))
    assert refused.status_code == 400
    assert f'name="once" value="{once}"' in refused.content.decode()  # the corrected form keeps its token
    first = client.post(_url(tenant_a, "push_send"), _form(alert="Twice", once=once))
    second = client.post(_url(tenant_a, "push_send"), _form(alert="Twice", once=once))  # a double click
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert len(_rows(tenant_a, "_PushStatus")) == 1
    client.post(_url(tenant_a, "push_send"), _form(alert="Twice", once="another-form"))
    assert len(_rows(tenant_a, "_PushStatus")) == 2


def test_schedules_utc_and_local_and_expiries_are_recorded_as_parse_does(tenant_a: Tenant):
    client = logged_in(tenant_a.developer)
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(_url(tenant_a, "push_send"), _form(alert="utc", when="at", push_time=later, expire="after",
                                                   expire_minutes="10"))  # fmt: skip
    client.post(_url(tenant_a, "push_send"), _form(alert="local", when="local", push_time="2031-01-02T09:30",
                                                   expire="at", expire_at="2031-01-03T00:00"))  # fmt: skip
    rows = {json.loads(data["payload"])["alert"]: data for _, data in _rows(tenant_a, "_PushStatus")}
    assert rows["utc"]["pushTime"] == later + ":00.000Z"
    assert rows["utc"]["status"] == "scheduled"
    assert rows["utc"]["expiration_interval"] == 600
    assert rows["local"]["pushTime"] == "2031-01-02T09:30:00.000"  # no zone: each installation's local time
    assert rows["local"]["status"] == "scheduled"
    assert rows["local"]["expiry"] == int(datetime(2031, 1, 3, tzinfo=UTC).timestamp() * 1000)
    page = client.get(_url(tenant_a, "push")).content.decode()
    assert "2031-01-02T09:30:00.000 local" in page


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"target": "where", "row_field": "deviceToken", "row_op": "eq", "row_value": "abc"}, "deviceToken is hidden"),
        (
            {"target": "where", "row_field": "installationId", "row_op": "gt", "row_value": "a"},
            "installationId is hidden",
        ),
        (
            {"target": "where", "row_field": "_rperm", "row_op": "exists", "row_value": ""},
            "_rperm is an internal field",
        ),
        ({"target": "where", "row_field": "_hashed_password", "row_op": "eq", "row_value": "x"}, "internal field"),
        ({"target": "where", "row_field": "ACL", "row_op": "exists", "row_value": ""}, "ACL is an internal field"),
        (
            {"target": "where", "row_field": "nope", "row_op": "eq", "row_value": "x"},
            "Installations have no field nope",
        ),
        ({"target": "where", "row_field": "badge", "row_op": "eq", "row_value": "many"}, "badge is a number"),
        ({"target": "where", "row_field": "deviceType", "row_op": "regex", "row_value": "."}, "Unknown operator"),
        ({"target": "channels", "channels": " , "}, "Name at least one channel"),
        ({"badge": "lots"}, "Badge is a number or Increment"),
        ({"data": "{not json"}, "Custom data must be JSON"),
        ({"data": "[1, 2]"}, "Custom data must be a JSON object"),
        ({"data": '{"alert": "again"}'}, "Custom data repeats alert"),
        ({"when": "at", "push_time": "2001-01-01T00:00"}, "That time has passed"),
        ({"when": "at", "push_time": "soon"}, "Give a date and time"),
        ({"expire": "after", "expire_minutes": "0"}, "at least one minute"),
        ({"target": "audience", "audience_id": "missing"}, "Audience not found."),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_records_nothing(
    tenant_a: Tenant, values: dict[str, Any], message: str
):
    client = logged_in(tenant_a.developer)
    response = client.post(_url(tenant_a, "push_send"), _form(alert="Hi", **values))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _rows(tenant_a, "_PushStatus") == []
    if values.get("target") == "where":  # the live count refuses the same rows, with the same words
        assert message in _count(client, tenant_a, **values)
        saved = client.post(_url(tenant_a, "push_audience_create"), {**_form(**values), "audience_name": "x"})
        assert saved.status_code == 400
        assert _rows(tenant_a, "_Audience") == []


def test_an_empty_push_and_a_count_without_javascript(tenant_a: Tenant):
    _install(tenant_a, "i-1", channels=["news"])
    client = logged_in(tenant_a.developer)
    empty = client.post(_url(tenant_a, "push_send"), _form())
    assert "Write an alert" in empty.content.decode()
    plain = client.post(_url(tenant_a, "push_count"), _form(alert="kept", target="channels", channels="news"))
    page = plain.content.decode()
    assert plain.status_code == 200
    assert 'data-count="1"' in page
    assert ">kept</textarea>" in page  # the form comes back as typed
    more = client.post(_url(tenant_a, "push_send"), {**_form(target="where"), "action": "add_row",
                                                     "row_field": ["a", "b", "c"], "row_op": ["eq"] * 3,
                                                     "row_value": ["1", "2", "3"]})  # fmt: skip
    assert more.content.decode().count('name="row_field"') == 4
    assert _rows(tenant_a, "_PushStatus") == []


def test_campaign_status_counts_and_errors_and_polling_while_it_moves(tenant_a: Tenant):
    client = logged_in(tenant_a.developer)
    client.post(_url(tenant_a, "push_send"), _form(alert="Later", when="local", push_time="2031-01-02T09:30"))
    [(campaign_id, _)] = _rows(tenant_a, "_PushStatus")
    assert 'hx-trigger="every 30s"' in client.get(_url(tenant_a, "push_campaign", campaign_id)).content.decode()
    _campaign_set(
        tenant_a, campaign_id, status="running", numSent=7, numFailed=2, count=10,
        sentPerType={"ios": 4, "android": 3}, failedPerType={"android": 2}, sentPerUTCOffset={"-7": 7},
        failedPerUTCOffset={"5.5": 2},
    )  # fmt: skip
    listed = client.get(_url(tenant_a, "push_campaigns"), **HTMX).content.decode()
    assert 'hx-trigger="every 2s"' in listed
    detail = client.get(_url(tenant_a, "push_campaign", campaign_id)).content.decode()
    assert 'hx-trigger="every 2s"' in detail
    assert "<td>android</td><td>3</td><td>2</td>" in detail
    assert "<td>ios</td><td>4</td><td>0</td>" in detail
    assert "<td>-7</td><td>7</td><td>0</td>" in detail
    assert detail.index("<td>-7</td>") < detail.index("<td>5.5</td>")
    assert "local time" in detail

    _campaign_set(tenant_a, campaign_id, status="failed", errorMessage="No installation was reached.")
    fragment = client.get(_url(tenant_a, "push_campaign", campaign_id), **HTMX).content.decode()
    assert "hx-trigger" not in fragment  # a finished campaign stops polling
    assert "No installation was reached." in fragment
    assert "hx-trigger" not in client.get(_url(tenant_a, "push_campaigns"), **HTMX).content.decode()
    assert client.get(_url(tenant_a, "push_campaigns")).status_code == 302  # without htmx: the console's page
    assert client.get(_url(tenant_a, "push_campaign", "nope")).status_code == 404


def test_html_in_an_alert_is_shown_as_text(tenant_a: Tenant):
    client = logged_in(tenant_a.developer)
    alert = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    sent = client.post(_url(tenant_a, "push_send"), _form(alert=alert, title="<b>t</b>", data='{"k": "<i>v</i>"}'))
    for page in (client.get(sent["Location"]), client.get(_url(tenant_a, "push"))):
        body = page.content.decode()
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "<i>v</i>" not in body
        assert "&lt;script&gt;" in body
    [(_, row)] = _rows(tenant_a, "_PushStatus")
    assert json.loads(row["payload"])["alert"] == alert  # stored as typed; escaped only on the page


def test_a_viewer_sees_campaigns_and_audiences_but_cannot_send_count_or_change(tenant_a: Tenant, add_member: AddMember):
    owner = logged_in(tenant_a.developer)
    owner.post(_url(tenant_a, "push_send"), _form(alert="From the owner"))
    owner.post(_url(tenant_a, "push_audience_create"), {**_form(target="channels", channels="news"),
                                                        "audience_name": "News"})  # fmt: skip
    [(audience_id, _)] = _rows(tenant_a, "_Audience")
    viewer = logged_in(add_member(tenant_a, "vic", "viewer").developer)
    page = viewer.get(_url(tenant_a, "push")).content.decode()
    assert "From the owner" in page
    assert "News" in page
    assert "Send push" not in page
    assert "push/audiences/" + audience_id + "/delete" not in page
    assert viewer.get(_url(tenant_a, "push_audience_count", audience_id), **HTMX).status_code == 200
    before = (_rows(tenant_a, "_PushStatus"), _rows(tenant_a, "_Audience"))
    for name, args, data in [
        ("push_send", [], _form(alert="pwned")),
        ("push_count", [], _form(target="where", row_field="plan", row_op="eq", row_value="x")),
        ("push_audience_create", [], {**_form(), "audience_name": "mine"}),
        ("push_audience_delete", [audience_id], {}),
    ]:
        response = viewer.post(_url(tenant_a, name, *args), data)
        assert response.status_code == 403, name
        assert "developer role" in response.content.decode()
    assert (_rows(tenant_a, "_PushStatus"), _rows(tenant_a, "_Audience")) == before
    developer = logged_in(add_member(tenant_a, "dev", "developer").developer)
    assert developer.post(_url(tenant_a, "push_send"), _form(alert="dev")).status_code == 302


def test_a_post_without_the_csrf_token_is_refused(tenant_a: Tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_a.developer)
    for name in ("push_send", "push_count", "push_audience_create"):
        response = client.post(_url(tenant_a, name), _form(alert="forged", audience_name="forged"))
        assert response.status_code == 403, name
    assert _rows(tenant_a, "_PushStatus") == []
    assert _rows(tenant_a, "_Audience") == []


def test_another_apps_campaign_and_audience_ids_reach_nothing(tenant_a: Tenant, tenant_b: Tenant):
    bob = logged_in(tenant_b.developer)
    bob.post(_url(tenant_b, "push_send"), _form(alert="Bob's secret campaign"))
    bob.post(_url(tenant_b, "push_audience_create"), {**_form(target="channels", channels="vip"),
                                                      "audience_name": "Bob VIPs"})  # fmt: skip
    [(campaign_id, _)] = _rows(tenant_b, "_PushStatus")
    [(audience_id, _)] = _rows(tenant_b, "_Audience")
    alice = logged_in(tenant_a.developer)
    assert alice.get(_url(tenant_a, "push_campaign", campaign_id)).status_code == 404
    assert alice.get(_url(tenant_a, "push_audience_count", audience_id)).status_code == 404
    assert alice.post(_url(tenant_a, "push_audience_delete", audience_id)).status_code == 404
    counted = _count(alice, tenant_a, target="audience", audience_id=audience_id)
    assert "Audience not found." in counted
    sent = alice.post(_url(tenant_a, "push_send"), _form(alert="x", target="audience", audience_id=audience_id))
    assert sent.status_code == 400
    page = alice.get(_url(tenant_a, "push")).content.decode()
    assert "Bob&#x27;s secret campaign" not in page
    assert "Bob VIPs" not in page
    assert len(_rows(tenant_b, "_Audience")) == 1
    assert _rows(tenant_a, "_PushStatus") == []


# A provider *adapter* double (the engine and the console are under test, not the provider):
# named by path in HANGAR_PUSH_PROVIDER_FOR, as a worker imports it. Android tokens are
# accepted; iOS ones are refused as a provider refuses a bad token.
CONSOLE_PROVIDER = RecordingProvider(
    script=lambda target, _before: (
        DeliveryOutcome(OutcomeKind.FAILED, error="BadDeviceToken")
        if target.device_type == "ios"
        else DeliveryOutcome.sent()
    )
)


async def console_provider_for(*, app_pk: int, device_type: str, push_type: str | None) -> RecordingProvider:
    return CONSOLE_PROVIDER


def test_a_console_send_runs_through_the_engine_and_its_page_shows_the_outcome(tenant_a: Tenant, settings: Any):
    settings.HANGAR_PUSH_PROVIDER_FOR = "tests.dashboard.test_push.console_provider_for"
    CONSOLE_PROVIDER.sends.clear()
    _install(tenant_a, "a-1", channels=["news"], deviceToken="tok-a1")
    _install(tenant_a, "a-2", channels=["news"], deviceToken="tok-a2")
    _install(tenant_a, "i-1", channels=["news"], deviceToken="f" * 64, deviceType="ios")
    _install(tenant_a, "a-3", channels=["sports"], deviceToken="tok-a3")
    client = logged_in(tenant_a.developer)

    sent = client.post(_url(tenant_a, "push_send"), _form(alert="Through the engine", target="channels",
                                                         channels="news"))  # fmt: skip
    detail = client.get(sent["Location"]).content.decode()  # Celery runs eagerly in the tests: the send is over

    assert sorted(t.device_token for _, t in CONSOLE_PROVIDER.sends) == sorted(["tok-a1", "tok-a2", "f" * 64])
    assert {n.data["alert"] for n, _ in CONSOLE_PROVIDER.sends} == {"Through the engine"}
    assert 'id="campaign-state">succeeded<' in detail
    assert '<strong id="campaign-sent">2</strong>' in detail
    assert '<strong id="campaign-failed">1</strong>' in detail
    assert "<td>android</td><td>2</td><td>0</td>" in detail
    assert "<td>ios</td><td>0</td><td>1</td>" in detail
    assert '<span class="mono">BadDeviceToken</span>: 1' in detail
    assert "hx-trigger" not in detail  # over: no polling


def test_an_audience_whose_query_no_longer_runs_says_so(tenant_a: Tenant):
    _, audience_id = async_to_sync(objects.object_create)(
        caller=Caller(app_pk=tenant_a.app.pk, is_master=True), class_name="_Audience",
        body={"name": "Broken", "query": json.dumps({"seats": {"$bogus": 1}})}, files_base="",
    )  # fmt: skip
    client = logged_in(tenant_a.developer)
    assert "Broken" in client.get(_url(tenant_a, "push")).content.decode()
    counted = client.get(_url(tenant_a, "push_audience_count", audience_id), **HTMX)
    assert counted.status_code == 200
    assert "data-count-problem" in counted.content.decode()
    sent = client.post(_url(tenant_a, "push_send"), _form(alert="x", target="audience", audience_id=audience_id))
    assert sent.status_code == 400
    assert "$bogus" in sent.content.decode()
    assert _rows(tenant_a, "_PushStatus") == []
