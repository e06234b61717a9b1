"""The built-in agent: run one claimed build to its end (toolchain, test stage, artifact, state)."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from hangar.builds import artifacts, verify
from hangar.builds.android.spec import AndroidBuildSpec, HangarConnection, web_bundle_checked
from hangar.builds.android.toolchain import AndroidToolchain
from hangar.builds.credentials import credential_open
from hangar.builds.errors import BuildCancelledError, BuildError, BuildTimedOutError, VaultError
from hangar.builds.log_stream import line_publish
from hangar.builds.models import Build, BuildLogLine, BuildStep
from hangar.builds.queue import app_retention, notify_workers
from hangar.builds.steps import StepRunner
from hangar.secretbox import decrypt_secret
from tenants.models import AppKey

logger = logging.getLogger(__name__)


def android_toolchain() -> AndroidToolchain:
    return import_string(settings.HANGAR_BUILDS_ANDROID_TOOLCHAIN)()  # type: ignore[no-any-return]


class BuildJournal:
    """Writes a build's step states and log lines as they happen, and keeps its lease alive."""

    def __init__(self, build: Build) -> None:
        self.build = build
        self.seq = BuildLogLine.objects.filter(build=build).count()
        self._steps: dict[str, BuildStep] = {}
        self._lease_renewed = time.monotonic()

    def line(self, step: str, text: str) -> None:
        self.seq += 1
        BuildLogLine.objects.create(build=self.build, seq=self.seq, step=step, text=text)
        line_publish(self.build.uid, self.seq, step, text)

    def step(self, name: str, state: str, detail: str) -> None:
        if state == "started":
            self._steps[name] = BuildStep.objects.create(
                build=self.build, attempt=self.build.attempt, name=name, state="running"
            )
            return
        row = self._steps.get(name)
        if row is not None:
            row.state, row.detail, row.finished_at = state, detail, timezone.now()
            row.save(update_fields=["state", "detail", "finished_at"])

    def cancelled(self) -> bool:
        """Whether a cancel was asked; renews the lease on the way (a live worker's heartbeat)."""
        now = time.monotonic()
        if now - self._lease_renewed > settings.HANGAR_BUILDS_LEASE_SECONDS / 3:
            self._lease_renewed = now
            Build.objects.filter(pk=self.build.pk, attempt=self.build.attempt, state=Build.State.RUNNING).update(
                lease_expires_at=timezone.now() + timedelta(seconds=settings.HANGAR_BUILDS_LEASE_SECONDS)
            )
        row = Build.objects.filter(pk=self.build.pk).values("cancel_requested", "state", "attempt").first()
        return row is None or row["cancel_requested"] or row["attempt"] != self.build.attempt


def spec_of(build: Build) -> AndroidBuildSpec:
    key = AppKey.objects.filter(app=build.app, kind=AppKey.Kind.CLIENT).first()
    connection = HangarConnection(
        server_url=f"{settings.HANGAR_PUBLIC_URL}{settings.HANGAR_PARSE_MOUNT}",
        application_id=build.app.application_id,
        client_key=decrypt_secret(key.ciphertext) if key is not None else "",
    )
    bundle = bytes(build.web_bundle) if build.web_bundle else None
    files = web_bundle_checked(bundle, max_bytes=settings.HANGAR_BUILDS_MAX_BUNDLE_BYTES) if bundle else {}
    spec = build.spec
    return AndroidBuildSpec(
        package_name=spec["package_name"], label=spec["label"], version_code=spec["version_code"],
        version_name=spec["version_name"], icon_png=bytes(build.icon_png), connection=connection,
        start_url=spec["start_url"], web_bundle=files, artifact_format=spec.get("artifact_format", "apk"),
    )  # fmt: skip


def build_runner(build: Build, journal: BuildJournal) -> StepRunner:
    """A step runner for the rest of the build's time limit, writing to its journal."""
    started = build.started_at or timezone.now()
    remaining = build.timeout_seconds - (timezone.now() - started).total_seconds()
    return StepRunner(
        deadline=time.monotonic() + remaining, cancelled=journal.cancelled, on_line=journal.line, on_step=journal.step
    )


