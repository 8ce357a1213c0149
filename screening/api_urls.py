"""URLs of screening's REST API, mounted at /api/v1/ by the root URLconf (before the visitors API's catch-all)."""

from django.urls import path

from . import api

app_name = "screening_api"

urlpatterns = [
    path("health-statuses/", api.health_statuses_upsert_view, name="health-statuses"),
]
