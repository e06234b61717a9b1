"""Public artifact links, included at /builds/."""

from django.urls import path

from hangar.builds import views

app_name = "builds"

urlpatterns = [
    path("artifacts/<str:token>", views.artifact_download, name="artifact-download"),
    path("install/<str:token>", views.artifact_install, name="artifact-install"),
]
