"""The process supervisor behind `make run` and `make test`.

``run`` starts embedded PostgreSQL/Redis when DATABASE_URL/REDIS_URL are unset,
migrates, then serves uvicorn (HTTP + WebSockets), a Celery worker and Celery beat as
one group. A child that exits is restarted after a growing pause and the reason is
logged; only a child that crash-loops (more than CRASH_LOOP_RESTARTS exits within
CRASH_LOOP_WINDOW_SECONDS) stops the group. Ctrl-C (SIGINT) or SIGTERM stops the
children first, then the embedded servers, so nothing is left running.
``test`` does the same set-up and runs pytest instead of the servers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hangar.embedded import (
    EmbeddedServices,
    services_forget,
    services_record,
    services_recorded,
    start_embedded_services,
    var_dir,
)

REPO_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
STOP_GRACE_SECONDS = 10
TEST_REDIS_DATABASE = 1


class AlreadyRunningError(RuntimeError):
    """Another `make run` serves from the same var/ directory."""


def _prepare_environment(settings_module: str, *, share_running: bool = True) -> EmbeddedServices:
    # Assigned, not defaulted: importing this module imported the hangar package, whose Celery
    # app already set DJANGO_SETTINGS_MODULE to the development settings.
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    pythonpath = [str(REPO_DIR / "platform"), str(REPO_DIR)]
    if os.environ.get("PYTHONPATH"):
        pythonpath.append(os.environ["PYTHONPATH"])
    os.environ["PYTHONPATH"] = os.pathsep.join(pythonpath)
    _use_running_services(settings_module, share_running=share_running)
    services = start_embedded_services(
        var_dir(),
        database="DATABASE_URL" not in os.environ,
        redis="REDIS_URL" not in os.environ,
    )
    for name, value in services.environment.items():
        os.environ[name] = value
        print(f"embedded {name.split('_')[0].lower()}: {value}", flush=True)
    return services


def _use_running_services(settings_module: str, *, share_running: bool) -> None:
    """Use the embedded servers of a `make run` serving from the same var/ instead of starting rivals.

    A second Redis on the same socket path would take it over from the running one. Tests
    get their own Redis database index on the shared server (PostgreSQL: pytest-django's
    own ``test_`` database).
    """
    running = {k: v for k, v in services_recorded(var_dir()).items() if k in ("DATABASE_URL", "REDIS_URL")}
    wanted = {k: v for k, v in running.items() if k not in os.environ}
    if not wanted:
        return
    if not share_running:
        raise AlreadyRunningError(f"Hangar is already running from {var_dir()}; stop it first (Ctrl-C).")
    if "REDIS_URL" in wanted and settings_module.endswith("_test"):
        wanted["REDIS_URL"] = _redis_database(wanted["REDIS_URL"], TEST_REDIS_DATABASE)
    for name, value in wanted.items():
        os.environ[name] = value
        print(f"running {name.split('_')[0].lower()}: {value}", flush=True)


def _redis_database(url: str, index: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"]
    if parts.scheme == "unix":
        return f"unix://{parts.path}?{urlencode([*query, ('db', str(index))])}"
    return urlunsplit(parts._replace(path=f"/{index}"))


def _manage(*args: str) -> None:
    subprocess.run([PYTHON, str(REPO_DIR / "manage.py"), *args], check=True, cwd=REPO_DIR)


# A child that exits is started again after a pause that grows with each exit in a row;
# one that exits CRASH_LOOP_RESTARTS times within CRASH_LOOP_WINDOW_SECONDS is broken, not
# unlucky (a bad setting, a port taken), and the group stops with an error instead.
RESTART_DELAYS_SECONDS = (1, 2, 4, 8, 15, 30)
CRASH_LOOP_RESTARTS = 5
CRASH_LOOP_WINDOW_SECONDS = 60


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class ProcessGroup:
    """Children started in their own sessions, so that only this supervisor decides when they stop."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}
        self.exits: dict[str, deque[float]] = {}
        self.restart_at: dict[str, float] = {}
        self.stopping = False

    def start(self, name: str, command: Sequence[str]) -> None:
        self.commands[name] = list(command)
        self._spawn(name)

    def _spawn(self, name: str) -> None:
        self.children[name] = subprocess.Popen(self.commands[name], cwd=REPO_DIR, start_new_session=True)

    def supervise(self) -> str | None:
        """Restart children that exited, after their back-off; the name of a crash-looping child, else None."""
        now = time.monotonic()
        for name, child in self.children.items():
            code = child.poll()
            if code is None or name in self.restart_at:
                continue
            recent = self.exits.setdefault(name, deque())
            while recent and now - recent[0] > CRASH_LOOP_WINDOW_SECONDS:
                recent.popleft()
            recent.append(now)
            if len(recent) > CRASH_LOOP_RESTARTS:
                return name
            delay = RESTART_DELAYS_SECONDS[min(len(recent), len(RESTART_DELAYS_SECONDS)) - 1]
            print(f"{name} exited ({_exit_reason(code)}); restarting in {delay} s", file=sys.stderr, flush=True)
            self.restart_at[name] = now + delay
        for name, at in list(self.restart_at.items()):
            if now >= at:
                del self.restart_at[name]
                self._spawn(name)
                print(f"{name} restarted (pid {self.children[name].pid})", file=sys.stderr, flush=True)
        return None

    def stop(self) -> None:
        self.stopping = True
        for child in self.children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def proxy_header_args() -> list[str]:
    """Uvicorn believes X-Forwarded-For/-Proto from the same proxies as Hangar (hangar.client_address).

    Uvicorn's own default trusts any loopback peer: a local reverse proxy that passes a
    client's X-Forwarded-For through unchanged would let the client pick its address.
    """
    trusted = ",".join(item.strip() for item in os.environ.get("HANGAR_TRUSTED_PROXIES", "").split(",") if item.strip())
    return ["--forwarded-allow-ips", trusted] if trusted else ["--no-proxy-headers"]


