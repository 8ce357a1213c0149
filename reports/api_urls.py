"""URLs of the contact-tracing REST API, mounted at /api/v1/ by the root URLconf (before visitors' catch-all)."""

from django.urls import path

from . import api

app_name = "reports_api"

urlpatterns = [
    path("exposures/", api.exposures_create, name="exposures"),
    path("exposures/notify/", api.exposures_notify, name="exposures_notify"),
]
