from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _crud(model: str) -> list[str]:
    return [f"{action}_{model}" for action in ("add", "change", "delete", "view")]


_VIEW_ALL = [
    f"view_{model}"
    for model in (
        "wastetype",
        "street",
        "location",
        "district",
        "locationdistrict",
        "collection",
        "collectionchange",
        "importrun",
        "planrule",
    )
]


class WasteCalendarConfig(AppConfig):
    name = "waste_calendar"
    verbose_name = _("Abfallkalender")
    role_permissions: dict[str, list[str]] = {
        "Administration": [
            *_crud("wastetype"),
            *_crud("street"),
            "view_location",
            "change_location",
            *_crud("district"),
            *_crud("locationdistrict"),
            *_crud("collection"),
            *_crud("planrule"),
            "view_collectionchange",
            "view_importrun",
        ],
        # Comms staff keep the disposal hints current and cancel collections on storm days.
        "Kommunikation": [*_VIEW_ALL, "change_wastetype", "change_collection"],
    }
