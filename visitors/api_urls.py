"""URLs of the REST API, mounted at /api/v1/ by the root URLconf (which also answers its unknown paths)."""

from django.urls import path

from . import api

app_name = "api"

urlpatterns = [
    path("checkins/", api.checkin_create, name="checkins"),
    path("checkouts/", api.checkout_create, name="checkouts"),
    path("offices/<int:office_id>/occupancy/", api.office_occupancy, name="office-occupancy"),
    path("entrances/<str:code>/hosts/", api.entrance_hosts, name="entrance-hosts"),
]
