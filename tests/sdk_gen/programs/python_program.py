"""Drives the generated Python SDK against a live Hangar; exits non-zero on the first wrong answer."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime

from sdk_app_sdk import (
    AsyncClient,
    AsyncFunctions,
    Client,
    Config,
    FileSessionStore,
    Functions,
    GeoPoint,
    ParseError,
    Player,
    Team,
    User,
)


def config(sessions: FileSessionStore | None = None) -> Config:
    return Config(
        server_url=os.environ["HANGAR_URL"],
        application_id=os.environ["HANGAR_APP_ID"],
        client_key=os.environ["HANGAR_CLIENT_KEY"],
        sessions=sessions,
    )


def check(condition: bool, what: str) -> None:
    if not condition:
        print(f"FAILED: {what}")
        sys.exit(1)


def main() -> None:
    session_file = os.path.join(tempfile.mkdtemp(), "session.json")
    with Client(config(FileSessionStore(session_file))) as client:
        user = client.sign_up(User(username="ada", email="ada@example.com", nickname="A"), password="pw-123456")
        check(user.object_id is not None, "sign-up gives an objectId")
        reds, blues = client.save_all([Team(name="Reds"), Team(name="Blues")])
        check(reds.object_id is not None and blues.object_id is not None, "batch creates both teams")
        avatar = client.upload_file("avatar.txt", b"hello file", "text/plain")
        check(avatar.url is not None and avatar.name.endswith("avatar.txt"), f"file uploaded: {avatar}")
        born = datetime(1990, 5, 17, 12, 0, tzinfo=UTC)
        players = [
            Player(
                name="Alice",
                score=30,
                active=True,
                born=born,
                stats={"goals": 3},
                tags=["fast", "left"],
                team=reds,
                owner=user,
                avatar=avatar,
                home=GeoPoint(48.85, 2.35),
                blob=b"\x00\x01",
                class_="A",
            ),
            Player(name="Bob", score=10, active=False, tags=["slow"], team=blues, owner=user, class_="B"),
            Player(name="Carol", score=20, active=True, tags=["fast"], team=reds, class_="A"),
        ]
        for player in players:
            client.save(player)
        alice = client.get(Player, players[0].object_id or "", include=["team"])
        check(alice.score == 30 and alice.born == born and alice.stats == {"goals": 3}, f"typed read: {alice}")
        check(alice.team is not None and alice.team.name == "Reds", "included pointer decoded as Team")
        check(alice.home is not None and alice.home.latitude == 48.85, "geo point decoded")
        check(alice.blob == b"\x00\x01" and alice.class_ == "A", "bytes and renamed keyword field")
        check(alice.avatar is not None and alice.avatar.url is not None, "file field decoded")

        by_score = client.query(Player).where(Player.q.score.gt(15)).order(Player.q.score.descending()).find()
        check([p.name for p in by_score] == ["Alice", "Carol"], f"number operator: {[p.name for p in by_score]}")
        regex = client.query(Player).where(Player.q.name.matches("^B")).find()
        check([p.name for p in regex] == ["Bob"], "string regex")
        on_reds = client.query(Player).where(Player.q.team.equal_to(reds)).count()
        check(on_reds == 2, f"pointer equality count: {on_reds}")
        fast = client.query(Player).where(Player.q.tags.contains_all(["fast"]), Player.q.active.equal_to(True)).find()
        check(sorted(p.name or "" for p in fast) == ["Alice", "Carol"], "array $all with boolean")
        near = client.query(Player).where(Player.q.home.within_kilometers(GeoPoint(48.86, 2.34), 10)).find()
        check([p.name for p in near] == ["Alice"], "geo query")
        first = client.query(Player).where(Player.q.score.lte(10)).first()
        check(first is not None and first.name == "Bob", "first()")

        bob = players[1]
        bob.score = 11
        client.save(bob)
        check(client.get(Player, bob.object_id or "").score == 11, "update")
        client.delete(bob)
        try:
            client.get(Player, bob.object_id or "")
            check(False, "deleted object still readable")
        except ParseError as error:
            check(error.code == 101, f"deleted object answers 101, not {error.code}")

        client.add_relation(alice, Player.q.fans, [user])
        fans = client.query(User).related_to(alice, Player.q.fans).find()
        check([f.username for f in fans] == ["ada"], "relation added and queried with $relatedTo")
        client.remove_relation(alice, Player.q.fans, [user])
        check(client.query(User).related_to(alice, Player.q.fans).count() == 0, "relation removed")

        functions = Functions(client)
        check(functions.total(price=2.5, count=4) == 10.0, "typed function total")
        check(functions.greet(name="Ada") == "Hello Ada", "typed function greet")
        check(functions.teamNames() == ["Blues", "Reds"], "function reading data")

        current = client.current_user(User)
        check(current is not None and current.username == "ada" and current.nickname == "A", "current user")
    # The session persisted in its file: a new client is still logged in, then logs out.
    with Client(config(FileSessionStore(session_file))) as again:
        me = again.current_user(User)
        check(me is not None and me.username == "ada", "session persisted across clients")
        again.log_out()
        check(again.current_user(User) is None, "logged out")
        logged = again.log_in(User, "ada", "pw-123456")
        check(logged.username == "ada", "log in")
        try:
            again.log_in(User, "ada", "wrong")
            check(False, "wrong password accepted")
        except ParseError as error:
            check(error.code == 101, f"wrong password is 101, not {error.code}")
    asyncio.run(async_part())
    print("python sdk ok")


async def async_part() -> None:
    async with AsyncClient(config()) as client:
        team = await client.save(Team(name="Async"))
        found = await client.query(Team).where(Team.q.name.equal_to("Async")).find()
        check([t.object_id for t in found] == [team.object_id], "async query")
        check(await AsyncFunctions(client).total(price=1.5, count=2) == 3.0, "async function")


if __name__ == "__main__":
    main()
