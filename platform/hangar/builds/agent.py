"""A remote build agent: ``python -m hangar.builds.agent --url https://hangar.example --token-file agent.token``.

It runs anywhere the toolchain runs (Debian's, ``make toolchains``) and needs one outbound
host: the platform's. It registers its platforms and toolchain, pulls a job, runs the steps
with the same toolchain code the built-in agent runs, streams its log (each call also renews
the build's lease and answers whether it was cancelled), and uploads the APK; the platform
then runs its own test stage before storing it. No Django, no database: only HTTPS calls,
each with a deadline.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from hangar.builds.android.spec import ARTIFACT_MEDIA_TYPES, AndroidBuildSpec, HangarConnection
from hangar.builds.android.toolchain import (
    AndroidToolchain,
    DebianAndroidToolchain,
    SdkAndroidToolchain,
    SigningMaterial,
)
from hangar.builds.errors import BuildCancelledError, BuildError, BuildTimedOutError
from hangar.builds.steps import StepRunner

logger = logging.getLogger("hangar.builds.agent")
CALL_TIMEOUT_SECONDS = 30.0
UPLOAD_TIMEOUT_SECONDS = 300.0
FLUSH_SECONDS = 0.5


class AgentConfigurationError(ValueError):
    """The platform URL is not one the agent will send its token to."""


def platform_url_checked(url: str) -> str:
    """HTTPS, or HTTP only to a loopback address (tests, a platform on the same machine)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname:
        try:
            if parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback:
                return url.rstrip("/")
        except ValueError:
            pass
    raise AgentConfigurationError("the platform URL must be https:// (http:// only to a loopback address)")


class JobReporter:
    """Buffers a job's log lines and step changes and sends them twice a second; remembers a cancel."""

    def __init__(self, client: httpx.Client, uid: str, attempt: int) -> None:
        self.client, self.uid, self.attempt = client, uid, attempt
        self.lines: list[dict[str, str]] = []
        self.steps: list[dict[str, str]] = []
        self.cancel = False
        self._sent = time.monotonic()

    def line(self, step: str, text: str) -> None:
        self.lines.append({"step": step, "text": text})

    def step(self, name: str, state: str, detail: str) -> None:
        self.steps.append({"name": name, "state": state, "detail": detail})

    def cancelled(self) -> bool:
        if time.monotonic() - self._sent >= FLUSH_SECONDS:
            self.flush()
        return self.cancel

    def flush(self) -> None:
        self._sent = time.monotonic()
        lines, steps, self.lines, self.steps = self.lines, self.steps, [], []
        try:
            answer = self.client.post(f"/api/v1/agents/jobs/{self.uid}/log",
                                      json={"attempt": self.attempt, "lines": lines, "steps": steps})  # fmt: skip
        except httpx.HTTPError as exc:  # the next flush carries them; the lease has slack for a missed call
            logger.warning("log upload failed: %s", exc)
            self.lines, self.steps = lines + self.lines, steps + self.steps
            return
        if answer.status_code == 409:  # the platform took the build back (cancelled, reaped): stop
            self.cancel = True
        elif answer.status_code == 200:
            self.cancel = self.cancel or bool(answer.json().get("cancel"))


def spec_from_job(job: dict[str, Any]) -> AndroidBuildSpec:
    spec = job["spec"]
    connection = spec["connection"]
    return AndroidBuildSpec(
        package_name=spec["package_name"], label=spec["label"], version_code=int(spec["version_code"]),
        version_name=spec["version_name"], start_url=spec.get("start_url", ""),
        icon_png=base64.b64decode(spec["icon_png"]),
        web_bundle={path: base64.b64decode(data) for path, data in spec.get("web_bundle", {}).items()},
        connection=HangarConnection(connection["server_url"], connection["application_id"], connection["client_key"]),
        artifact_format=spec.get("artifact_format", "apk"),
    )  # fmt: skip


def material_from_job(job: dict[str, Any]) -> SigningMaterial:
    signing = job["signing"]
    return SigningMaterial(
        keystore=base64.b64decode(signing["keystore"]), keystore_type=signing["keystore_type"],
        alias=signing["alias"], store_password=signing["store_password"], key_password=signing["key_password"],
    )  # fmt: skip


