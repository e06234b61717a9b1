"""CSV and JSON import of a class from the dashboard: checked first, imported in batches by a worker, with progress.

A JSON file is an array of objects or a Parse export (``{"results": [...]}``, what the
dashboard's and Parse Dashboard's exports write); a CSV file has a header line of the
class's existing columns and cells typed as in the grid (JSON for objects and arrays).
Before anything is written the whole file is parsed and each row checked against the
class's schema (types, pointer targets, a CSV cell's text); a row that does not fit is
reported with its number and skipped. The rest are
created through the Parse API's create (``data_browser.data_object_create``: the same
validation, triggers and change feed), and the job (``tenants.models.DataImportJob``, with
the file until it ends) records its progress a batch at a time for the status page.

A worker killed mid-import is survived: the task is acknowledged late, so kombu hands it
to another worker, which takes the job over once the dead one's heartbeat is stale and
resumes after the last recorded batch. Row N of job J always gets the objectId
``object_id_for(J, N)``, so a row the dead worker had created but not yet recorded is
found (the create answers 137 and the object is there), counted, and not made twice.

A fatal error (the file is not JSON, the class is gone, too many rows refused, an
unexpected failure) deletes the objects this job created, found by those same ids, so a
failed import leaves no partial data behind. A file's objectId, createdAt and updatedAt are
not imported (objects get the job's ids), nor a CSV's ACL column (a JSON row's ACL is).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import secrets
import string
import time
from datetime import timedelta
from typing import Any

import orjson
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from hangar.parse_errors import DUPLICATE_VALUE, ParseError
from tenants import data_browser
from tenants.data_browser import DataInputError
from tenants.models import App, DataImportJob, Developer

log = logging.getLogger(__name__)

IMPORT_MAX_BYTES = 10 * 1024 * 1024
IMPORT_MAX_ROWS = 20_000
BATCH_SIZE = 100  # rows written between two progress updates
MAX_ROW_ERRORS = 100  # more refused rows than this and the file is the wrong one: the job fails and rolls back
ERRORS_KEPT = 50  # per-row errors shown on the status page
# A running job's worker records its progress at least every HANGAR_DATA_IMPORT_HEARTBEAT_SECONDS;
# a redelivered task that finds the job's last record older than six of those takes it over (its
# worker died), otherwise it retries later. Kombu redelivers a dead worker's task after
# HANGAR_TASK_VISIBILITY_TIMEOUT_SECONDS.
STALE_AFTER_HEARTBEATS = 6


def heartbeat_seconds() -> float:
    return float(settings.HANGAR_DATA_IMPORT_HEARTBEAT_SECONDS)


def heartbeat_stale_seconds() -> float:
    return heartbeat_seconds() * STALE_AFTER_HEARTBEATS


QUEUE_DOWN_MESSAGE = (
    "The task queue did not answer, so the import could not start; nothing was imported. Try again in a minute."
)
_ID_ALPHABET = string.ascii_letters + string.digits
_SKIPPED_KEYS = frozenset({"objectId", "createdAt", "updatedAt"})
_CSV_SKIPPED = frozenset({*_SKIPPED_KEYS, "ACL"})
_LINE_ERROR = "__lineError"  # a CSV line whose text did not convert (no Parse field name starts with "__")
_TYPED = {"Date", "Pointer", "File", "GeoPoint", "Bytes", "Polygon", "Relation"}


def import_job_get(*, app: App, job_id: str) -> DataImportJob | None:
    """The job of this app with this id; None for another app's id."""
    return DataImportJob.objects.filter(app=app, public_id=job_id).first()


def rows_of(content: bytes) -> list[Any]:
    """The rows of a JSON array or of a Parse export; DataInputError when the file is neither."""
    if len(content) > IMPORT_MAX_BYTES:
        raise DataInputError(f"Import at most {IMPORT_MAX_BYTES // (1024 * 1024)} MB at a time.")
    try:
        parsed = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise DataInputError(f"The file is not valid JSON: {exc}") from exc
    rows = parsed.get("results") if isinstance(parsed, dict) else parsed
    if not isinstance(rows, list):
        raise DataInputError('A JSON import is an array of objects, or an export {"results": [...]}.')
    if len(rows) > IMPORT_MAX_ROWS:
        raise DataInputError(f"Import at most {IMPORT_MAX_ROWS} objects at a time; split the file.")
    return rows


