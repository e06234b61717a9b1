#!/usr/bin/env python
"""Django's command-line entry point; puts platform/ on the import path first.

With ``DATABASE_URL`` / ``REDIS_URL`` unset, commands use the embedded servers of a running
``make run`` (hangar.embedded records them under var/); with neither, a command that needs a
server stops with one line saying what to do instead of trying a server that is not there.
"""

import os
import shutil
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent
for path in (REPO_DIR, REPO_DIR / "platform"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# Commands that read no database or cache, so they run without any server.
SERVERLESS_COMMANDS = {"help", "version", "--help", "-h", "--version", "check", "makemigrations", "spectacular"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hangar.settings")
    from hangar.embedded import services_missing, var_dir

    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    hint = None if command in SERVERLESS_COMMANDS else services_missing(var_dir())
    if hint:
        print(f"manage.py {command}: {hint}", file=sys.stderr)
        sys.exit(2)
    if command == "dbshell" and not shutil.which("psql"):
        from hangar.embedded import client_programs_dir

        programs = client_programs_dir()  # no psql on this machine: the embedded server's own
        if programs is not None:
            os.environ["PATH"] = f"{programs}{os.pathsep}{os.environ.get('PATH', '')}"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
