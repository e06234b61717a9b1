"""Bundles that try to break out of the sandbox: every attempt must fail, and the platform must stay healthy."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from hangar.cloudcode import sandbox
from hangar.cloudcode.bundles import BundleError, bundle_from_zip
from hangar.cloudcode.services import set_variable
from tests.cloudcode.conftest import deploy_async
from tests.datastore.conftest import ParseApp

pytestmark = pytest.mark.django_db(transaction=True)

ATTACKS = {
    "main.py": """
    import ctypes, errno, os, signal, socket, time
    from hangar_cloud import define

    def outcome(action):
        try:
            value = action()
        except OSError as exc:
            return {"error": type(exc).__name__, "errno": exc.errno}
        return {"value": value if isinstance(value, (int, list)) else str(value)[:4000]}

    @define("read")
    def read(request):
        path = request.params["path"]
        return outcome(lambda: open(path, "rb").read(4000).decode(errors="replace"))

    @define("listdir")
    def listdir(request):
        return outcome(lambda: sorted(os.listdir(request.params["path"])))

    @define("write")
    def write(request):
        path = request.params["path"]
        return outcome(lambda: open(path, "w").write("pwned"))

    @define("connect")
    def connect(request):
        def attempt():
            with socket.create_connection((request.params["host"], request.params["port"]), timeout=2):
                return "connected"
        return outcome(attempt)

    @define("connect_unix")
    def connect_unix(request):
        def attempt():
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(request.params["path"])
                return "connected"
        return outcome(attempt)

    @define("environment")
    def environment(request):
        return dict(os.environ)

    @define("processes")
    def processes(request):
        return {"pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()), "me": os.getpid(),
                "parent": os.getppid(), "uid": os.getuid()}

    @define("signal")
    def send_signal(request):
        return outcome(lambda: os.kill(request.params["pid"], request.params["signal"]) or "sent")

    @define("ptrace")
    def ptrace(request):
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.ptrace(16, request.params["pid"], None, None)  # PTRACE_ATTACH
        return {"result": result, "errno": errno.errorcode.get(ctypes.get_errno())}

    @define("unshare")
    def unshare(request):
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.unshare(request.params["flags"])
        return {"result": result, "errno": errno.errorcode.get(ctypes.get_errno())}

    @define("syscall")
    def syscall(request):
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.syscall(request.params["number"], 0, 0, 0, 0, 0)
        return {"result": result, "errno": errno.errorcode.get(ctypes.get_errno())}

    @define("fork_bomb")
    def fork_bomb(request):
        started = 0
        try:
            for _ in range(10000):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                started += 1
        except OSError as exc:
            return {"started": started, "error": type(exc).__name__}
        return {"started": started, "error": None}

    @define("allocate")
    def allocate(request):
        block = bytearray(request.params["bytes"])
        return len(block)

    @define("spin")
    def spin(request):
        while True:
            pass

    @define("fill_tmp")
    def fill_tmp(request):
        written = 0
        chunk = b"x" * (1024 * 1024)
        try:
            for index in range(64):
                with open(f"/tmp/fill-{index}", "wb") as handle:
                    for _ in range(8):
                        handle.write(chunk)
                        handle.flush()
                        written += len(chunk)
        except OSError as exc:
            return {"written": written, "error": errno.errorcode.get(exc.errno)}
        return {"written": written, "error": None}

    @define("ping")
    def ping(request):
        return "pong"
    """
}


async def call(app: ParseApp, name: str, **params: object) -> dict[str, object]:
    response = await app.request("POST", f"/functions/{name}", params)
    assert response.status_code in (200, 400, 503), response.text
    return response.json()


async def result(app: ParseApp, name: str, **params: object) -> object:
    body = await call(app, name, **params)
    assert "result" in body, body
    return body["result"]


async def assert_healthy(app: ParseApp) -> None:
    assert await result(app, "ping") == "pong"


@pytest.fixture
async def attacker(app_a: ParseApp) -> ParseApp:
    await deploy_async(app_a.tenant, ATTACKS)
    return app_a


async def test_another_apps_bundle_is_not_visible(attacker: ParseApp, app_b: ParseApp):
    """Even with the exact host path of another app's unpacked bundle, the sandbox cannot read or list it."""
    await deploy_async(app_b.tenant, {"main.py": "from hangar_cloud import define\n\nSECRET_OF_B = 'b-only'\n"})
    bundles = [path for path in sandbox.cloud_dir().iterdir() if path.name.startswith("bundle-")]
    await assert_healthy(attacker)  # the attacker's own bundle is unpacked now too
    bundles = [path for path in sandbox.cloud_dir().iterdir() if path.name.startswith("bundle-")]
    assert bundles
    for bundle in bundles:
        outcome = await result(attacker, "read", path=str(bundle / "main.py"))
        assert outcome == {"error": "FileNotFoundError", "errno": 2}
    assert (await result(attacker, "listdir", path=str(sandbox.cloud_dir())))["error"] == "FileNotFoundError"
    assert await result(attacker, "listdir", path="/tmp") == {"value": []}  # noqa: S108 - its own, empty
    assert await result(attacker, "listdir", path="/") == {
        "value": ["app", "bin", "dev", "lib", "lib64", "proc", "runtime", "sbin", "tmp", "usr"]
    }


