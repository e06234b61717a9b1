"""Build agents' endpoints, included at /api/v1/agents/ (docs/builds.md, "Agents")."""

from django.urls import path

from hangar.builds import agent_views

app_name = "build_agents"

urlpatterns = [
    path("register", agent_views.register, name="register"),
    path("heartbeat", agent_views.heartbeat, name="heartbeat"),
    path("jobs/claim", agent_views.claim, name="claim"),
    path("jobs/<str:uid>/log", agent_views.log, name="log"),
    path("jobs/<str:uid>/finish", agent_views.finish, name="finish"),
]