# LiveQuery keep-alive as Parse Server's (a ping every 10 s; no answer, the socket is closed),
# client messages (connect, subscribe) of at most 1 MiB, and no permessage-deflate (as Parse
# Server's ws): compressing each frame per connection undoes encoding an event once for all
# its subscribers (measured: 80 vs 37 KiB per connection, 70 vs 42 us of CPU per delivery).
# The benchmark serves Hangar with the same (bench/servers.py). The protocol is uvicorn's
# sans-I/O one plus a direct frame writer for LiveQuery's fan-out (hangar.realtime.uvicorn_websocket).
WEBSOCKET_ARGS = (
    "--ws", "hangar.realtime.uvicorn_websocket:LiveQueryWebSocketProtocol",
    "--ws-ping-interval", "10", "--ws-ping-timeout", "10", "--ws-max-size", str(2**20),
    "--ws-per-message-deflate", "false",
)  # fmt: skip


def _serve_commands(host: str, port: str) -> dict[str, list[str]]:
    # One web process per core; with more than one, uvicorn's own supervisor restarts a dead one.
    workers = os.environ.get("WEB_CONCURRENCY") or str(os.cpu_count() or 1)
    return {
        "web": [
            PYTHON, "-m", "uvicorn", "hangar.asgi:application",
            "--app-dir", str(REPO_DIR / "platform"),
            "--host", host, "--port", port, "--workers", workers,
            "--no-server-header", "--no-access-log", "--log-level", os.environ.get("UVICORN_LOG_LEVEL", "warning"),
            *WEBSOCKET_ARGS,
            *proxy_header_args(),
        ],
        "worker": [
            PYTHON, "-m", "celery", "--workdir", str(REPO_DIR / "platform"),
            "-A", "hangar.celery_app", "worker", "--loglevel", "INFO",
            "--concurrency", os.environ.get("CELERY_CONCURRENCY", "2"),
            "--hostname", f"hangar-worker-{os.getpid()}@%h",
            # The default queue and native builds' (docs/builds.md): the worker is the built-in build agent.
            "--queues", "celery,builds.android",
        ],
        "beat": [
            PYTHON, "-m", "celery", "--workdir", str(REPO_DIR / "platform"),
            "-A", "hangar.celery_app", "beat", "--loglevel", "INFO",
            "--schedule", str(var_dir() / "celerybeat-schedule"),
            # One beat schedules for the whole deployment, however many are started (hangar.beat_leader).
            "--scheduler", "hangar.beat_leader:LeaderScheduler",
        ],
    }  # fmt: skip