def build_execute(build: Build, *, agent: str) -> Build:
    """Run a build this agent has claimed; ends it in succeeded, failed, cancelled or timed_out."""
    journal = BuildJournal(build)
    runner = build_runner(build, journal)
    settings.HANGAR_BUILDS_WORKDIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"build-{build.uid}-", dir=settings.HANGAR_BUILDS_WORKDIR))
    try:
        outcome = _run(build, runner, workdir, agent)
        return finish_build(build, Build.State.SUCCEEDED, **outcome)
    except BuildCancelledError as exc:
        return finish_build(build, Build.State.CANCELLED, error_code=exc.code, error_message=exc.message)
    except BuildTimedOutError as exc:
        return finish_build(build, Build.State.TIMED_OUT, error_code=exc.code, error_message=exc.message)
    except BuildError as exc:
        journal.line(runner.step_name, f"error: {exc.message}")
        return finish_build(build, Build.State.FAILED, error_code=exc.code, error_message=exc.message)
    except Exception:
        logger.exception("build %s failed unexpectedly", build.uid)
        return finish_build(build, Build.State.FAILED, error_code="internal_error", error_message="The build failed.")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(build: Build, runner: StepRunner, workdir: Path, agent: str) -> dict[str, Any]:
    with runner.step("validate"):
        spec = spec_of(build)
    if build.credential is None:
        raise VaultError("The build's signing credential was deleted.")
    with runner.step("unseal"):
        material = credential_open(credential=build.credential, build=build, agent=agent, purpose="android-sign")
        runner.log(f"opened credential {build.credential.name} ({build.credential.kind}, alias {material.alias})")
    artifact = android_toolchain().build(spec, material, workdir=workdir, runner=runner)
    return artifact_accepted(build, artifact.path, spec=spec, signer_sha256=artifact.signer_sha256, runner=runner)


def artifact_accepted(
    build: Build, artifact: Path, *, spec: AndroidBuildSpec, signer_sha256: str, runner: StepRunner
) -> dict[str, Any]:
    """The test stage (here, whoever built it), then the APK or AAB to storage; the fields that end the build."""
    if build.credential is None:
        raise VaultError("The build's signing credential was deleted.")
    with runner.step("test"):
        report = verify.artifact_report(artifact, spec=spec, signer_sha256=signer_sha256, runner=runner)
        if signer_sha256 != build.credential.certificate_sha256:
            raise VaultError("The artifact's signer is not the credential's certificate.")
    with runner.step("upload"):
        backend, key, size, digest = artifacts.artifact_store(build, artifact)
        runner.log(f"stored {size} bytes, sha256 {digest}")
    report["steps_seconds"] = {name: round(seconds, 3) for name, seconds in runner.durations.items()}
    return {
        "artifact_backend": backend, "artifact_key": key, "artifact_size": size, "artifact_sha256": digest,
        "signer_sha256": signer_sha256, "report": report,
    }  # fmt: skip


def finish_build(build: Build, state: str, **fields: Any) -> Build:
    """End the build if this attempt still owns it (a reaped or cancelled-and-retried one does not)."""
    now = timezone.now()
    with transaction.atomic():
        updated = Build.objects.filter(pk=build.pk, attempt=build.attempt, state=Build.State.RUNNING).update(
            state=state, finished_at=now, lease_expires_at=None, web_bundle=None,
            expires_at=now + app_retention(build.app), **fields,
        )  # fmt: skip
        if not updated and fields.get("artifact_key"):  # this attempt lost the build: keep nothing it stored
            artifacts.artifact_delete_key(fields["artifact_backend"], fields["artifact_key"])
        if Build.objects.filter(platform=build.platform, state=Build.State.QUEUED).exists():
            transaction.on_commit(lambda: notify_workers(build.platform))
    build.refresh_from_db()
    return build


def build_reap() -> int:
    """Builds whose worker vanished (lease ran out): run again from the start once, then failed."""
    now = timezone.now()
    count = 0
    for build in Build.objects.filter(state=Build.State.RUNNING, lease_expires_at__lt=now):
        if build.attempt < 2 and not build.cancel_requested:
            count += Build.objects.filter(pk=build.pk, attempt=build.attempt, state=Build.State.RUNNING).update(
                state=Build.State.QUEUED, agent="", lease_expires_at=None
            )
        else:
            if build.cancel_requested:  # its worker went before it could say so: cancelled all the same
                code, state, message = "cancelled", Build.State.CANCELLED, "The build was cancelled."
            else:
                code, state, message = "worker_lost", Build.State.FAILED, "The build's worker stopped answering twice."
            count += Build.objects.filter(pk=build.pk, attempt=build.attempt, state=Build.State.RUNNING).update(
                state=state, finished_at=now, lease_expires_at=None, error_code=code, error_message=message,
            )  # fmt: skip
    queued = set(Build.objects.filter(state=Build.State.QUEUED).values_list("platform", flat=True).distinct())
    for platform in queued:
        notify_workers(platform)
    return count


def builds_expire() -> int:
    """Drop artifacts and logs past their retention; the build's row stays as history."""
    count = 0
    for build in Build.objects.filter(expires_at__lt=timezone.now()):
        artifacts.artifact_delete(build)
        BuildLogLine.objects.filter(build=build).delete()
        # No expiry left: the row is history now, and the next tick passes it by.
        Build.objects.filter(pk=build.pk).update(artifact_key="", report={}, web_bundle=None, expires_at=None)
        count += 1
    return count
