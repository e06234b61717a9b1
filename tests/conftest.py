"""Shared fixtures: two tenants with an app each, HTTP clients, and one live server per session."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from django.conf import settings

from hangar.after_response import after_response_finish_stopped_loops
from hangar.launcher import WEBSOCKET_ARGS  # served as `make run` serves
from tenants.models import App, Developer, Organization
from tenants.services import app_create, developer_sign_up
from tests import fast_flush

if TYPE_CHECKING:
    from tests.faults.conftest import RedisProcess

fast_flush.install()  # a transactional test's flush empties only the tables it wrote (tests/fast_flush.py)

REPO_DIR = Path(__file__).resolve().parents[1]
PASSWORD = "a-long-test-passphrase-42"


@dataclass
class Tenant:
    """A developer who owns an organization with one provisioned app."""

    developer: Developer
    organization: Organization
    app: App
    keys: dict[str, str]

    @property
    def application_id(self) -> str:
        return self.keys["application_id"]

    def parse_headers(self, key: str = "rest") -> dict[str, str]:
        header = {
            "rest": "X-Parse-REST-API-Key", "client": "X-Parse-Client-Key", "javascript": "X-Parse-Javascript-Key",
            "dotnet": "X-Parse-Windows-Key", "master": "X-Parse-Master-Key",
        }[key]  # fmt: skip
        return {"X-Parse-Application-Id": self.application_id, header: self.keys[key]}


def make_tenant(label: str) -> Tenant:
    developer = developer_sign_up(email=f"{label}@example.com", password=PASSWORD, name=label.title())
    organization = Organization.objects.get(memberships__developer=developer)
    app, keys = app_create(actor=developer, organization=organization, name=f"{label}-app")
    return Tenant(developer=developer, organization=organization, app=app, keys=keys)


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    wanted = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    return wanted or "transactional_db" in request.fixturenames


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Before any fixture's teardown (the database flush first of all): let after* triggers a test
    started finish on the session's event loop, which stands still between tests. One left half-way
    kept its transaction open, and the flush waited on its locks until the server ended it."""
    after_response_finish_stopped_loops()
    yield


@pytest.fixture(autouse=True)
def _orphan_partitions_dropped(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a transactional test's flush, drop the per-app partitions of the apps it removed.

    The flush truncates ``tenants_app`` but leaves the apps' partition tables, and app ids are
    never reused: without this, hundreds of partitions pile up over a session, and a statement
    on a parent table (a flush, a test's query without an app filter, an index build) then
    locks every one of them and runs out of PostgreSQL's shared lock table.
    """
    yield
    if not _is_transactional(request):
        return
    blocker = request.getfixturevalue("django_db_blocker")
    from django.db import OperationalError, connection

    from hangar.datastore.partitions import PARTITIONED_TABLES

    with blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM tenants_app a WHERE c.relname = p.relname || '_app' || a.id)",
            [list(PARTITIONED_TABLES)],
        )
        orphans = [row[0] for row in cursor.fetchall()]
        if not orphans:
            return
        cursor.execute("SET lock_timeout = '2s'")  # a live server's open transaction: leave that one
        try:
            cursor.execute("DROP TABLE IF EXISTS " + ", ".join(f'"{name}"' for name in orphans))  # one commit
        except OperationalError:
            for name in orphans:
                try:
                    cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
                except OperationalError:
                    pass
        cursor.execute("SET lock_timeout = 0")


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    return make_tenant("alice")


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    return make_tenant("bob")


@pytest.fixture
def broker() -> Iterator[RedisProcess]:
    """A Redis of the test's own (broker and cache of a Hangar the test launches), which it may stop or restart."""
    from tests.faults.conftest import RedisProcess  # the fault servers' module imports this one

    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def parse_client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound in-process to Hangar's ASGI application (gateway + Django)."""
    from hangar.asgi import application

    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture(autouse=True)
def _live_server_helper(request: pytest.FixtureRequest) -> Iterator[None]:
    """Replace pytest-django's helper of the same name: ours serves a separate process,
    so a test that uses it only needs committed data (transactional_db)."""
    if "live_server" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    return


def start_live_server(extra_env: dict[str, str] | None = None, *, log_name: str = "live-server.log") -> LiveServer:
    """Start a uvicorn process serving the test database (with ``extra_env`` on top) and wait until it answers."""
    port = _free_port()
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hangar.settings_test",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR / "platform"), str(REPO_DIR)]),
        "DATABASE_URL": _database_url(db),
        "HANGAR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **(extra_env or {}),
    }
    log_path = Path(settings.VAR_DIR) / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "hangar.asgi:application", "--app-dir", str(REPO_DIR / "platform"),
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *WEBSOCKET_ARGS],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_DIR,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/parse/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"live server did not start; see {log_path}:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    return LiveServer(url=url, process=process)


