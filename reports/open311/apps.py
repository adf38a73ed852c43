from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Open311Config(AppConfig):
    """The Mängelmelder as Open311 GeoReport v2, for the city's back office and partner systems."""

    name = "reports.open311"
    label = "open311"
    verbose_name = _("Open311")
    role_permissions = {
        "Administration": [
            *(f"{action}_partnerapikey" for action in ("add", "change", "view")),
            "view_partnersubmission",
        ],
    }
