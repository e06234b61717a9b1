"""CSV and JSON import of a class from the dashboard: checked first, imported in batches by a worker, with progress.

A JSON file is an array of objects or a Parse export (``{"results": [...]}``, what the
dashboard's and Parse Dashboard's exports write); a CSV file has a header line of the
class's existing columns and cells typed as in the grid (JSON for objects and arrays).
Before anything is written the whole file is parsed and each row checked against the
class's schema (types, pointer targets, a CSV cell's text); a row that does not fit is
reported with its number and skipped. The rest are
created through the Parse API's create (``data_browser.data_object_create``: the same
validation, triggers and change feed), a batch at a time, and the job's progress is kept
in the cache for the status page. A fatal error (the file is not JSON, the class is gone,
too many rows refused, an unexpected failure) deletes the objects this job created, so a
failed import leaves no partial data behind. objectId, createdAt and updatedAt are not
imported (objects get new ids, as Parse's own import does without custom ids), nor a CSV's
ACL column (a JSON row's ACL is).
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from django.core.cache import cache

from hangar.parse_errors import ParseError
from tenants import data_browser
from tenants.data_browser import DataInputError
from tenants.models import App

log = logging.getLogger(__name__)

IMPORT_MAX_BYTES = 10 * 1024 * 1024
IMPORT_MAX_ROWS = 20_000
BATCH_SIZE = 100  # rows written between two progress updates
MAX_ROW_ERRORS = 100  # more refused rows than this and the file is the wrong one: the job fails and rolls back
ERRORS_KEPT = 50  # per-row errors shown on the status page
JOB_TTL_SECONDS = 24 * 3600
_SKIPPED_KEYS = frozenset({"objectId", "createdAt", "updatedAt"})
_CSV_SKIPPED = frozenset({*_SKIPPED_KEYS, "ACL"})
_LINE_ERROR = "__lineError"  # a CSV line whose text did not convert (no Parse field name starts with "__")
_TYPED = {"Date", "Pointer", "File", "GeoPoint", "Bytes", "Polygon", "Relation"}


@dataclass
class ImportJob:
    job_id: str
    app_pk: int
    class_name: str
    unit: str = "row"  # how refused rows are named: "row N" (JSON) or "line N" (CSV, counting the header)
    offset: int = 0
    status: str = "queued"  # queued, running, done, failed
    total: int = 0
    done: int = 0  # rows handled (created or refused)
    created: int = 0
    errors: list[str] = field(default_factory=list)  # "row N: message", the first ERRORS_KEPT
    error_count: int = 0
    fatal: str = ""
    rolled_back: int = 0

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


def _job_key(app_pk: int, job_id: str) -> str:
    return f"dashboard:import:{app_pk}:{job_id}"


def _rows_key(app_pk: int, job_id: str) -> str:
    return f"dashboard:import:{app_pk}:{job_id}:rows"


def _save(job: ImportJob) -> None:
    cache.set(_job_key(job.app_pk, job.job_id), asdict(job), JOB_TTL_SECONDS)


def import_job_get(*, app: App, job_id: str) -> ImportJob | None:
    """The job of this app with this id; None for another app's id (the key names the app)."""
    stored = cache.get(_job_key(app.pk, job_id)) if job_id.isalnum() else None
    return ImportJob(**stored) if isinstance(stored, dict) else None


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


def import_start(*, app: App, class_name: str, content: bytes, is_csv: bool = False) -> ImportJob:
    """Check the file, keep its rows for the worker and queue the import; fatal problems raise before anything runs."""
    fields = data_browser.data_class_get(app=app, class_name=class_name)["fields"]  # 103 before a job exists
    rows = csv_rows_of(content, fields) if is_csv else rows_of(content)
    job = ImportJob(
        job_id=secrets.token_hex(8), app_pk=app.pk, class_name=class_name, total=len(rows),
        unit="line" if is_csv else "row", offset=1 if is_csv else 0,
    )  # fmt: skip
    cache.set(_rows_key(app.pk, job.job_id), orjson.dumps(rows), JOB_TTL_SECONDS)
    _save(job)
    from tenants.tasks import data_import_run  # the task module imports this one

    data_import_run.delay(app_pk=app.pk, job_id=job.job_id)
    return job


def _refuse(job: ImportJob, number: int, message: str) -> None:
    job.error_count += 1
    if len(job.errors) < ERRORS_KEPT:
        job.errors.append(f"{job.unit} {number + job.offset}: {message}")
    if job.error_count > MAX_ROW_ERRORS:
        raise DataInputError(f"More than {MAX_ROW_ERRORS} rows were refused; is this the right file for the class?")


def _import_rows(job: ImportJob, app: App, rows: list[Any], created_ids: list[str]) -> None:
    fields = data_browser.data_class_get(app=app, class_name=job.class_name)["fields"]
    for number, row in enumerate(rows, start=1):
        problem = row_problem(row, fields)
        if problem:
            _refuse(job, number, problem)
        else:
            body = {name: value for name, value in row.items() if name not in _SKIPPED_KEYS and value is not None}
            try:
                created_ids.append(data_browser.data_object_create(app=app, class_name=job.class_name, body=body))
                job.created += 1
            except ParseError as exc:
                _refuse(job, number, f"{exc.message} (Parse error {exc.code})")
        job.done = number
        if number % BATCH_SIZE == 0:
            _save(job)


def import_run(*, app_pk: int, job_id: str) -> ImportJob | None:
    """Run a queued job once (a duplicate delivery finds it running or finished and does nothing)."""
    app = App.objects.filter(pk=app_pk).first()
    job = import_job_get(app=app, job_id=job_id) if app else None
    if app is None or job is None or not cache.add(f"{_job_key(app_pk, job_id)}:lock", 1, JOB_TTL_SECONDS):
        return None
    raw = cache.get(_rows_key(app_pk, job_id))
    job.status = "running"
    _save(job)
    created_ids: list[str] = []
    try:
        _import_rows(job, app, orjson.loads(raw) if raw else [], created_ids)
    except Exception as exc:  # anything: a fatal error must not leave half an import behind
        message = exc.message if isinstance(exc, ParseError) else f"the import stopped: {type(exc).__name__}"
        log.warning("import %s of app %s failed; rolling back %s objects", job_id, app_pk, len(created_ids))
        job.status, job.fatal = "failed", message
        job.rolled_back = _roll_back(app, job.class_name, created_ids)
        job.created = 0
    else:
        job.status = "done"
    cache.delete(_rows_key(app_pk, job_id))
    _save(job)
    return job


def _roll_back(app: App, class_name: str, object_ids: list[str]) -> int:
    """Delete what the failed job created (through the API's delete, so triggers and LiveQuery see it)."""
    removed = 0
    for object_id in object_ids:  # one at a time: an object deleted meanwhile does not stop the rest
        try:
            removed += data_browser.data_objects_delete(app=app, class_name=class_name, object_ids=[object_id])
        except ParseError:
            log.warning("rolling back import into %s of app %s: %s already gone", class_name, app.pk, object_id)
    return removed
