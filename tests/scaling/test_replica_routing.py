"""Which replica a read may use: within the lag bound, and past the reader's own last write."""

from __future__ import annotations

import time
from typing import Any

from hangar.caller import Caller
from hangar.read_replicas import ReadRoute, ReplicaSet, writer_of

REPLICA = {"NAME": "hangar", "USER": "postgres", "HOST": "127.0.0.1", "PORT": "1", "OPTIONS": {}}


async def test_a_replica_serves_once_it_has_replayed_what_the_primary_had_lag_seconds_ago(settings: Any):
    settings.HANGAR_REPLICA_MAX_LAG_SECONDS = 1.0
    replicas = ReplicaSet([REPLICA, {**REPLICA, "PORT": "2"}])
    fast, slow = replicas.replicas
    assert replicas.pick(ReadRoute()) is None  # no check yet: nothing is known, the primary serves
    now = time.monotonic()
    replicas._remember_primary(now - 1.5, 100)
    replicas._remember_primary(now - 0.5, 200)
    replicas._remember_primary(now, 300)
    assert replicas.lag_floor() == 100  # what the primary had written a second ago (or more)
    fast.replayed, slow.replayed = 300, 99
    assert {replicas.pick(ReadRoute()) for _ in range(4)} == {fast}  # the slow one is beyond the bound
    slow.replayed = 100
    assert {replicas.pick(ReadRoute()) for _ in range(4)} == {fast, slow}  # round-robin over the fresh ones
    # A reader whose last write is at 250 may only read a replica that has replayed it.
    assert {replicas.pick(ReadRoute(min_lsn=250)) for _ in range(4)} == {fast}
    assert replicas.pick(ReadRoute(min_lsn=301)) is None
    fast.lost()  # a read failed on it: nothing more from it until a check reaches it again
    assert replicas.pick(ReadRoute(min_lsn=250)) is None
    assert replicas.pick(ReadRoute()) is slow
    await replicas.close()


async def test_an_idle_primary_never_makes_its_replica_lag(settings: Any):
    settings.HANGAR_REPLICA_MAX_LAG_SECONDS = 0.2
    replicas = ReplicaSet([REPLICA])
    now = time.monotonic()
    for seconds_ago in (3, 2, 1, 0):  # the primary wrote nothing for three seconds
        replicas._remember_primary(now - seconds_ago, 500)
    replicas.replicas[0].replayed = 500
    assert replicas.pick(ReadRoute()) is replicas.replicas[0]
    assert len(replicas._primary_positions) <= 2  # old positions are not kept
    await replicas.close()


def test_writes_are_remembered_by_user_or_installation_never_for_the_master_key():
    assert writer_of(Caller(app_pk=1, is_master=False, user_id="u1", installation_id="i1")) == "u:u1"
    assert writer_of(Caller(app_pk=1, is_master=False, installation_id="i1")) == "i:i1"
    assert writer_of(Caller(app_pk=1, is_master=False)) is None
    assert writer_of(Caller(app_pk=1, is_master=True, user_id="u1")) is None
