"""A build's log, live over a WebSocket from the served ASGI application, line for line as kept."""

from __future__ import annotations

import json
import threading

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from hangar.builds import queue
from hangar.builds.log_stream import log_token
from hangar.builds.models import Build, BuildLogLine, BuildProfile
from hangar.builds.runner import build_execute
from tests.builds.conftest import requires_toolchain, save_profile, upload_credential
from tests.conftest import make_tenant
from tests.tenants.conftest import client_for

pytestmark = [requires_toolchain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _frames(url: str) -> list[dict]:  # type: ignore[type-arg]
    frames = []
    with connect(url, open_timeout=10, close_timeout=5) as socket:
        while True:
            frame = json.loads(socket.recv(timeout=60))
            frames.append(frame)
            if "state" in frame:
                return frames


def test_the_log_streams_while_the_build_runs_then_its_end(live_server, queued_in_broker, pkcs12_keystore):  # type: ignore[no-untyped-def]
    tenant = make_tenant("streamer")
    client = client_for(tenant.developer)
    assert upload_credential(client, tenant, pkcs12_keystore).status_code == 201
    assert save_profile(client, tenant).status_code == 201
    build = queue.build_request(app=tenant.app, profile=BuildProfile.objects.get(app=tenant.app))
    url = live_server.url.replace("http://", "ws://") + f"/builds/log/{log_token(build)}"
    received: list[dict] = []  # type: ignore[type-arg]
    reader = threading.Thread(target=lambda: received.extend(_frames(url)))
    reader.start()
    claimed = queue.build_claim(platform="android", agent="test")
    assert claimed is not None
    assert build_execute(claimed, agent="test").state == "succeeded"
    reader.join(timeout=90)
    assert received[-1] == {"state": "succeeded"}
    kept = list(BuildLogLine.objects.filter(build=build).order_by("seq").values("seq", "step", "text"))
    assert received[:-1] == kept  # every line once, in order, as kept
    assert any("smali assemble" in line["text"] for line in kept)
    # A socket opened after the end gets the lines after its cursor, then the state.
    later = _frames(url + f"?after={kept[-3]['seq']}")
    assert later == [*kept[-2:], {"state": "succeeded"}]


def test_a_forged_or_foreign_token_opens_nothing(live_server, tenant_a):  # type: ignore[no-untyped-def]
    from django.core import signing

    base = live_server.url.replace("http://", "ws://") + "/builds/log/"
    forged = signing.dumps({"b": "x" * 32, "a": tenant_a.app.pk}, salt="hangar.builds.artifact", compress=True)
    for token in ("garbage", forged):
        with pytest.raises(InvalidStatus), connect(base + token, open_timeout=10):
            pass
    unknown = signing.dumps({"b": "0" * 32, "a": tenant_a.app.pk}, salt="hangar.builds.log", compress=True)
    with pytest.raises(InvalidStatus), connect(base + unknown, open_timeout=10):
        pass
    assert not Build.objects.exists()
