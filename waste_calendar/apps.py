from __future__ import annotations

from typing import Any

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
            # Confirms or discards an import held as implausible (docs/waste.md#import-safety).
            "review_importrun",
        ],
        # Comms staff keep the disposal hints current and cancel collections on storm days.
        "Kommunikation": [*_VIEW_ALL, "change_wastetype", "change_collection"],
    }

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from push.signals import installation_erasing
        from waste_calendar.api.serializers import active_type_keys_forget
        from waste_calendar.models import (
            Collection,
            District,
            ImportRun,
            Location,
            LocationDistrict,
            Street,
            WasteType,
        )
        from waste_calendar.services import collections_changed

        register_reminder_category()
        register_waste_link()
        for signal in (post_save, post_delete):
            signal.connect(
                active_type_keys_forget, sender=WasteType, dispatch_uid="waste_calendar.types_forget"
            )
            # A staff edit in the admin, or the end of an import (its run is saved last; the rows are
            # bulk-written without signals): cached public answers are stale once that commits.
            for model in (WasteType, Street, Location, LocationDistrict, District, Collection, ImportRun):
                signal.connect(
                    _data_changed, sender=model, dispatch_uid=f"waste_calendar.changed.{model.__name__}"
                )
        installation_erasing.connect(_erase_reminders, dispatch_uid="waste_calendar.erase_reminders")
        collections_changed.connect(_collections_changed, dispatch_uid="waste_calendar.collections_changed")


def register_reminder_category() -> None:
    """The personal category of reminders and change pushes: an installation mutes both with one switch."""
    from push.registry import category_is_registered, register_category
    from waste_calendar.reminders import REMINDER_CATEGORY

    if not category_is_registered(REMINDER_CATEGORY):
        register_category(
            key=REMINDER_CATEGORY,
            name={
                "de": "Abfuhr-Erinnerungen",
                "en": "Collection reminders",
                "tr": "Çöp toplama hatırlatmaları",
            },
            description={
                "de": "Am Vorabend oder am Morgen der Abfuhr, und wenn sich ein Termin verschiebt.",
                "en": "The evening before or the morning of a collection, and when a date moves.",
                "tr": "Toplama gününden önceki akşam veya toplama sabahı ve bir tarih değiştiğinde.",
            },
        )


def register_waste_link() -> None:
    """The waste calendar's screen in the app, where reminders and change pushes lead."""
    from push.links import register_link
    from waste_calendar.reminders import DEEP_LINK

    register_link(
        key="waste_calendar",
        template=DEEP_LINK,
        name={"de": "Abfallkalender", "en": "Waste calendar", "tr": "Çöp takvimi"},
        description={
            "de": "Die nächsten Abfuhrtermine der Adressen des Geräts.",
            "en": "The next collection dates of the device's addresses.",
            "tr": "Cihazdaki adreslerin bir sonraki çöp toplama tarihleri.",
        },
    )


def _data_changed(sender: Any, **kwargs: Any) -> None:
    from django.db import transaction

    from waste_calendar.lookup import data_generation_bump

    transaction.on_commit(data_generation_bump)


def _erase_reminders(sender: Any, installation: Any, **kwargs: Any) -> None:
    from waste_calendar.reminders import reminder_subscriptions_erase

    reminder_subscriptions_erase(installation=installation)


def _collections_changed(sender: Any, **kwargs: Any) -> None:
    """Sent after the import committed: the change pushes go out from a worker, not the importer."""
    from waste_calendar.lookup import data_generation_bump
    from waste_calendar.tasks import notify_collection_changes

    data_generation_bump()
    notify_collection_changes.delay()
