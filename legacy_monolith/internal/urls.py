from django.urls import path

from legacy_monolith.internal import views

app_name = "internal"

urlpatterns = [
    path("sync/apply", views.sync_apply, name="sync_apply"),
    path("session/resolve", views.session_resolve, name="session_resolve"),
]
