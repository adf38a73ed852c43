"""The real URLs plus two views that crash, to see what a client gets from an unexpected error."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from casapp.urls import urlpatterns as real_urlpatterns


class CrashingApiView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> HttpResponse:
        raise RuntimeError("boom: secret-token-must-not-leak")


def crashing_django_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom outside DRF")


urlpatterns = [
    path("api/v1/_crash", CrashingApiView.as_view()),
    path("api/v1/_crash_plain", crashing_django_view),
    *real_urlpatterns,
]

handler404 = "casapp.api.errors.handler404"
handler500 = "casapp.api.errors.handler500"
