"""``manage.py build_vault_rewrap``: after prepending a key to HANGAR_BUILDS_VAULT_KEYS, wrap every data key with it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hangar.builds.credentials import vault_rewrap


class Command(BaseCommand):
    help = "Re-wrap every signing credential's data key with the first key of HANGAR_BUILDS_VAULT_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"re-wrapped {vault_rewrap()} signing credentials")
