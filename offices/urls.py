"""Poster download URLs (DESIGN.md, "Pages"); mounted at /offices/ by the root URLconf."""

from django.urls import path

from . import views

app_name = "offices"

urlpatterns = [
    path("entrances/<int:entrance_id>/poster.png", views.entrance_poster_png, name="entrance_poster_png"),
    path("entrances/<int:entrance_id>/poster.pdf", views.entrance_poster_pdf, name="entrance_poster_pdf"),
    path("<int:office_id>/posters.pdf", views.office_posters, name="office_posters_pdf"),
]
