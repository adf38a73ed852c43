"""The Mängelmelder API's operations as app developers read them in /api/schema/: summaries where a view has
none, examples, and the error codes of each operation's own refusals (see casapp.api.schema.OperationDocs)."""

from __future__ import annotations

from typing import Any

from casapp.api.schema import OperationDocs

PUBLIC_REPORT: dict[str, Any] = {
    "id": 17,
    "category": "strassenlaterne",
    "category_label": "Straßenlaterne defekt",
    "category_group": "beleuchtung",
    "status": "eingegangen",
    "status_label": "Eingegangen",
    "description": "Laterne vor Hausnummer 12 ist seit drei Tagen aus.",
    "address": "Bahnhofstraße 12",
    "stadtteil": "Castrop",
    "latitude": 51.5536,
    "longitude": 7.3117,
    "support_count": 0,
    "duplicate_of": None,
    "forwarded_to": "",
    "photos": [
        {
            "image": "https://cas-app.castrop-rauxel.de/media/reports/photos/k2v9q4xw7m3d8f1c-6d6671054d543760.jpg",
            "thumbnail": (
                "https://cas-app.castrop-rauxel.de/media/reports/photos/k2v9q4xw7m3d8f1c-6d6671054d543760-thumb.jpg"
            ),
            "width": 2048,
            "height": 1536,
        }
    ],
    "created_at": "2026-12-06T23:37:10+01:00",
    "updated_at": "2026-12-06T23:37:10+01:00",
    "closed_at": None,
}

# What the reporter sees of their own report: the public fields, the history and what they told us.
REPORTER_REPORT: dict[str, Any] = {
    **PUBLIC_REPORT,
    "timeline": [
        {
            "at": "2026-12-06T23:37:10+01:00",
            "kind": "created",
            "status": "eingegangen",
            "status_label": "Eingegangen",
            "message": "",
            "redacted": False,
        }
    ],
    "answers": {"fehlerbild": "aus"},
    "contact_email": None,
    "contact_phone": "",
    "contact_consent": False,
}

STAFF_REPORT: dict[str, Any] = {
    "id": 1,
    "category": {"key": "schlagloch", "name_de": "Schlagloch", "name_en": "Pothole"},
    "department": {"key": "tiefbau", "name": "Tiefbauamt (Straßen und Wege)"},
    "status": "eingegangen",
    "description": "Tiefes Schlagloch in der Fahrbahn, Radfahrer weichen aus.",
    "address": "Bahnhofstraße 12",
    "stadtteil": None,
    "latitude": 51.54027,
    "longitude": 7.32511,
    "support_count": 0,
    "assigned_to": None,
    "has_photo": True,
    "hidden": False,
    "created_at": "2026-12-06T21:10:31+01:00",
    "updated_at": "2026-12-06T21:58:31+01:00",
    "first_response_at": None,
    "closed_at": None,
    "answers": {},
    "media_url": None,
    "partner_submission": None,
    "contact_name": "",
    "contact_email": None,
    "contact_phone": "",
    "contact_consent": False,
    "contact_erased_at": None,
    "has_installation": True,
    "forwarded_to": "",
    "duplicate_of": None,
    "duplicates": [],
    "allowed_transitions": ["in_pruefung"],
    "photos": [
        {
            "id": 1,
            "image": ("https://cas-app.castrop-rauxel.de/media/reports/1/20261206-lFEeXPhDv043h-MR.jpg"),
            "thumbnail": (
                "https://cas-app.castrop-rauxel.de/media/reports/1/20261206-Jb7WCYcNuaq5Z8ll-thumb.jpg"
            ),
            "width": 1600,
            "height": 1200,
            "position": 0,
            "removed": False,
        }
    ],
    "events": [
        {
            "id": 1,
            "kind": "created",
            "actor": None,
            "from_status": "",
            "to_status": "eingegangen",
            "public_message": "",
            "internal_note": "",
            "is_public": True,
            "created_at": "2026-12-06T21:10:31+01:00",
            "redacted_at": None,
            "redacted_by": None,
        }
    ],
}

