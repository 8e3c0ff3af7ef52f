"""Include with ``path("", include("strangler_django.urls"))``: /healthz, /readyz and /internal/..."""

from django.urls import path

from strangler_django import health, session_messages, session_state, sync_positions, views

app_name = "strangler"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("internal/sync/apply", views.sync_apply, name="sync_apply"),
    path("internal/sync/arrived", sync_positions.sync_arrived, name="sync_arrived"),
    path("internal/session/resolve", views.session_resolve, name="session_resolve"),
    path("internal/session/state", session_state.session_state, name="session_state"),
    path("internal/session/messages", session_messages.session_messages, name="session_messages"),
]
