"""Root URL configuration: the only place besides the Celery app that names every app."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from visitors.api import api_not_found

from . import pwa, views

admin.site.site_header = _("Denpasar Check-in")
admin.site.site_title = _("Denpasar Check-in")
admin.site.index_title = _("Administration")

urlpatterns = [
    # Check-ins and check-outs are nearly every request the app serves: their patterns are tried first.
    path("api/v1/", include("visitors.api_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/2fa/", include("offices.two_factor_urls")),
    path("offices/", include("offices.urls")),
    path("reports/", include("reports.urls")),
    path("door/", include("door.urls")),
    path("api/v1/", include("screening.api_urls")),
    path("api/v1/", include("reports.api_urls")),
    path("api/v1/", include("door.api_urls")),
    # Any other path under /api/v1/ answers a JSON 404 instead of Django's HTML page.
    re_path(r"^api/v1/", api_not_found),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script from a URL, so the page needs no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # The phone pages as an installable app; the worker's script from the root, so its scope may cover /c/.
    path("manifest.webmanifest", pwa.manifest, name="pwa-manifest"),
    path("sw.js", pwa.service_worker, name="pwa-sw"),
    path("offline/", pwa.offline, name="pwa-offline"),
    path("favicon.ico", pwa.favicon, name="pwa-favicon"),
    path("", include("visitors.urls")),
]

# A multipart post whose fields pass DATA_UPLOAD_MAX_MEMORY_SIZE is found out only while it is read: 413, not 400.
handler400 = "denpasar_checkin.bodylimit.bad_request"