OPERATIONS = {
    "reports_categories": OperationDocs(
        response={
            "groups": [
                {
                    "key": "beleuchtung",
                    "label": "Beleuchtung",
                    "description": "",
                    "icon": "lightbulb",
                    "categories": [
                        {
                            "key": "strassenlaterne",
                            "label": "Straßenlaterne defekt",
                            "description": "",
                            "icon": "lightbulb",
                            "questions": [
                                {
                                    "key": "mast_nummer",
                                    "label": "Nummer am Laternenmast",
                                    "kind": "text",
                                    "required": False,
                                    "choices": [],
                                },
                                {
                                    "key": "fehlerbild",
                                    "label": "Was ist los?",
                                    "kind": "single_choice",
                                    "required": True,
                                    "choices": [
                                        {"key": "aus", "label": "Leuchtet nicht"},
                                        {"key": "flackert", "label": "Flackert"},
                                    ],
                                },
                            ],
                        }
                    ],
                }
            ]
        }
    ),
    "reports_create": OperationDocs(
        errors={
            400: {
                "outside_city": (
                    "Dieser Ort liegt außerhalb von Castrop-Rauxel. Bitte melden Sie den "
                    "Mangel der dort zuständigen Stadt oder Gemeinde."
                ),
                "invalid_location": "Der Breitengrad muss eine Zahl zwischen -90 und 90 sein.",
                "invalid_category": "Wählen Sie eine aktive Kategorie.",
                "invalid_answers": (
                    "Die Antworten müssen ein Objekt sein, dessen Schlüssel die Fragen sind."
                ),
                "unknown_question": "Unbekannte Frage: farbe",
                "required": "Bitte beantworten Sie diese Frage.",
                "invalid": "Geben Sie einen kurzen Text ein.",
                "invalid_choice": "Wählen Sie eine der angebotenen Antworten.",
                "too_many_photos": "Es sind höchstens 5 Fotos möglich.",
                "photo_too_large": "Das Foto ist zu groß: höchstens 50 Megapixel.",
                "unsupported_photo": "Nur Fotos als JPEG, PNG, WebP oder HEIC.",
                "invalid_photo": "Diese Datei ist kein lesbares Foto.",
                "consent_required": (
                    "Bitte willigen Sie in die Kontaktaufnahme ein oder lassen Sie die Kontaktfelder leer."
                ),
            },
            413: {
                "photos_too_large": (
                    "Die Fotos sind zusammen zu groß; senden Sie weniger oder kleinere Fotos."
                )
            },
        },
        request={
            "category": "strassenlaterne",
            "latitude": 51.5536,
            "longitude": 7.3117,
            "description": "Laterne vor Hausnummer 12 ist seit drei Tagen aus.",
            "address": "Bahnhofstraße 12",
            "answers": {"fehlerbild": "aus"},
            "idempotency_key": "7f9c2a1e-5d0b-4c1e-9a43-2b8f6d1e0c55",
        },
        multipart={
            "category": "strassenlaterne",
            "latitude": 51.5536,
            "longitude": 7.3117,
            "description": "Laterne vor Hausnummer 12 ist seit drei Tagen aus.",
            "address": "Bahnhofstraße 12",
            "answers": '{"fehlerbild": "aus"}',
            "idempotency_key": "7f9c2a1e-5d0b-4c1e-9a43-2b8f6d1e0c55",
        },
        response=REPORTER_REPORT,
    ),
    "reports_list": OperationDocs(
        response={
            "next": (
                "https://cas-app.castrop-rauxel.de/api/v1/reports/?cursor=cD0yMDI2LTEyLTA2KzE1JTNBMjIlM0EzMS4zNzcxNjUlMkIwMCUzQTAw"
            ),
            "previous": None,
            "results": [PUBLIC_REPORT],
        },
        parameters={
            "status": "eingegangen,in_pruefung,in_bearbeitung",
            "stadtteil": "Ickern",
            "bbox": "7.28,51.54,7.34,51.58",
            "updated_since": "2026-11-01T00:00:00+01:00",
        },
    ),
    "reports_read": OperationDocs(
        response={
            "id": 17,
            "category": "strassenlaterne",
            "category_label": "Straßenlaterne defekt",
            "category_group": "beleuchtung",
            "status": "eingegangen",
            "status_label": "Eingegangen",
            "description": "Laterne vor Hausnummer 12 ist seit drei Tagen aus.",
            "address": "Bahnhofstraße 12",
            "stadtteil": "Castrop",
            "latitude": 51.5536,
            "longitude": 7.3117,
            "support_count": 0,
            "duplicate_of": None,
            "forwarded_to": "",
            "photos": [
                {
                    "image": (
                        "https://cas-app.castrop-rauxel.de/media/reports/17/20261206-RfyKe4g43k7XWWf2.jpg"
                    ),
                    "thumbnail": (
                        "https://cas-app.castrop-rauxel.de/media/reports/17/20261206-2ENFs6T_tLxpjhcR-thumb.jpg"
                    ),
                    "width": 2048,
                    "height": 1536,
                }
            ],
            "created_at": "2026-12-06T23:37:10+01:00",
            "updated_at": "2026-12-06T23:37:10+01:00",
            "closed_at": None,
            "timeline": [
                {
                    "at": "2026-12-06T23:37:10+01:00",
                    "kind": "created",
                    "status": "eingegangen",
                    "status_label": "Eingegangen",
                    "message": "",
                    "redacted": False,
                }
            ],
        },
        parameters={"report_id": 17},
    ),
    "reports_nearby": OperationDocs(
        response={
            "radius_m": 50,
            "results": [
                {"distance_m": 12, "supported_by_me": False, "reported_by_me": False, "report": PUBLIC_REPORT}
            ],
        },
        parameters={"latitude": 51.5536, "longitude": 7.3117, "category": "strassenlaterne"},
    ),
    "reports_support": OperationDocs(
        errors={
            409: {
                "report_closed": "Nur offene Meldungen können unterstützt werden.",
                "own_report": "Diese Meldung stammt von Ihnen selbst.",
            }
        },
        response={"id": 17, "support_count": 3},
        parameters={"report_id": 17},
    ),
    "reports_mine_list": OperationDocs(
        response={"next": None, "previous": None, "results": [REPORTER_REPORT]}
    ),
    "reports_mine_read": OperationDocs(response=REPORTER_REPORT, parameters={"report_id": 17}),
    "reports_withdraw": OperationDocs(
        errors={
            409: {"invalid_transition": "Nicht möglich, solange die Meldung den Status „In Bearbeitung“ hat."}
        },
        request={"message": "Hat sich erledigt, die Laterne brennt wieder."},
        response=REPORTER_REPORT,
        parameters={"report_id": 17},
    ),
    "reports_reopen": OperationDocs(
        errors={
            400: {"message_required": "Bitte beschreiben Sie, was noch nicht in Ordnung ist."},
            409: {"invalid_transition": "Nicht möglich, solange die Meldung den Status „Eingegangen“ hat."},
        },
        request={"message": "Die Laterne ist schon wieder aus."},
        response=REPORTER_REPORT,
        parameters={"report_id": 17},
    ),
    "reports_stats": OperationDocs(
        response={
            "generated_at": "2026-12-06T23:35:02+01:00",
            "total_count": 40,
            "open_count": 20,
            "by_status": [{"status": "eingegangen", "label": "Eingegangen", "count": 11}],
            "by_category": [{"key": "schlagloch", "label": "Schlagloch", "total": 4, "open": 3}],
            "stadtteile_available": False,
            "by_stadtteil": [],
            "per_day": [{"date": "2026-11-07", "count": 0}],
            "closed_recently_count": 19,
            "resolved_recently_count": 14,
            "first_responses_recently_count": 29,
            "median_hours_to_first_response": 172.8,
            "median_hours_to_resolution": 291.6,
        }
    ),
    "reports_screen": OperationDocs(
        response={
            "generated_at": "2026-12-06T23:35:02+01:00",
            "today_count": 3,
            "week_count": 13,
            "open_count": 20,
            "resolved_last_7_days_count": 4,
            "stadtteile_available": True,
            "open_by_category": [{"key": "schlagloch", "label": "Schlagloch", "count": 3}],
            "open_by_age": [{"age": "under_2_days", "count": 5}],
            "median_days_to_first_response_30": 7.0,
            "median_days_to_first_response_90": 7.2,
            "median_days_to_resolution_30": 10.8,
            "median_days_to_resolution_90": 12.2,
            "newest": [
                {
                    "id": 1,
                    "category_label": "Schlagloch",
                    "place": "Bahnhofstraße",
                    "created_at": "2026-12-06T21:10:31+01:00",
                    "thumbnail": "/media/reports/1/20261206-Jb7WCYcNuaq5Z8ll-thumb.jpg",
                }
            ],
            "recently_resolved": [
                {"id": 10, "category_label": "Ampel gestört", "place": "Recklinghauser Straße", "days": 2}
            ],
            "points": [{"id": 1, "latitude": 51.54027, "longitude": 7.32511, "status": "eingegangen"}],
        },
        parameters={"stadtteil": "Ickern", "category": "schlagloch,graffiti"},
    ),
    "staff_reports_list": OperationDocs(
        response={
            "next": None,
            "previous": None,
            "results": [
                {
                    "id": 1,
                    "category": {"key": "schlagloch", "name_de": "Schlagloch", "name_en": "Pothole"},
                    "department": {"key": "tiefbau", "name": "Tiefbauamt (Straßen und Wege)"},
                    "status": "eingegangen",
                    "description": "Tiefes Schlagloch in der Fahrbahn, Radfahrer weichen aus.",
                    "address": "Bahnhofstraße 12",
                    "stadtteil": None,
                    "latitude": 51.54027,
                    "longitude": 7.32511,
                    "support_count": 0,
                    "assigned_to": None,
                    "has_photo": True,
                    "hidden": False,
                    "created_at": "2026-12-06T21:10:31+01:00",
                    "updated_at": "2026-12-06T21:58:31+01:00",
                    "first_response_at": None,
                    "closed_at": None,
                }
            ],
        },
        parameters={"status": "eingegangen", "assigned": "none", "sort": "-support_count"},
    ),
    "staff_reports_read": OperationDocs(response=STAFF_REPORT, parameters={"id": 1}),
    "staff_reports_transition": OperationDocs(
        errors={
            400: {
                "reason_required": "Nennen Sie der meldenden Person einen Grund.",
                "authority_required": "Nennen Sie die zuständige Stelle.",
                "duplicate_of_required": (
                    "Geben Sie die Original-Meldung an, von der diese Meldung ein Duplikat ist."
                ),
            },
            409: {
                "invalid_transition": "Nicht möglich, solange die Meldung den Status „Erledigt“ hat.",
                "invalid_merge": "Zusammenführen ist nur mit einer Original-Meldung möglich.",
            },
        },
        request={"status": "in_bearbeitung", "public_message": "Der Auftrag ist an die Stadtwerke gegangen."},
        response=STAFF_REPORT,
        parameters={"id": 1},
    ),
    "staff_reports_assign": OperationDocs(
        errors={400: {"invalid_assignee": "Weisen Sie die Meldung Mitarbeitenden ihres Fachbereichs zu."}},
        request={"assignee": 7},
        response=STAFF_REPORT,
        parameters={"id": 1},
    ),
    "staff_reports_reply": OperationDocs(
        errors={400: {"message_required": "Die Antwort ist leer."}},
        request={"message": "Danke für den Hinweis, wir schauen es uns diese Woche an."},
        response=STAFF_REPORT,
        parameters={"id": 1},
    ),
    "staff_reports_note": OperationDocs(
        errors={400: {"note_required": "Die Notiz ist leer."}},
        request={"note": "Bauhof informiert, Kolonne 3 fährt Donnerstag hin."},
        response=STAFF_REPORT,
        parameters={"id": 1},
    ),
    "staff_reports_merge": OperationDocs(
        errors={
            409: {
                "invalid_merge": "Zusammenführen ist nur mit einer Original-Meldung möglich.",
                "invalid_transition": "Nicht möglich, solange die Meldung den Status „Erledigt“ hat.",
            }
        },
        request={"into": 12, "public_message": "Diese Stelle ist schon gemeldet, wir kümmern uns."},
        response=STAFF_REPORT,
        parameters={"id": 1},
    ),
    "staff_reports_moderate": OperationDocs(
        errors={
            400: {
                "invalid_event": (
                    "Nur öffentliche Nachrichten dieser Meldung können geschwärzt werden: 4711."
                )
            }
        },
        request={
            "hide": False,
            "description": ("Tiefes Schlagloch in der Fahrbahn, Radfahrer weichen aus. [Name entfernt]"),
        },
        response=STAFF_REPORT,
        parameters={"id": 1},
    ),
    "staff_reports_reroute": OperationDocs(
        errors={
            400: {
                "same_category": "Die Meldung ist bereits in dieser Kategorie.",
                "invalid_category": "Wählen Sie eine aktive Kategorie.",
            },
            409: {"report_closed": "Nur offene Meldungen können weitergeleitet werden."},
        },
        request={"category": "gehweg-schaden", "reason": "Liegt auf dem Gehweg, nicht auf der Fahrbahn."},
        response={"id": 1, "category": "gehweg-schaden", "department": "tiefbau", "visible": True},
        parameters={"id": 1},
    ),
}
