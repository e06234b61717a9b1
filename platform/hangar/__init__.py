"""Hangar's platform services (the umbrella package under platform/)."""

from hangar.celery_app import app as celery_app

__all__ = ["celery_app"]
