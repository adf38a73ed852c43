from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WasteCalendarConfig(AppConfig):
    name = "waste_calendar"
    verbose_name = _("Abfallkalender")
    role_permissions: dict[str, list[str]] = {}
