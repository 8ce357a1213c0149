"""URLs of the door console's REST API, mounted at /api/v1/ by the root URLconf before visitors' catch-all."""

from django.urls import path

from . import api

app_name = "door_api"

urlpatterns = [
    path("entrances/<int:entrance_id>/events/", api.entrance_events, name="entrance-events"),
    path("scans/<int:scan_id>/decision/", api.scan_decision, name="scan-decision"),
]
