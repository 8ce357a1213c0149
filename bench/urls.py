"""The app's URLs plus the benchmark's reference endpoints (only under bench.settings)."""

from django.urls import path

from denpasar_checkin.urls import urlpatterns as app_urlpatterns

from . import views

urlpatterns = [
    path("bench/bare/", views.bare, name="bench-bare"),
    path("bench/floor/", views.floor, name="bench-floor"),
    *app_urlpatterns,
]