@pytest.mark.parametrize(
    "path",
    [
        "/etc/shadow", "/etc/passwd", "/root/.bashrc", "/work/shared/DESIGN.md",
        str(Path(__file__).resolve()), str(Path(settings.REPO_DIR) / "platform" / "hangar" / "settings.py"),
        str(settings.VAR_DIR),
        "/proc/1/root/etc/shadow", "/var/run/postgresql/.s.PGSQL.5432",
    ],
)  # fmt: skip
async def test_platform_files_are_not_readable(attacker: ParseApp, path: str):
    assert (await result(attacker, "read", path=path))["error"] in ("FileNotFoundError", "PermissionError")


async def test_no_platform_secret_in_any_environment(attacker: ParseApp):
    """The handler's environment is exactly the app's variables; no /proc environ holds a platform setting."""
    await sync_to_async(set_variable)(attacker.tenant.app, "GREETING", "hello", secret=False)
    await sync_to_async(set_variable)(attacker.tenant.app, "API_TOKEN", "app-own-secret", secret=True)
    assert await result(attacker, "environment") == {"GREETING": "hello", "API_TOKEN": "app-own-secret"}
    seen = await result(attacker, "processes")
    assert seen["uid"] == sandbox.SANDBOX_UID_INSIDE
    assert len(seen["pids"]) <= 3, seen  # bubblewrap's init and the runtime: nothing of the host
    environs = ["/proc/self/environ", "/proc/1/environ", f"/proc/{seen['parent']}/environ"]
    for path in environs:
        text = str((await result(attacker, "read", path=path)).get("value", ""))
        for secret in (settings.SECRET_KEY, os.environ["DATABASE_URL"], "DATABASE_URL", "SECRET_KEY", "REDIS_URL"):
            assert secret not in text, (path, text)


@pytest.mark.parametrize(
    ("host", "port"), [("127.0.0.1", 5432), ("127.0.0.1", 6379), ("::1", 5432), ("10.0.0.1", 80), ("1.1.1.1", 53)]
)
async def test_no_network(attacker: ParseApp, host: str, port: int):
    outcome = await result(attacker, "connect", host=host, port=port)
    assert outcome == {"error": "PermissionError", "errno": 1}  # refused by the system-call filter


async def test_no_unix_socket_of_the_host(attacker: ParseApp):
    for path in ("/var/run/postgresql/.s.PGSQL.5432", "/tmp/.s.PGSQL.5432", "/run/redis/redis.sock"):  # noqa: S108
        assert (await result(attacker, "connect_unix", path=path))["error"] == "FileNotFoundError"


