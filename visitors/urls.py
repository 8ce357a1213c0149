"""URLs of the visitor's phone pages; /c/<code>/ is what the poster QR encodes."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "visitors"

urlpatterns = [
    # Someone who types the bare domain from the poster lands on the code entry.
    path("", RedirectView.as_view(pattern_name="visitors:code_entry", permanent=False)),
    path("c/", views.code_entry, name="code_entry"),
    # Where a check-in or check-out form's post sends the phone (303): its answer, at a URL that writes nothing.
    path("c/r/<str:token>/", views.result, name="result"),
    path("c/r/<str:token>/status", views.result_status, name="result_status"),
    # My check-ins: before the entrance pattern, which would take "me" for a poster code.
    path("c/me/", views.me, name="me"),
    path("c/me/data.json", views.me_data, name="me_data"),
    path("c/me/erase/", views.me_erase, name="me_erase"),
    path("c/me/notices/<int:notice_id>/ack/", views.me_notice_ack, name="notice_ack"),
    path("c/<str:code>/", views.entrance, name="entrance"),
    path("c/<str:code>/checkout/", views.checkout, name="checkout"),
    path("c/<str:code>/forget/", views.forget_device, name="forget_device"),
]
