"""The push benchmark's parts: the local FCM v1 endpoint, the FCM HTTP double that talks to it, the report."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from bench.fcm_push_double import FcmHttpPushDouble
from bench.push import PushResult, render_push
from bench.run import PUSH_CAMPAIGN, parse_args, split_selection
from hangar.messaging.adapters.base import OutcomeKind, PushNotification, PushTarget
from tests.conftest import REPO_DIR, _free_port
from tests.faults.conftest import _wait_for_port


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fcm_endpoint", "--port", str(port)], cwd=REPO_DIR,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_port(port, process, "fcm endpoint")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=10)


def _target(token: str, delivery_id: str = "") -> PushTarget:
    return PushTarget(installation_object_id=token, device_type="android", device_token=token, delivery_id=delivery_id)


async def test_the_double_speaks_fcm_v1_and_maps_answers_to_outcomes(endpoint: str):
    httpx.post(f"{endpoint}/reset")
    double = FcmHttpPushDouble(endpoint)
    notification = PushNotification(data={"alert": "hi", "badge": 3, "extra": {"a": 1}}, push_id="c1")
    outcomes = await double.send_push(
        notification, [_target("tok-1", "11"), _target("unregistered-2", "12"), _target("tok-3", "13")]
    )
    assert [o.kind for o in outcomes] == [OutcomeKind.SENT, OutcomeKind.INVALID_TOKEN, OutcomeKind.SENT]
    assert outcomes[0].provider_message_id.startswith("projects/hangar-bench/messages/")
    assert outcomes[1].error == "UNREGISTERED"
    await double.send_push(notification, [_target("tok-1", "11")])  # a resend under the same id
    await double.send_push(notification, [_target("tok-3", "99")])  # a second, different message
    stats = httpx.get(f"{endpoint}/stats").json()
    assert (stats["messages"], stats["tokens"], stats["tokens_more_than_once"]) == (4, 2, 2)
    assert stats["tokens_under_two_collapse_keys"] == 1


def test_the_endpoint_refuses_what_fcm_refuses(endpoint: str):
    url = f"{endpoint}/v1/projects/p/messages:send"
    assert httpx.post(url, json={"message": {"token": "t"}}).status_code == 401
    bearer = {"Authorization": "Bearer x"}
    bad = httpx.post(url, json={"message": {"token": "t", "topic": "news"}}, headers=bearer)
    assert bad.status_code == 400
    assert bad.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert httpx.post(url, json={"message": {"token": "t", "data": {"n": 1}}}, headers=bearer).status_code == 400
    assert httpx.post(url, json={"message": {"token": "t", "data": {"n": "1"}}}, headers=bearer).status_code == 200


def test_push_campaign_is_a_workload_of_its_own():
    assert split_selection([PUSH_CAMPAIGN]) == ([], False, False)
    args = parse_args(["--workloads", PUSH_CAMPAIGN, "--push-installations", "1000", "--push-workers", "3"])
    assert (args.push_installations, args.push_workers) == (1000, 3)


def test_the_report_says_whether_the_target_was_met():
    result = PushResult(
        installations=100_000, workers=2, path="POST /parse/push", seconds_to_last_delivery=16.0,
        seconds_to_succeeded=16.2, notifications_per_second=6250.0, messages_at_endpoint=100_000,
        tokens_at_endpoint=100_000, duplicates=0, worker_cpu_ms_per_notification=0.09,
        endpoint_cpu_ms_per_notification=0.04, machine_busy_share=0.5, backing_cpu_ms_per_notification=0.1,
    )  # fmt: skip
    text = render_push(result)
    assert "6250 notifications/s (target >= 5000: met)" in text
    assert "100000 messages to 100000 tokens, 0 tokens more than once" in text
