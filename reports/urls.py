"""Report page URLs (dashboards, staff compliance, contact tracing); mounted at /reports/ by the root URLconf."""

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.reports_index, name="index"),
    path("city/", views.city_dashboard_page, name="city"),
    path("city/export.csv", views.city_export, name="city_export"),
    path("offices/<int:office_id>/", views.office_dashboard_page, name="office"),
    path("offices/<int:office_id>/export.csv", views.office_export, name="office_export"),
    path("offices/<int:office_id>/staff/", views.office_compliance_page, name="compliance"),
    path("offices/<int:office_id>/staff/export.csv", views.office_compliance_export, name="compliance_export"),
    path("exposures/", views.exposure_search, name="exposures"),
    path("exposures/people/<int:person_id>/", views.exposure_person, name="exposure_person"),
    path("exposures/people/<int:person_id>/notify/", views.exposure_notify_view, name="exposure_notify"),
    path("exposures/people/<int:person_id>/export.csv", views.exposure_export_view, name="exposure_export"),
]