def _metrics_dir_prepare() -> None:
    """Web processes share their Prometheus counters through files here (prometheus_client's
    multiprocess mode), so a scrape of any of them reports all; emptied at each start."""
    directory = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or var_dir() / "prometheus")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _reachable(host: str) -> str:
    # Not a bind: a server listening on every interface is reached on loopback from this machine.
    return "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104


def command_run() -> int:
    try:
        services = _prepare_environment("hangar.settings", share_running=False)
    except AlreadyRunningError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    group = ProcessGroup()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        group.stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    try:
        _manage("migrate", "--no-input", "-v", "0")
        _manage("collectstatic", "--no-input", "-v", "0")
        host = os.environ.get("HOST", "127.0.0.1")
        port = os.environ.get("PORT", "8000")
        _metrics_dir_prepare()
        for name, command in _serve_commands(host, port).items():
            group.start(name, command)
        base = f"http://{host}:{port}"
        if services.environment:  # manage.py commands run by hand find the embedded servers
            public_url = os.environ.get("HANGAR_PUBLIC_URL") or f"http://{_reachable(host)}:{port}"
            services_record(var_dir(), {**services.environment, "HANGAR_PUBLIC_URL": public_url})
        print(f"\nHangar is running.\n  dashboard: {base}/\n  Parse API: {base}/parse\n"
              f"  management API: {base}/api/v1/\nPress Ctrl-C to stop.\n", flush=True)  # fmt: skip
        while not group.stopping:
            crash_looping = group.supervise()
            if crash_looping:
                print(
                    f"{crash_looping} exited {CRASH_LOOP_RESTARTS + 1} times within {CRASH_LOOP_WINDOW_SECONDS} s; "
                    "stopping Hangar", file=sys.stderr, flush=True,
                )  # fmt: skip
                exit_code = 1
                break
            time.sleep(0.2)
    except subprocess.CalledProcessError as exc:
        exit_code = exc.returncode or 1
    finally:
        services_forget(var_dir())
        group.stop()
        services.stop()
        print("Hangar stopped.", flush=True)
    return exit_code


def command_test(pytest_args: Sequence[str]) -> int:
    services = _prepare_environment("hangar.settings_test")
    try:
        completed = subprocess.run([PYTHON, "-m", "pytest", *pytest_args], cwd=REPO_DIR)
        return completed.returncode
    finally:
        services.stop()


def command_migrate() -> int:
    services = _prepare_environment("hangar.settings")
    try:
        _manage("migrate", "--no-input")
        return 0
    finally:
        services.stop()


def command_serve(process: str) -> int:
    """Become one process of a node (``web``, ``worker`` or ``beat``), as a unit of deploy/systemd runs it.

    No embedded servers and no supervisor: DATABASE_URL and REDIS_URL name the deployment's
    PostgreSQL (or PgBouncer) and Redis, and systemd restarts what exits (docs/scaling.md).
    """
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            print(f"hangar.launcher serve needs {name}", file=sys.stderr, flush=True)
            return 2
    commands = _serve_commands(os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000"))
    command = commands[process]
    sys.stdout.flush()
    os.chdir(REPO_DIR)
    # The unit's main process is then the server itself: systemd's signals reach it, not a wrapper.
    os.execv(command[0], command)  # noqa: S606 (a fixed argv of our own, no shell)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hangar.launcher")
    parser.add_argument("command", choices=["run", "test", "migrate", "serve"])
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "run":
        return command_run()
    if args.command == "migrate":
        return command_migrate()
    if args.command == "serve":
        if len(args.rest) != 1 or args.rest[0] not in ("web", "worker", "beat"):
            parser.error("serve takes one of: web, worker, beat")
        return command_serve(args.rest[0])
    rest = [a for a in args.rest if a != "--"]
    return command_test(rest)


if __name__ == "__main__":
    sys.exit(main())
