"""URLs of the visitor's phone pages; /c/<code>/ is what the poster QR encodes."""

from django.urls import path

from . import views

app_name = "visitors"

urlpatterns = [
    path("c/<str:code>/", views.entrance, name="entrance"),
    path("c/<str:code>/checkout/", views.checkout, name="checkout"),
    path("c/<str:code>/forget/", views.forget_device, name="forget_device"),
]
