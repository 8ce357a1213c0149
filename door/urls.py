"""URLs of the door officer console, mounted at /door/ by the root URLconf."""

from django.urls import path

from . import views

app_name = "door"

urlpatterns = [
    path("", views.door_index, name="index"),
    path("person-data/", views.door_person_data, name="person_data"),
    path("<int:entrance_id>/", views.door_screen, name="screen"),
    path("<int:entrance_id>/kiosk/", views.door_kiosk, name="kiosk"),
    path("<int:entrance_id>/events", views.door_events, name="events"),
    path("<int:entrance_id>/events.json", views.door_events_json, name="events_json"),
    path("<int:entrance_id>/inside", views.door_inside, name="inside"),
    path("<int:entrance_id>/alerts/<int:event_id>/ack", views.door_ack, name="ack"),
    path("<int:entrance_id>/checkin", views.door_checkin, name="checkin"),
    path("<int:entrance_id>/checkout", views.door_checkout, name="checkout"),
    path("<int:entrance_id>/close-day", views.door_close_day, name="close_day"),
]