TOOLCHAINS: dict[str, type[AndroidToolchain]] = {"debian": DebianAndroidToolchain, "sdk": SdkAndroidToolchain}


def run_job(client: httpx.Client, job: dict[str, Any], *, workdir: Path, toolchain: AndroidToolchain) -> str:
    """Run one job and report its end; the state the platform recorded."""
    reporter = JobReporter(client, job["uid"], int(job["attempt"]))
    runner = StepRunner(deadline=time.monotonic() + float(job["seconds_left"]), cancelled=reporter.cancelled,
                        on_line=reporter.line, on_step=reporter.step)  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix=f"agent-{job['uid']}-", dir=workdir))
    outcome: dict[str, Any] = {"attempt": job["attempt"]}
    files: dict[str, Any] = {}
    try:
        material = material_from_job(job)
        artifact = toolchain.build(spec_from_job(job), material, workdir=folder, runner=runner)
        outcome.update(state="succeeded", signer_sha256=artifact.signer_sha256)
        files["artifact"] = (
            artifact.path.name,
            artifact.path.read_bytes(),
            ARTIFACT_MEDIA_TYPES[artifact.artifact_format],
        )
    except BuildCancelledError as exc:
        outcome.update(state="cancelled", error_code=exc.code, error_message=exc.message)
    except BuildTimedOutError as exc:
        outcome.update(state="timed_out", error_code=exc.code, error_message=exc.message)
    except BuildError as exc:
        reporter.line(runner.step_name, f"error: {exc.message}")
        outcome.update(state="failed", error_code=exc.code, error_message=exc.message)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    reporter.flush()
    answer = client.post(f"/api/v1/agents/jobs/{job['uid']}/finish", data={"outcome": json.dumps(outcome)},
                         files=files or None, timeout=UPLOAD_TIMEOUT_SECONDS)  # fmt: skip
    answer.raise_for_status()
    return str(answer.json()["state"])


def serve(
    url: str, token: str, *, platform: str, once: bool, poll_seconds: float, workdir: Path, toolchain: AndroidToolchain
) -> int:
    if not toolchain.available():
        logger.error("the %s Android toolchain is not installed here: missing %s", toolchain.name, toolchain.missing())
        return 2
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "hangar-build-agent"}
    # httpx honours HTTPS_PROXY / NO_PROXY from the environment: an agent behind a customer's proxy needs nothing more.
    with httpx.Client(base_url=platform_url_checked(url), headers=headers, timeout=CALL_TIMEOUT_SECONDS) as client:
        registered = client.post("/api/v1/agents/register", json={
            "capabilities": {"platforms": [platform], "toolchains": {platform: toolchain.versions()}},
        })  # fmt: skip
        registered.raise_for_status()
        logger.info("registered as %s", registered.json()["agent"])
        while True:
            answer = client.post("/api/v1/agents/jobs/claim", json={"platform": platform})
            answer.raise_for_status()
            if answer.status_code == 200:
                job = answer.json()
                state = run_job(client, job, workdir=workdir, toolchain=toolchain)
                logger.info("build %s (attempt %s): %s", job["uid"], job["attempt"], state)
            if once:
                return 0
            if answer.status_code == 204:
                client.post("/api/v1/agents/heartbeat").raise_for_status()
                time.sleep(poll_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A Hangar build agent (outbound HTTPS only).")
    parser.add_argument("--url", required=True, help="the platform's public URL")
    parser.add_argument("--token-file", required=True, help="a file holding the agent's token")
    parser.add_argument("--platform", default="android", choices=["android"])
    parser.add_argument("--once", action="store_true", help="run at most one job, then exit")
    parser.add_argument("--poll-seconds", type=float, default=2.0)
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--toolchain", choices=sorted(TOOLCHAINS), default="debian",
                        help="debian (make toolchains) or sdk (ANDROID_HOME)")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = Path(args.token_file).read_text().strip()
    return serve(args.url, token, platform=args.platform, once=args.once, poll_seconds=args.poll_seconds,
                 workdir=Path(args.workdir), toolchain=TOOLCHAINS[args.toolchain]())  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
