"""URLs of the door officer console, mounted at /door/ by the root URLconf."""

from django.urls import path

from . import door_views

app_name = "door"

urlpatterns = [
    path("", door_views.door_index, name="index"),
    path("<int:entrance_id>/", door_views.door_screen, name="screen"),
    path("<int:entrance_id>/kiosk/", door_views.door_kiosk, name="kiosk"),
    path("<int:entrance_id>/events", door_views.door_events, name="events"),
    path("<int:entrance_id>/events.json", door_views.door_events_json, name="events_json"),
    path("<int:entrance_id>/inside", door_views.door_inside, name="inside"),
    path("<int:entrance_id>/cases/<int:event_id>/approve", door_views.door_approve, name="approve"),
    path("<int:entrance_id>/cases/<int:event_id>/deny", door_views.door_deny, name="deny"),
    path("<int:entrance_id>/alerts/<int:event_id>/ack", door_views.door_ack, name="ack"),
    path("<int:entrance_id>/checkin", door_views.door_checkin, name="checkin"),
    path("<int:entrance_id>/checkout", door_views.door_checkout, name="checkout"),
    path("<int:entrance_id>/close-day", door_views.door_close_day, name="close_day"),
]
