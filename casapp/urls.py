from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView

from casapp import health
from casapp.api.app_config import app_config_view
from casapp.api.docs import RedocPage, SwaggerPage
from casapp.api.staff import StaffMeView
from casapp.metrics import metrics_view

admin.site.site_header = _("CAS-App administration")
admin.site.site_title = _("CAS-App")
admin.site.index_title = _("City of Castrop-Rauxel")

api_v1: list[URLPattern | URLResolver] = [
    path("app/config", app_config_view, name="app-config"),
    path("staff/me", StaffMeView.as_view(), name="staff-me"),
    # Each app's routes under a prefix of their own, so that resolving a request walks one short list rather
    # than all of them; the Abfallkalender first, since calendar apps polling its feeds are most requests.
    path("waste/", include("waste_calendar.api.urls")),
    path("reports/", include("reports.api.urls")),
    path("staff/reports/", include("reports.api.staff_urls")),
    path("push/notifications/", include("push.api.staff_urls")),
    path("", include("push.api.urls")),  # devices/, notices/, push/catalogue
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    # Open311 GeoReport v2 for partner systems: its own spec, formats and error shape (docs/open311.md).
    path("open311/v2/", include("reports.open311.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start script as a file of its own (`?script`), not inline: the pages' Content-Security-
    # Policy runs scripts from this origin only (casapp/csp.py).
    path("api/docs/", SwaggerPage.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        RedocPage.as_view(url_name="schema", template_name="casapp/redoc.html"),
        name="redoc",
    ),
    # Public photos of the Mängelmelder, at URLs that do not expire (reports/public_photos.py).
    path("media/reports/photos/", include("reports.public_photos")),
    # The public screen in city hall, also embeddable on the city's website (docs/screen.md).
    path("bildschirm/", include("reports.screen")),
    # Images of push messages, loaded by phones when a message arrives (push/public_urls.py).
    path("push/", include("push.public_urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "casapp.api.errors.handler400"
handler403 = "casapp.api.errors.handler403"
handler404 = "casapp.api.errors.handler404"
handler500 = "casapp.api.errors.handler500"
