"""The test suite's small override of hangar.settings."""

import os

os.environ.setdefault("HANGAR_ENV", "test")

from hangar.settings import *  # noqa: F403
from hangar.settings import VAR_DIR

# Fast hashing keeps the suite quick; production keeps Django's PBKDF2 default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
HANGAR_FILES_DIR = VAR_DIR / "test-files"
HANGAR_BACKUP_DIR = VAR_DIR / "test-backups"
CACHES = {**CACHES, "default": {**CACHES["default"], "KEY_PREFIX": "hangar-test"}}  # noqa: F405
# Tests create their apps' partitions as they go (tests/tenants/test_spare_partitions.py turns the pool on):
# spares made ahead would be dropped by every transactional test's flush.
HANGAR_SPARE_APP_PARTITIONS = 0
