"""URLs of the REST API, mounted at /api/v1/ by the root URLconf."""

from django.urls import path, re_path

from . import api, report_api

app_name = "api"

urlpatterns = [
    path("checkins/", api.checkin_create, name="checkins"),
    path("checkouts/", api.checkout_create, name="checkouts"),
    path("offices/<int:office_id>/occupancy/", api.office_occupancy, name="office-occupancy"),
    path("entrances/<int:entrance_id>/events/", api.entrance_events, name="entrance-events"),
    path("exposures/", report_api.exposures_create, name="exposures"),
    # Keep last: any other path under /api/v1/ answers a JSON 404 instead of Django's HTML page.
    re_path(r"^.*$", api.api_not_found),
]
