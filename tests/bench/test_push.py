"""The push benchmark's parts: the adapters' FCM server as the benchmark runs it (a process, OAuth included),
counted per token and collapse key, reached by the real FCM adapter; the report."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.push import PushResult, render_push
from bench.run import PUSH_CAMPAIGN, parse_args, split_selection
from hangar.messaging.adapters.base import OutcomeKind, PushNotification, PushTarget
from hangar.messaging.adapters.fcm import FcmPushProvider
from tests.conftest import REPO_DIR, _free_port
from tests.faults.conftest import _wait_for_port


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    port = _free_port()
    account = Path(tmp_path_factory.mktemp("fcm")) / "service-account.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.messaging.endpoints.fcm", "--port", str(port),
         "--service-account-out", str(account)],
        cwd=REPO_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_port(port, process, "fcm endpoint")
        yield f"http://127.0.0.1:{port}", json.loads(account.read_text())
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def _egress_reaches_loopback(settings: Any) -> None:
    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32"]


def _target(token: str) -> PushTarget:
    return PushTarget(installation_object_id=token, device_type="android", device_token=token)


async def test_the_endpoint_process_counts_tokens_and_collapse_keys_the_adapter_sends(
    endpoint: tuple[str, dict[str, Any]],
):
    url, account = endpoint
    httpx.post(f"{url}/_reset")
    httpx.post(f"{url}/_configure", json={"unregistered": ["unregistered-2"]})
    adapter = FcmPushProvider(service_account=account, base_url=url)
    first = PushNotification(data={"alert": "hi", "extra": {"a": 1}}, push_id="c1")
    outcomes = await adapter.send_push(first, [_target("token-0001"), _target("unregistered-2"), _target("token-0003")])
    assert [o.kind for o in outcomes] == [OutcomeKind.SENT, OutcomeKind.INVALID_TOKEN, OutcomeKind.SENT]
    await adapter.send_push(first, [_target("token-0001")])  # a resend of the same campaign
    await adapter.send_push(PushNotification(data={"alert": "2"}, push_id="c2"), [_target("token-0003")])
    stats = httpx.get(f"{url}/_stats").json()
    assert (stats["received"], stats["tokens"], stats["duplicates"]) == (4, 2, 2)
    assert stats["tokens_under_two_collapse_keys"] == 1  # token-0003 got two different campaigns
    assert stats["tokens_without_collapse_key"] == 0
    assert stats["token_requests"] == 1  # one OAuth exchange, cached
    assert stats["first_at"] <= stats["last_at"]


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