def csv_rows_of(content: bytes, fields: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each CSV line as the Parse values its cells stand for; a line that does not convert carries its error."""
    if len(content) > IMPORT_MAX_BYTES:
        raise DataInputError(f"Import at most {IMPORT_MAX_BYTES // (1024 * 1024)} MB at a time.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataInputError("The file is not UTF-8 text.") from exc
    reader = csv.DictReader(io.StringIO(text))
    unknown = [name for name in reader.fieldnames or [] if name not in fields]
    if not reader.fieldnames or unknown:
        raise DataInputError(f"Unknown columns: {', '.join(unknown) or '(no header line)'}; add them first.")
    rows: list[dict[str, Any]] = []
    for line in reader:
        if len(rows) >= IMPORT_MAX_ROWS:
            raise DataInputError(f"Import at most {IMPORT_MAX_ROWS} objects at a time; split the file.")
        try:
            rows.append({
                name: data_browser.value_from_text(fields[name], cell)
                for name, cell in line.items()
                if name is not None and name not in _CSV_SKIPPED and cell not in (None, "")
            })  # fmt: skip
        except ParseError as exc:
            rows.append({_LINE_ERROR: exc.message})
    return rows


def _type_of(value: Any) -> str | None:
    """The Parse type a JSON value stands for (None for null: it fits every column)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    kind = value.get("__type") if isinstance(value, dict) else None
    return str(kind) if kind in _TYPED else "Object"


def row_problem(row: Any, fields: dict[str, dict[str, Any]]) -> str:
    """Why a row cannot be imported into a class with these fields ("" when it can)."""
    if not isinstance(row, dict):
        return "each row is a JSON object"
    if _LINE_ERROR in row:
        return str(row[_LINE_ERROR])
    for name, value in row.items():
        if name in _SKIPPED_KEYS:
            continue
        spec = fields.get(name)
        kind = _type_of(value)
        if spec is None or kind is None:
            continue  # a new column is added by the create (master key), as the API does
        if name == "ACL" and isinstance(value, dict):
            continue
        if kind != spec["type"]:
            return f"{name} is a {spec['type']} column; this row has a {kind}"
        if kind == "Pointer" and value.get("className") != spec.get("targetClass"):
            return f"{name} points to {spec.get('targetClass')}; this row points to {value.get('className')}"
    return ""


def import_start(
    *, app: App, class_name: str, content: bytes, is_csv: bool = False, started_by: Developer | None = None
) -> DataImportJob:
    """Check the file, record the job with it and queue the import; fatal problems raise before anything runs.

    If the task queue does not answer, the job is recorded as failed with the reason (the
    caller shows it): an import nobody will run is never left "queued".
    """
    fields = data_browser.data_class_get(app=app, class_name=class_name)["fields"]  # 103 before a job exists
    rows = csv_rows_of(content, fields) if is_csv else rows_of(content)
    job = DataImportJob.objects.create(
        public_id=secrets.token_hex(8), app=app, class_name=class_name, is_csv=is_csv, content=content,
        total=len(rows), started_by=started_by,
    )  # fmt: skip
    from tenants.tasks import data_import_run  # the task module imports this one

    try:
        data_import_run.delay(app_pk=app.pk, job_id=job.public_id)
    except (KombuOperationalError, redis.RedisError, OSError) as exc:
        log.warning("import %s of app %s not queued: %s", job.public_id, app.pk, exc)
        _finish(job, DataImportJob.Status.FAILED, fatal=QUEUE_DOWN_MESSAGE)
    job.refresh_from_db()
    return job


def object_id_for(job_id: str, number: int) -> str:
    """The objectId row ``number`` of job ``job_id`` gets: the same on every run, so a resumed run finds its own."""
    value = int.from_bytes(hashlib.sha256(f"{job_id}:{number}".encode()).digest()[:8], "big")
    chars = []
    for _ in range(10):  # 62**10 > 2**59: ten base-62 digits, like a Parse objectId
        value, digit = divmod(value, 62)
        chars.append(_ID_ALPHABET[digit])
    return "".join(chars)


class ImportBusyError(Exception):
    """Another run of the job is alive (its heartbeat is fresh): the task retries later instead of running it twice."""


def _claim(app_pk: int, job_id: str) -> DataImportJob | None:
    """Take the job for this run: a queued one, or a running one whose worker stopped beating (it died)."""
    with transaction.atomic():
        job = DataImportJob.objects.select_for_update().filter(app_id=app_pk, public_id=job_id).first()
        if job is None or job.finished:
            return None
        now = timezone.now()
        if (
            job.status == DataImportJob.Status.RUNNING
            and job.heartbeat_at
            and (now - job.heartbeat_at) < timedelta(seconds=heartbeat_stale_seconds())
        ):
            raise ImportBusyError(job_id)
        job.status, job.heartbeat_at, job.attempts = DataImportJob.Status.RUNNING, now, job.attempts + 1
        job.save(update_fields=["status", "heartbeat_at", "attempts"])
    if job.attempts > 1:
        log.warning("import %s of app %s resumed after row %s (run %s)", job_id, app_pk, job.done, job.attempts)
    return job


def _save_progress(job: DataImportJob, **extra: Any) -> None:
    """Write the figures of every row up to ``job.done`` at once: a run that resumes starts after them."""
    fields = {"done": job.done, "created": job.created, "errors": job.errors, "error_count": job.error_count}
    DataImportJob.objects.filter(pk=job.pk).update(**fields, heartbeat_at=timezone.now(), **extra)


def _finish(job: DataImportJob, status: str, *, fatal: str = "") -> None:
    job.status, job.fatal, job.finished_at = status, fatal or job.fatal, timezone.now()
    DataImportJob.objects.filter(pk=job.pk).update(
        status=status, fatal=job.fatal, finished_at=job.finished_at, rolled_back=job.rolled_back,
        done=job.done, created=job.created, errors=job.errors, error_count=job.error_count, content=b"",
    )  # fmt: skip


def _refuse(job: DataImportJob, number: int, message: str) -> None:
    job.error_count += 1
    if len(job.errors) < ERRORS_KEPT:
        unit, offset = ("line", 1) if job.is_csv else ("row", 0)  # a CSV's line numbers count its header
        job.errors.append(f"{unit} {number + offset}: {message}")
    if job.error_count > MAX_ROW_ERRORS:
        raise DataInputError(f"More than {MAX_ROW_ERRORS} rows were refused; is this the right file for the class?")


def _create(app: App, job: DataImportJob, number: int, body: dict[str, Any]) -> None:
    object_id = object_id_for(job.public_id, number)
    try:
        data_browser.data_object_create(app=app, class_name=job.class_name, body=body, object_id=object_id)
    except ParseError as exc:
        # A run killed after this row's create and before its batch was recorded made it already.
        if exc.code != DUPLICATE_VALUE or not _exists(app, job.class_name, object_id):
            raise
    job.created += 1


def _exists(app: App, class_name: str, object_id: str) -> bool:
    try:
        data_browser.data_object_get(app=app, class_name=class_name, object_id=object_id)
    except ParseError:
        return False
    return True


def _import_rows(job: DataImportJob, app: App, rows: list[Any]) -> None:
    """Import the rows after ``job.done``; progress is recorded every batch and every few seconds (the heartbeat)."""
    fields = data_browser.data_class_get(app=app, class_name=job.class_name)["fields"]
    last_beat = time.monotonic()
    for number in range(job.done + 1, len(rows) + 1):
        row = rows[number - 1]
        problem = row_problem(row, fields)
        if problem:
            _refuse(job, number, problem)
        else:
            body = {name: value for name, value in row.items() if name not in _SKIPPED_KEYS and value is not None}
            try:
                _create(app, job, number, body)
            except ParseError as exc:
                _refuse(job, number, f"{exc.message} (Parse error {exc.code})")
        job.done = number
        if number % BATCH_SIZE == 0 or time.monotonic() - last_beat > heartbeat_seconds():
            _save_progress(job)
            last_beat = time.monotonic()


def _rows_of_job(job: DataImportJob, app: App) -> list[Any]:
    content = bytes(job.content)
    if not job.is_csv:
        return rows_of(content)
    return csv_rows_of(content, data_browser.data_class_get(app=app, class_name=job.class_name)["fields"])


def import_run(*, app_pk: int, job_id: str) -> DataImportJob | None:
    """Run a queued job, or resume one whose worker died (ImportBusyError while its worker still beats).

    Rows already recorded are not imported again and a row whose object exists is counted,
    not created twice; a job that failed while being rolled back finishes its roll-back.
    """
    job = _claim(app_pk, job_id)
    if job is None:
        return None
    app = job.app
    try:
        if job.fatal:  # the run that failed died while rolling back
            raise DataInputError(job.fatal)
        _import_rows(job, app, _rows_of_job(job, app))
    except Exception as exc:  # anything: a fatal error must not leave half an import behind
        message = exc.message if isinstance(exc, ParseError) else f"the import stopped: {type(exc).__name__}"
        log.warning("import %s of app %s failed after row %s; rolling back", job_id, app_pk, job.done)
        job.fatal = message
        _save_progress(job, fatal=message)  # a run killed during the roll-back is resumed as a roll-back
        job.rolled_back = _roll_back(app, job)
        job.created = 0
        _finish(job, DataImportJob.Status.FAILED)
    else:
        _finish(job, DataImportJob.Status.DONE)
    job.refresh_from_db()
    return job


def _roll_back(app: App, job: DataImportJob) -> int:
    """Delete what the failed job created (through the API's delete, so triggers and LiveQuery see it).

    The ids are derived from the row numbers, so the objects are found even when the run
    that made them died before recording them; a refused row's id has no object.
    """
    removed = 0
    # Up to a batch past the recorded rows: a killed run may have made those before recording them.
    for number in range(1, min(job.total, job.done + BATCH_SIZE + 1) + 1):
        object_id = object_id_for(job.public_id, number)
        try:  # one at a time: an object deleted meanwhile does not stop the rest
            removed += data_browser.data_objects_delete(app=app, class_name=job.class_name, object_ids=[object_id])
        except ParseError:
            continue
    return removed
