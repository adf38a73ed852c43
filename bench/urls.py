"""The project's URLs plus ``/bench/bare``, the reference every other case is compared with."""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casapp.urls import handler400, handler403, handler404, handler500
from casapp.urls import urlpatterns as casapp_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


class BareView(APIView):
    """DRF with nothing of ours in the view: what a request costs before any of our code runs.

    It still passes the full middleware stack, so it is the ceiling for every endpoint of this project.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("bench/bare", BareView.as_view(), name="bench-bare"),
    *casapp_urlpatterns,
]