def stop_live_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def live_server(django_db_setup: None, django_db_blocker: object) -> Iterator[LiveServer]:
    """One uvicorn process for the whole session, serving the test database.

    Tests that use it must commit their data (``transactional_db``) for the server to see it.
    """
    server = start_live_server()
    yield server
    stop_live_server(server)


def _database_url(db: dict[str, object]) -> str:
    from urllib.parse import quote, urlencode

    user = quote(str(db.get("USER") or ""))
    password = quote(str(db.get("PASSWORD") or ""))
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = str(db.get("HOST") or "")
    query: dict[str, str] = {}
    if host.startswith("/"):
        query["host"] = host
        host = ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{credentials}{host}{port}/{db['NAME']}{suffix}"


@pytest.fixture(scope="session", autouse=True)
def _test_database_commits_without_waiting_for_the_disk(django_db_setup: None, django_db_blocker: object) -> None:
    """The test database's commits do not wait for their WAL to reach the disk (``synchronous_commit``).

    Nothing in the suite crashes this server (the fault tests start clusters of their own), so
    no test can tell; every test that commits (the transactional ones, provisioning's DDL) stops
    waiting on fsync. Set on the database, so the live servers' and the data plane's new
    connections (through PgBouncer too) get it.
    """
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            f"ALTER DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} SET synchronous_commit = off"
        )
        cursor.execute("SET synchronous_commit = off")


@pytest.fixture(scope="session", autouse=True)
def _fresh_hangar_keys(django_db_setup: None) -> None:
    """Start from no ``hangar:*`` keys in the suite's Redis database.

    The test database is created anew each session, so app primary keys start at 1 again;
    per-app counters an earlier session left (rate windows of an hour, version counters) would
    otherwise apply to this session's apps of the same numbers.
    """
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for keys in _batched(client.scan_iter(match="hangar:*", count=1000), 1000):
            client.delete(*keys)
    finally:
        client.close()


def _batched(items: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@pytest.fixture(scope="session", autouse=True)
async def _close_data_plane_connections(django_db_setup: None) -> AsyncIterator[None]:
    """Close the gateway's pool before pytest-django drops the test database."""
    yield
    from asgiref.sync import sync_to_async
    from django.db import connections

    from hangar.db_pool import close_pool, pools_of_ended_loops_close
    from hangar.redis_async import close_redis

    await close_pool()
    await close_redis()
    # Async ORM calls ran in asgiref's worker thread, which holds its own connection.
    await sync_to_async(connections.close_all)()
    # Sync tests that reach async services (the identity pages, through async_to_sync) ran them
    # on short-lived loops of their own; the last one's pool is still open (else: "database
    # test_hangar is being accessed by other users" when the test database is dropped).
    pools_of_ended_loops_close()


_PARSE_WEBHOOK_WORDING = re.compile(r"no function named: |function name: ")


@pytest.fixture(scope="session", autouse=True)
def no_database_text_reaches_a_client() -> Iterator[None]:
    """Every Parse error the whole suite provokes is scanned: PostgreSQL's own words never reach a client."""
    from hangar import parse_errors
    from tests.gateway.test_hostile_input import DATABASE_PHRASES

    # Table-name prefixes are left out here: tests send hostile names such as
    # "x'); DROP TABLE datastore_object; --" that an error may rightly echo back; PostgreSQL's
    # own mentions of a table come with 'relation "', which stays on the list.
    phrases = [phrase.lower() for phrase in DATABASE_PHRASES if phrase not in {"datastore_", "tenants_"}]
    leaks: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        for error_class in (parse_errors.ParseError, parse_errors.UnauthorizedError):
            render = error_class.body

            def scanned_body(self: parse_errors.ParseError, render=render) -> dict[str, object]:
                body = render(self)
                # Parse Server's own webhook messages ("function name: x already exists") say "function ".
                text = _PARSE_WEBHOOK_WORDING.sub("", str(body).lower())
                leaks.extend(f"{body}" for phrase in phrases if phrase in text)
                return body

            patch.setattr(error_class, "body", scanned_body)
        yield
    assert leaks == [], f"database text in client errors: {sorted(set(leaks))[:10]}"
