"""The Abfallkalender API's operations as app developers read them in /api/schema/: summaries where a view
has none, examples, and the error codes of each operation's own refusals (casapp.api.schema.OperationDocs)."""

from __future__ import annotations

from typing import Any

from casapp.api.schema import OperationDocs

STREET: dict[str, Any] = {
    "id": 12,
    "name": "Bahnhofstraße",
    "postcode": "44575",
    "stadtteil": "Castrop",
    "needs_house_number": True,
}

LOCATION: dict[str, Any] = {
    "id": "my6pezmuiob27f2c",
    "street": {
        "id": 12,
        "name": "Bahnhofstraße",
        "postcode": "44575",
        "stadtteil": "Castrop",
        "needs_house_number": True,
    },
    "house_number": "1-99",
    "parity": "odd",
    "types": ["restabfall", "bioabfall", "papier", "wertstoff"],
    "ics_url": ("https://cas-app.castrop-rauxel.de/api/v1/waste/locations/my6pezmuiob27f2c.ics"),
    "webcal_url": ("webcal://cas-app.castrop-rauxel.de/api/v1/waste/locations/my6pezmuiob27f2c.ics"),
}

REMINDER: dict[str, Any] = {
    "id": 1,
    "location": LOCATION,
    "house_number": "13",
    "label": "Zuhause",
    "types": ["restabfall"],
    "remind_day": "evening_before",
    "remind_time": "19:30",
    "remind_at": "evening_before",
    "created_at": "2026-12-06T23:36:59+01:00",
    "updated_at": "2026-12-06T23:36:59+01:00",
}

