"""One Celery beat schedules for the deployment: a second one sends nothing until the first is gone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.conf import settings

from hangar.beat_leader import RETRY_SECONDS, BeatLeadership, LeaderScheduler


@pytest.fixture
def client() -> Any:
    connection = redis.Redis.from_url(settings.REDIS_URL)
    yield connection
    connection.delete("hangar:test:beat")
    connection.close()


def test_one_holder_at_a_time_and_release_hands_over(client: Any):
    first = BeatLeadership(client, key="hangar:test:beat")
    second = BeatLeadership(client, key="hangar:test:beat")
    assert first.hold()
    assert not second.hold()
    assert first.hold()  # renewing its own lease
    second.release()  # not its lease: nothing happens
    assert not second.hold()
    first.release()
    assert second.hold()
    assert not first.hold()


def test_a_dead_holders_lease_lapses(client: Any):
    dead = BeatLeadership(client, key="hangar:test:beat", lease_seconds=0.3)
    successor = BeatLeadership(client, key="hangar:test:beat", lease_seconds=0.3)
    assert dead.hold()
    assert not successor.hold()
    time.sleep(0.5)  # the holder stopped renewing
    assert successor.hold()
    assert not dead.hold()


class CountingScheduler(LeaderScheduler):
    """The beat scheduler with its one seam to the broker counted instead of sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[str] = []
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        self.sent.append(entry.name)


def test_only_the_leading_beat_sends_due_tasks(tmp_path: Path):
    app = Celery("beat-test", set_as_current=False)
    app.conf.beat_schedule = {"every-tick": {"task": "beat-test.noop", "schedule": 0.01}}
    beats = [CountingScheduler(app=app, schedule_filename=str(tmp_path / f"schedule-{n}"), lazy=False) for n in (1, 2)]
    try:
        for beat in beats:
            beat.leadership.release()
        leader, follower = beats
        leader.leadership.client.delete(leader.leadership.key)
        for _ in range(5):
            assert leader.tick() <= 10
            assert follower.tick() == RETRY_SECONDS
            time.sleep(0.02)
        assert "every-tick" in leader.sent
        assert follower.sent == []
        leader.close()  # a clean stop releases the lease: the other beat takes over at its next tick
        follower.tick()
        time.sleep(0.02)
        follower.tick()
        assert "every-tick" in follower.sent
    finally:
        for beat in beats:
            beat.leadership.release()
            beat.leadership.client.close()
