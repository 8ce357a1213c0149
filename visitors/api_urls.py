"""URLs of the REST API, mounted at /api/v1/ by the root URLconf."""

from django.urls import path, re_path

from . import api

app_name = "api"

urlpatterns = [
    path("checkins/", api.checkin_create, name="checkins"),
    path("checkouts/", api.checkout_create, name="checkouts"),
    path("offices/<int:office_id>/occupancy/", api.office_occupancy, name="office-occupancy"),
    # Keep last: any other path under /api/v1/ answers a JSON 404 instead of Django's HTML page.
    re_path(r"^[\s\S]*$", api.api_not_found),
]
