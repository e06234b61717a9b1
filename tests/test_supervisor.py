"""`make run`'s supervisor keeps the service up: a killed child comes back, a crash loop stops the group.

Web workers are uvicorn's own processes (`--workers`), restarted by uvicorn; the launcher restarts uvicorn
itself, the Celery worker and beat.
"""

from __future__ import annotations

import itertools
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx
import psutil
import pytest

from hangar import launcher
from tests.conftest import make_tenant
from tests.test_launcher import Launch, _wait_for_worker_and_beat, external_services_env  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _celery_worker(launch: Launch) -> psutil.Process:
    for process in launch.descendants():
        try:
            command = " ".join(process.cmdline())
        except psutil.Error:
            continue
        if " worker" in command and process.parent().pid == launch.process.pid:
            return process
    raise AssertionError("no celery worker child")


def _command(process: psutil.Process) -> str:
    """A process's command line; empty for one that is gone or a zombie not yet reaped by its parent."""
    try:
        return "" if process.status() == psutil.STATUS_ZOMBIE else " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _web_workers(launch: Launch) -> list[psutil.Process]:
    """uvicorn's worker processes (children of its own supervisor)."""
    web = [p for p in launch.descendants() if "uvicorn" in _command(p) and p.parent().pid == launch.process.pid]
    assert web, "no uvicorn child"
    # Workers are multiprocessing spawns; the resource tracker is a child too but serves nothing.
    return [p for p in web[0].children() if "spawn_main" in _command(p)]


LOAD_LOOPS = 4


@dataclass
class LoadRecord:
    """What a bounded load loop saw: (start time, status or None for a failed connection) per request."""

    answers: list[tuple[float, int | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _load(url: str, headers: dict[str, str], until: threading.Event, record: LoadRecord) -> None:
    # One keep-alive client per loop, as a real client would use: a request in flight on the killed
    # worker (or sent on its connection before the client saw it close) fails, and the next one
    # opens a new connection that the surviving worker accepts.
    with httpx.Client(timeout=5) as client:
        while not until.is_set():
            started = time.monotonic()
            try:
                record.answers.append((started, client.get(url, headers=headers).status_code))
            except httpx.TransportError as exc:
                record.answers.append((started, None))
                record.errors.append(repr(exc))
            time.sleep(0.01)


def test_killed_children_are_restarted_while_the_api_keeps_serving(tmp_path, external_services_env):  # noqa: F811
    """kill -9 of one of two web workers and of the Celery worker under a load of data reads: the other web
    worker serves throughout, only requests in flight on the killed one fail, and both children are back."""
    tenant = make_tenant("steady")
    launch = Launch({**external_services_env, "WEB_CONCURRENCY": "2"}, tmp_path / "var")
    until, records, loops = threading.Event(), [LoadRecord() for _ in range(LOAD_LOOPS)], []
    try:
        launch.wait_until_serving()
        _wait_for_worker_and_beat(launch)
        worker = _celery_worker(launch)
        web_workers = _web_workers(launch)
        assert len(web_workers) == 2, [p.cmdline() for p in web_workers]
        url = f"{launch.url}/parse/classes/Thing"
        headers = tenant.parse_headers("master")
        assert httpx.get(url, headers=headers, timeout=10).status_code == 200
        loops = [threading.Thread(target=_load, args=(url, headers, until, r), daemon=True) for r in records]
        for loop in loops:
            loop.start()
        time.sleep(1.0)

        killed_at = time.monotonic()
        worker.send_signal(signal.SIGKILL)
        web_workers[0].send_signal(signal.SIGKILL)
        web_back_after = worker_back_after = None
        while time.monotonic() - killed_at < 30 and (web_back_after is None or worker_back_after is None):
            current = [p.pid for p in _web_workers(launch)]
            if web_back_after is None and len(current) == 2 and web_workers[0].pid not in current:
                web_back_after = time.monotonic() - killed_at
            try:
                if worker_back_after is None and _celery_worker(launch).pid != worker.pid:
                    worker_back_after = time.monotonic() - killed_at
            except AssertionError:
                pass
            time.sleep(0.1)
        time.sleep(1.0)  # load on the restarted web worker too
    finally:
        until.set()
        for loop in loops:
            loop.join(timeout=10)
        code = launch.interrupt()
    assert code == 0, launch.output()[-3000:]
    assert worker_back_after is not None, launch.output()[-3000:]
    assert worker_back_after < 5  # the launcher's first restart comes after 1 s
    assert web_back_after is not None
    assert web_back_after < 5
    answers = [answer for record in records for answer in record.answers]
    failed = [started - killed_at for started, status in answers if status != 200]
    # At most one request per loop was in flight on the killed worker; nothing else fails, before or after.
    assert len(failed) <= LOAD_LOOPS, (failed, [e for r in records for e in r.errors])
    assert all(status is None for _, status in answers if status != 200)  # a dropped connection, never an error answer
    assert all(-0.5 < offset < 1.0 for offset in failed), failed
    served = sorted(started for started, status in answers if status == 200 and started > killed_at)
    gaps = [later - earlier for earlier, later in itertools.pairwise([killed_at, *served])]
    assert max(gaps) < 1.0, "a pause in service after the kill: the surviving worker did not take the load"
    print(f"web worker back after {web_back_after:.1f} s; {len(answers)} requests, {len(failed)} failed in flight")
    assert "worker exited (killed by SIGKILL); restarting in 1 s" in launch.output()


def test_a_crash_looping_child_stops_the_group(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setattr(launcher, "RESTART_DELAYS_SECONDS", (0,))
    group = launcher.ProcessGroup()
    group.start("broken", [sys.executable, "-c", "raise SystemExit(3)"])
    try:
        deadline = time.monotonic() + 30
        looping = None
        while looping is None and time.monotonic() < deadline:
            looping = group.supervise()
            time.sleep(0.05)
        assert looping == "broken"
        assert (
            capsys.readouterr().err.count("broken exited (exit code 3); restarting in 0 s")
            == launcher.CRASH_LOOP_RESTARTS
        )
    finally:
        group.stop()
