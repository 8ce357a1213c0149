"""The second-factor pages (offices.two_factor); mounted at /accounts/2fa/ by the root URLconf."""

from django.urls import path

from . import two_factor

app_name = "two_factor"

urlpatterns = [
    path("verify/", two_factor.verify, name="verify"),
    path("enrol/", two_factor.enrol, name="enrol"),
]
