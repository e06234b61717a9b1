"""The mailed-link pages, mounted at ``apps/`` (the paths ``tasks.email_link`` builds)."""

from __future__ import annotations

from django.urls import path

from hangar.identity import pages

app_name = "identity"
urlpatterns = [
    path("<str:application_id>/choose_password", pages.choose_password, name="choose-password"),
    path("<str:application_id>/verify_email", pages.verify_email, name="verify-email"),
]