async def test_cannot_see_signal_or_trace_the_platform(attacker: ParseApp):
    seen = await result(attacker, "processes")
    platform_pid = os.getpid()
    assert platform_pid not in seen["pids"] or platform_pid in (seen["me"], seen["parent"])
    assert (await result(attacker, "signal", pid=platform_pid, signal=9)).get("error") in (
        "ProcessLookupError", "PermissionError",
    )  # fmt: skip
    for pid in {seen["parent"], 1, platform_pid}:
        traced = await result(attacker, "ptrace", pid=pid)
        assert traced == {"result": -1, "errno": "EPERM"}  # even bubblewrap's init inside the sandbox
    # kill(-1) reaches only the sandbox's own processes; kill(parent) the namespace's init, which ignores it.
    await call(attacker, "signal", pid=-1, signal=9)
    await call(attacker, "signal", pid=seen["parent"], signal=9)
    await assert_healthy(attacker)
    assert os.getppid() > 0  # the test process (the platform) is alive and well


async def test_bundle_and_runtime_are_read_only(attacker: ParseApp):
    for path in ("/app/main.py", "/app/new.py", "/runtime/hangar_cloud/_runtime.py", "/usr/evil"):
        outcome = await result(attacker, "write", path=path)
        assert outcome["error"] in ("OSError", "PermissionError"), (path, outcome)
        assert outcome["errno"] in (13, 30), (path, outcome)  # EACCES / EROFS
    assert (await result(attacker, "read", path="/app/main.py"))["value"].lstrip().startswith("import ctypes")


async def test_fork_bomb_is_stopped_by_the_process_limit(attacker: ParseApp):
    outcome = await result(attacker, "fork_bomb")
    assert outcome["error"] == "BlockingIOError", outcome
    assert outcome["started"] < settings.HANGAR_CLOUD_PROCESSES
    await assert_healthy(attacker)


async def test_ten_gigabytes_is_out_of_memory(attacker: ParseApp):
    assert await call(attacker, "allocate", bytes=10 * 1024**3) == {"code": 141, "error": "Out of memory."}
    await assert_healthy(attacker)


async def test_infinite_loop_is_killed_at_the_deadline(attacker: ParseApp, settings):
    settings.HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS = 1.0
    assert await call(attacker, "spin") == {"code": 141, "error": "Execution timed out after 1 s."}
    await assert_healthy(attacker)  # on a fresh worker


async def test_filling_tmp_stops_at_its_size(attacker: ParseApp):
    outcome = await result(attacker, "fill_tmp")
    assert outcome["error"] in ("ENOSPC", "EFBIG"), outcome
    assert outcome["written"] <= settings.HANGAR_CLOUD_TMP_MB * 1024 * 1024
    await assert_healthy(attacker)


@pytest.mark.parametrize(
    ("name", "number"),
    [("io_uring_setup", 425), ("bpf", 321), ("userfaultfd", 323), ("keyctl", 250), ("perf_event_open", 298)],
)
async def test_dangerous_system_calls_are_filtered(attacker: ParseApp, name: str, number: int):
    """x86-64 numbers: the filter answers EPERM before the kernel code behind the call is reached."""
    if os.uname().machine != "x86_64":
        pytest.skip("system-call numbers are x86-64's")
    assert await result(attacker, "syscall", number=number) == {"result": -1, "errno": "EPERM"}, name


async def test_no_new_namespaces_or_mounts(attacker: ParseApp):
    for flags in (0x10000000, 0x00020000, 0x40000000):  # CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET
        assert await result(attacker, "unshare", flags=flags) == {"result": -1, "errno": "EPERM"}


async def test_without_the_filter_namespaces_still_hold(attacker: ParseApp, settings):
    """HANGAR_CLOUD_SECCOMP=false: a socket still reaches nothing (the network namespace's own, empty loopback)."""
    settings.HANGAR_CLOUD_SECCOMP = False
    from hangar.cloudcode.pool import close_current_pool

    await close_current_pool()
    outcome = await result(attacker, "connect", host="127.0.0.1", port=5432)
    assert outcome == {"error": "ConnectionRefusedError", "errno": 111}


def _zip_with_link(target: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", "from hangar_cloud import define\n")
        link = zipfile.ZipInfo("secrets.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, target)
    return buffer.getvalue()


@pytest.mark.parametrize("target", ["/etc/shadow", "../../../../etc/passwd", "/proc/1/environ"])
def test_a_bundle_with_a_symlink_is_refused(target: str):
    with pytest.raises(BundleError):
        bundle_from_zip(_zip_with_link(target))
