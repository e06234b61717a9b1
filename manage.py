#!/usr/bin/env python
"""Django's command-line entry point; puts platform/ on the import path first."""

import os
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent
for path in (REPO_DIR, REPO_DIR / "platform"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
