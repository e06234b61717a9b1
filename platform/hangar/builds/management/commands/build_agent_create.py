"""``manage.py build_agent_create --name <name> [--platform android]``: a remote build agent, its token shown once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hangar.builds.agents import agent_create
from hangar.builds.models import BuildAgent


class Command(BaseCommand):
    help = "Create a build agent and print its token once (only its SHA-256 is stored)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--platform", action="append", choices=["android"], default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if BuildAgent.objects.filter(name=options["name"]).exists():
            raise CommandError(f"an agent named {options['name']!r} exists")
        _, token = agent_create(name=options["name"], platforms=options["platform"] or ["android"])
        self.stdout.write(token)
