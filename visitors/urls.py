"""URLs of the visitor's phone pages; /c/<code>/ is what the poster QR encodes."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "visitors"

urlpatterns = [
    # Someone who types the bare domain from the poster lands on the code entry.
    path("", RedirectView.as_view(pattern_name="visitors:code_entry", permanent=False)),
    path("c/", views.code_entry, name="code_entry"),
    path("c/<str:code>/", views.entrance, name="entrance"),
    path("c/<str:code>/checkout/", views.checkout, name="checkout"),
    path("c/<str:code>/forget/", views.forget_device, name="forget_device"),
]
