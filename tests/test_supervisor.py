"""`make run`'s supervisor keeps the service up: a killed child comes back, a crash loop stops the group."""

from __future__ import annotations

import signal
import sys
import time

import httpx
import psutil
import pytest

from hangar import launcher
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


def _web_workers(launch: Launch) -> list[psutil.Process]:
    """uvicorn's worker processes (children of its own supervisor)."""
    web = [
        p for p in launch.descendants() if "uvicorn" in " ".join(p.cmdline()) and p.parent().pid == launch.process.pid
    ]
    assert web, "no uvicorn child"
    # Workers are multiprocessing spawns; the resource tracker is a child too but serves nothing.
    return [p for p in web[0].children() if "spawn_main" in " ".join(p.cmdline())]


def _serving(launch: Launch) -> bool:
    try:
        return httpx.get(f"{launch.url}/parse/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_killed_children_are_restarted_while_the_api_keeps_serving(tmp_path, external_services_env):  # noqa: F811
    launch = Launch({**external_services_env, "WEB_CONCURRENCY": "2"}, tmp_path / "var")
    try:
        launch.wait_until_serving()
        _wait_for_worker_and_beat(launch)
        worker = _celery_worker(launch)
        web_workers = _web_workers(launch)
        assert len(web_workers) == 2, [p.cmdline() for p in web_workers]

        worker.send_signal(signal.SIGKILL)
        web_workers[0].send_signal(signal.SIGKILL)
        answered = []
        deadline = time.monotonic() + 30
        replacement = None
        while time.monotonic() < deadline:
            answered.append(_serving(launch))
            try:
                candidate = _celery_worker(launch)
                if candidate.pid != worker.pid:
                    replacement = candidate
            except AssertionError:
                pass
            if replacement is not None and len(_web_workers(launch)) == 2:
                break
            time.sleep(0.2)
        assert replacement is not None, launch.output()[-3000:]
        assert len(_web_workers(launch)) == 2
        assert all(answered), "the API stopped answering while a child was down"
        assert "worker exited (killed by SIGKILL); restarting in 1 s" in launch.output()
        assert launch.process.poll() is None
    finally:
        code = launch.interrupt()
    assert code == 0, launch.output()[-3000:]


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
