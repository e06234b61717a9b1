"""Native build fixtures: keystores made by keytool, a launcher icon, a web bundle, and API helpers."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import Tenant
from tests.dashboard.conftest import add_member  # noqa: F401
from tests.files.conftest import backend, moto_server  # noqa: F401
from tests.tenants.conftest import alice, app_url, bob, client_for, member_of  # noqa: F401

LABEL = '@Bob\'s "Quoted" Shop & <Co>'  # a leading @, both quotes, XML's specials
STORE_PASSWORD = "store-pass-7f3e9"
KEY_PASSWORD = "key-pass-19ab2"

requires_toolchain = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("smali", "aapt2", "zipalign", "apksigner", "dexdump", "keytool"))
    or not Path("/usr/share/android-framework-res/framework-res.apk").exists(),
    reason="Debian's Android toolchain is not installed (make toolchains)",
)


@dataclass(frozen=True)
class Keystore:
    path: Path
    kind: str
    alias: str
    store_password: str
    key_password: str
    sha256: str  # the certificate's, as keytool prints it


def _keytool_keystore(folder: Path, kind: str, alias: str, store_password: str, key_password: str) -> Keystore:
    path = folder / f"release.{'jks' if kind == 'jks' else 'p12'}"
    subprocess.run(
        ["keytool", "-genkeypair", "-keystore", str(path), "-storetype", kind.upper(), "-alias", alias,
         "-keyalg", "RSA", "-keysize", "2048", "-validity", "10000", "-dname", f"CN=Hangar Test {kind}, O=Hangar",
         "-storepass", store_password, "-keypass", key_password],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    listing = subprocess.run(
        ["keytool", "-list", "-v", "-keystore", str(path), "-storetype", kind.upper(), "-storepass", store_password],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    match = re.search(r"SHA256:\s*([0-9A-F:]{95})", listing)
    assert match, listing
    return Keystore(path, kind, alias, store_password, key_password, match.group(1).replace(":", "").lower())


@pytest.fixture(scope="session")
def pkcs12_keystore(tmp_path_factory: pytest.TempPathFactory) -> Keystore:
    # PKCS12 keystores made by keytool use one password for the store and the key.
    folder = tmp_path_factory.mktemp("pkcs12")
    return _keytool_keystore(folder, "pkcs12", "release", STORE_PASSWORD, STORE_PASSWORD)


@pytest.fixture(scope="session")
def jks_keystore(tmp_path_factory: pytest.TempPathFactory) -> Keystore:
    return _keytool_keystore(tmp_path_factory.mktemp("jks"), "jks", "upload-key", STORE_PASSWORD, KEY_PASSWORD)


def icon_png(size: int = 512, color: tuple[int, int, int, int] = (220, 40, 90, 255)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size, size), color)
    ImageDraw.Draw(image).ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=(255, 255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


BUNDLE_FILES = {
    "index.html": b"<!doctype html><title>Shop</title><script src='js/app.js'></script><h1>Shop</h1>\n",
    "js/app.js": b"document.body.dataset.ready = 'yes';\n",
    "img/logo.bin": bytes(range(256)) * 4,
}


def web_bundle(files: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (files or BUNDLE_FILES).items():
            archive.writestr(name, data)
    return out.getvalue()


def upload_credential(client: APIClient, tenant: Tenant, keystore: Keystore, *, name: str = "release",
                      store_password: str | None = None, key_password: str | None = None) -> Any:  # fmt: skip
    return client.post(
        app_url(tenant, "/builds/credentials"),
        {"name": name, "kind": keystore.kind, "alias": keystore.alias,
         "keystore": io.BytesIO(keystore.path.read_bytes()),
         "store_password": store_password or keystore.store_password,
         "key_password": key_password or keystore.key_password},
        format="multipart",
    )  # fmt: skip


def save_profile(client: APIClient, tenant: Tenant, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "name": "default", "package_name": "com.example.shop", "label": LABEL, "version_code": 42,
        "version_name": "1.4.2", "credential": "release",
        "icon": io.BytesIO(icon_png()), "web_bundle": io.BytesIO(web_bundle()),
    }  # fmt: skip
    fields.update(overrides)
    fields = {k: v for k, v in fields.items() if v is not None}
    return client.post(app_url(tenant, "/builds/profiles"), fields, format="multipart")


@pytest.fixture
def run_build(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Start a build through the API; the on-commit notice runs it (Celery is eager in tests), as a worker would."""

    def start(client: APIClient, tenant: Tenant, profile: str = "default") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(app_url(tenant, "/builds"), {"profile": profile}, format="json")
        assert answer.status_code == 202, answer.content
        return client.get(app_url(tenant, f"/builds/{answer.json()['number']}"))

    return start


def downloaded(client: APIClient, url: str, folder: Path, name: str = "app.apk") -> Path:
    path = url.split("://", 1)[1].split("/", 1)[1]
    answer = client.get("/" + path)
    assert answer.status_code == 200, answer
    target = folder / name
    target.write_bytes(b"".join(answer.streaming_content))
    return target


@pytest.fixture
def queued_in_broker() -> Any:
    """Notices go to the real broker (Redis), where no worker takes them: the test plays the agent."""
    from hangar.celery_app import app as celery_app

    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    yield
    celery_app.control.purge()
    celery_app.conf.task_always_eager = True


@dataclass(frozen=True)
class HangingTool:
    """A tool that hangs (found first on ``PATH``): a build reaches it and waits, however fast the machine is.

    It starts a child in its own process group and records the child's pid; ``finished`` appears only
    if the tool was left to run to its end. Tests judge a kill by these, not by a wall-clock bound.
    """

    bin_dir: Path
    pid_file: Path
    finished: Path

    def started(self) -> bool:
        return self.pid_file.exists() and self.pid_file.read_text().strip() != ""

    def child_alive(self) -> bool:
        """Whether the tool's child still runs (a zombie waiting for its reaper counts as dead)."""
        try:
            state = Path(f"/proc/{int(self.pid_file.read_text())}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            return False
        return state not in ("Z", "X")

    def stop(self) -> None:
        """Kill the child if the test left it running (a SIGKILLed worker leaves its tools behind)."""
        import os
        import signal

        if self.started() and self.child_alive():
            os.kill(int(self.pid_file.read_text()), signal.SIGKILL)


def hanging_tool(folder: Path, name: str = "smali", seconds: int = 120) -> HangingTool:
    tool = HangingTool(
        bin_dir=folder / "hanging-bin", pid_file=folder / "hanging.pid", finished=folder / "hanging.done"
    )
    tool.bin_dir.mkdir()
    script = tool.bin_dir / name
    # Write the pid only once it is complete (rename), so a reader never sees half of it.
    script.write_text(
        "#!/bin/sh\n"
        f"sleep {seconds} &\n"
        f'echo $! > "{tool.pid_file}.tmp" && mv "{tool.pid_file}.tmp" "{tool.pid_file}"\n'
        "echo 'hanging on purpose'\n"
        "wait $!\n"
        f'touch "{tool.finished}"\n'
    )
    script.chmod(0o755)
    return tool
