"""``/open311/v2/``: GeoReport v2 resources, each as ``.xml`` and ``.json``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path

from reports.open311 import views

# A trailing slash after the suffix is served the same (casapp's one URL policy: never a redirect).
FORMAT = r"\.(?P<format>xml|json)/?$"

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(rf"^discovery{FORMAT}", views.DiscoveryView.as_view(), name="open311-discovery"),
    re_path(rf"^services{FORMAT}", views.ServicesView.as_view(), name="open311-services"),
    re_path(
        rf"^services/(?P<service_code>[^/]+?){FORMAT}",
        views.ServiceDefinitionView.as_view(),
        name="open311-service",
    ),
    re_path(rf"^requests{FORMAT}", views.ServiceRequestsView.as_view(), name="open311-requests"),
    re_path(
        rf"^requests/(?P<service_request_id>[0-9]{{1,15}}){FORMAT}",
        views.ServiceRequestView.as_view(),
        name="open311-request",
    ),
    re_path(
        rf"^servicerequestupdates{FORMAT}",
        views.ServiceRequestUpdatesView.as_view(),
        name="open311-updates",
    ),
    re_path(rf"^tokens/(?P<token>[^/]+?){FORMAT}", views.TokenView.as_view(), name="open311-token"),
    re_path(r"^.*?(?:\.(?P<format>xml|json))?$", views.UnknownResourceView.as_view(), name="open311-unknown"),
]