OPERATIONS = {
    "waste_types_list": OperationDocs(
        response=[
            {
                "key": "restabfall",
                "name": "Restabfall",
                "colour": "#5F6368",
                "icon_key": "bin-grey",
                "hints": (
                    "Graue Tonne: Hygieneartikel, Windeln, Kehricht, Asche (erkaltet), "
                    "verschmutztes Papier. Nicht: Wertstoffe, Bioabfall, Batterien, "
                    "Elektrogeräte."
                ),
            }
        ]
    ),
    "waste_streets_search": OperationDocs(
        response=[
            {
                "id": 12,
                "name": "Bahnhofstraße",
                "postcode": "44575",
                "stadtteil": "Castrop",
                "needs_house_number": True,
                "fuzzy": False,
                "house_number": "12",
                "location_id": "my6pezmuiob27f2c",
            }
        ],
        parameters={"q": "Bahnhofstr. 12"},
    ),
    "waste_street_house_numbers": OperationDocs(
        response=[
            {
                "location_id": "my6pezmuiob27f2c",
                "house_number": "1-99",
                "number_from": 1,
                "number_to": 99,
                "suffix": "",
                "parity": "odd",
            },
            {
                "location_id": "k3x7q2m9v5b1n8c4",
                "house_number": "2-98",
                "number_from": 2,
                "number_to": 98,
                "suffix": "",
                "parity": "even",
            },
        ],
        parameters={"street_id": 12},
    ),
    "waste_street_location": OperationDocs(
        response=LOCATION, parameters={"street_id": 12, "house_number": "13"}
    ),
    "waste_location_read": OperationDocs(response=LOCATION, parameters={"location_id": "my6pezmuiob27f2c"}),
    "waste_location_collections": OperationDocs(
        response={
            "location": "my6pezmuiob27f2c",
            "date_from": "2026-12-07",
            "date_to": "2026-12-20",
            "collections": [
                {
                    "date": "2026-12-18",
                    "type": "restabfall",
                    "status": "scheduled",
                    "original_date": None,
                    "reason": "",
                },
                {
                    "date": "2026-12-28",
                    "type": "papier",
                    "status": "moved",
                    "original_date": "2026-12-25",
                    "reason": "Weihnachten",
                },
            ],
        },
        parameters={
            "location_id": "my6pezmuiob27f2c",
            "from": "2026-12-07",
            "to": "2026-12-31",
            "types": "restabfall,papier",
        },
    ),
    "waste_location_next": OperationDocs(
        response={
            "location": "my6pezmuiob27f2c",
            "next": [
                {
                    "type": "bioabfall",
                    "name": "Bioabfall",
                    "colour": "#8D5A2B",
                    "date": "2026-12-09",
                    "status": "scheduled",
                    "original_date": None,
                    "days_until": 3,
                },
                {
                    "type": "wertstoff",
                    "name": "Wertstoff (Gelbe Tonne)",
                    "colour": "#F2C200",
                    "date": "2026-12-16",
                    "status": "scheduled",
                    "original_date": None,
                    "days_until": 10,
                },
            ],
        },
        parameters={"location_id": "my6pezmuiob27f2c", "types": "restabfall,bioabfall"},
    ),
    "waste_location_ics": OperationDocs(
        response=(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Stadt Castrop-Rauxel//CAS-App "
            "Abfallkalender//DE\r\nNAME:Abfallkalender Bahnhofstraße "
            "1-99\r\nREFRESH-INTERVAL;VALUE=DURATION:PT12H\r\nBEGIN:VEVENT\r\nUID:collection-4711@cas-app.castrop-rauxel.de\r\nDTSTART;VALUE=DATE:20261218\r\nSUMMARY:Restabfall\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        ),
        parameters={"location_id": "my6pezmuiob27f2c", "types": "restabfall,papier"},
    ),
    "waste_reminders_list": OperationDocs(
        summary="The installation's reminder subscriptions",
        description=("Every location this installation is reminded of, with its waste types and time."),
        response=[REMINDER],
    ),
    "waste_reminders_create": OperationDocs(
        errors={
            400: {
                "invalid_reminder_time": (
                    "Wählen Sie für diese Erinnerung eine Uhrzeit von 16:00 bis 22:00 Uhr in Schritten von "
                    "15 Minuten."
                ),
                "unknown_house_number": "Diese Hausnummer gehört nicht zur gewählten Adresse.",
                "unknown_location": "Unbekannte Adresse.",
                "unknown_type": "Unbekannte Abfallart: sperrmuell.",
                "too_many_reminders": "Höchstens 10 Adressen können abonniert werden.",
            },
            409: {
                "reminder_exists": ("Diese Adresse ist bereits abonniert; ändern Sie stattdessen dieses Abo.")
            },
        },
        request={
            "location": "my6pezmuiob27f2c",
            "house_number": "13",
            "label": "Zuhause",
            "types": ["restabfall", "papier"],
            "remind_day": "evening_before",
            "remind_time": "19:30",
        },
        response=REMINDER,
    ),
    "waste_reminders_read": OperationDocs(
        summary="One reminder subscription",
        description="Another installation's subscription is a 404.",
        response=REMINDER,
        parameters={"reminder_id": 1},
    ),
    "waste_reminders_update": OperationDocs(
        description="Changes what is given; the other fields stay.",
        errors={
            400: {
                "unknown_type": "Unbekannte Abfallart: sperrmuell.",
                "invalid_reminder_time": (
                    "Wählen Sie für diese Erinnerung eine Uhrzeit von 16:00 bis 22:00 Uhr in Schritten von "
                    "15 Minuten."
                ),
                "unknown_house_number": "Diese Hausnummer gehört nicht zur gewählten Adresse.",
            }
        },
        request={
            "types": ["restabfall", "papier", "bioabfall"],
            "remind_day": "morning_of",
            "remind_time": "06:30",
        },
        response=REMINDER,
        parameters={"reminder_id": 1},
    ),
    "waste_reminders_delete": OperationDocs(
        summary="Unsubscribe",
        description=("Ends the reminders for this location. Another installation's subscription is a 404."),
        parameters={"reminder_id": 1},
    ),
}
