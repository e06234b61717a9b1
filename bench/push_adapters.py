"""The push adapters' own throughput: pushes per second of one process against a local endpoint.

The FCM endpoint (tests/messaging/endpoints/fcm.py) runs as a process of its own; this
process sends ``--pushes`` notifications through ``FcmPushProvider`` (``--concurrency`` in
flight) and, with ``--apns``, as many through ``ApnsPushProvider`` to the local HTTP/2 TLS
endpoint (in this process: its figure includes the server's work). Each mode runs twice,
alternating, since the machine is shared: the figure is the better of the two. The
endpoint's count per device token shows every push arrived exactly once.

    .venv/bin/python bench/push_adapters.py [--pushes 3000] [--concurrency 32] [--apns]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import json
import os
import socket
import subprocess
import tempfile
import time
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.HANGAR_EGRESS_ALLOW_PRIVATE = ["127.0.0.1/32", "::1/128"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _rate(provider: Any, data: dict[str, Any], targets: list[Any]) -> tuple[float, float, int]:
    """(pushes per second, this process's CPU ms per push, pushes sent)."""
    from hangar.messaging.adapters.base import PushNotification

    started, cpu = time.perf_counter(), time.process_time()
    outcomes = await provider.send_push(PushNotification(data=data, push_id="bench"), targets)
    elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu
    return len(targets) / elapsed, 1000 * cpu_used / len(targets), sum(o.kind.value == "sent" for o in outcomes)


async def _fcm(pushes: int, concurrency: int, work: Path) -> None:
    from hangar.messaging.adapters.base import PushTarget
    from hangar.messaging.adapters.fcm import FcmPushProvider

    port = _free_port()
    account_path = work / "fcm-service-account.json"
    endpoint = subprocess.Popen(
        [sys.executable, "-m", "tests.messaging.endpoints.fcm", "--port", str(port),
         "--service-account-out", str(account_path)], cwd=ROOT,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/_stats", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        account = json.loads(account_path.read_text())
        for run in range(2):
            provider = FcmPushProvider(
                service_account=account, base_url=f"http://127.0.0.1:{port}", concurrency=concurrency
            )
            targets = [PushTarget(f"i{i}", "android", f"bench-{run}-{i:08d}") for i in range(pushes)]
            rate, cpu_ms, sent = await _rate(provider, {"alert": "bench", "title": "Hangar"}, targets)
            print(f"fcm   run {run + 1}: {rate:7.0f} pushes/s  {cpu_ms:.2f} CPU ms/push  sent {sent}/{pushes}")
        stats = httpx.get(f"http://127.0.0.1:{port}/_stats").json()
        print(f"fcm endpoint: {stats['received']} received, {stats['tokens']} tokens, {stats['duplicates']} duplicates")
    finally:
        endpoint.terminate()
        endpoint.wait(10)


async def _apns(pushes: int, concurrency: int, work: Path) -> None:
    from django.conf import settings

    from hangar.messaging.adapters.apns import ApnsPushProvider
    from hangar.messaging.adapters.base import PushTarget
    from tests.messaging.endpoints.apns import ApnsEndpoint

    endpoint = ApnsEndpoint(certs_dir=work / "apns").start()
    settings.HANGAR_EGRESS_EXTRA_CA_BUNDLE = str(endpoint.ca_path)
    key_id, pem = endpoint.signing_key()
    try:
        for run in range(2):
            provider = ApnsPushProvider(
                key_pem=pem, key_id=key_id, team_id="TEAM123456", topic="com.example.app", base_url=endpoint.url,
                concurrency=concurrency,
            )  # fmt: skip
            targets = [PushTarget(f"i{i}", "ios", f"{run:02x}{i:062x}") for i in range(pushes)]
            rate, cpu_ms, sent = await _rate(provider, {"alert": "bench"}, targets)
            print(
                f"apns  run {run + 1}: {rate:7.0f} pushes/s  {cpu_ms:.2f} CPU ms/push  sent {sent}/{pushes} (+ server)"
            )
        print(f"apns endpoint: {len(endpoint.protocols)} connection(s), all {set(endpoint.protocols)}")
    finally:
        endpoint.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pushes", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--apns", action="store_true", help="also the APNs adapter over HTTP/2")
    args = parser.parse_args()
    _setup_django()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as work:
        asyncio.run(_fcm(args.pushes, args.concurrency, Path(work)))
        if args.apns:
            asyncio.run(_apns(args.pushes, args.concurrency, Path(work)))


if __name__ == "__main__":
    main()
