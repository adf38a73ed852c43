"""The push API's operations as app developers read them in /api/schema/: summaries where a view has none,
examples, and the error codes of each operation's own refusals (see casapp.api.schema.OperationDocs)."""

from __future__ import annotations

from typing import Any

from casapp.api.schema import OperationDocs
from push.participation.api import GALLERY_PHOTO_EXAMPLE, PARTICIPATION_EXAMPLE

INSTALLATION: dict[str, Any] = {
    "id": "aa0d8023-1cd0-47d5-b850-dbab089ff23d",
    "platform": "android",
    "app_version": "2.4.1",
    "locale": "de",
    "has_push_token": True,
    "push_token_kind": "registration_token",
    "is_active": True,
    "created_at": "2026-12-06T23:34:58+01:00",
    "last_seen_at": "2026-12-06T23:34:58+01:00",
}

CREDENTIALS: dict[str, Any] = {
    "id": "aa0d8023-1cd0-47d5-b850-dbab089ff23d",
    "platform": "android",
    "app_version": "2.4.1",
    "locale": "de",
    "has_push_token": True,
    "push_token_kind": "registration_token",
    "is_active": True,
    "created_at": "2026-12-06T23:34:58+01:00",
    "last_seen_at": "2026-12-06T23:34:58+01:00",
    "secret": "O-xaQt7UrZ1vp3O-kDtH3eaX2ll6pXvnhx6AjWoo250",
}

CATALOGUE: dict[str, Any] = {
    "kinds": [
        {"key": "outage", "name": "Störung"},
        {"key": "campaign", "name": "Aktion"},
        {"key": "news", "name": "Nachrichten"},
    ],
    "topics": [
        {
            "key": "stoerungen",
            "name": "Störungen",
            "description": (
                "Ausfälle städtischer Dienste, z. B. wenn das Bürgerbüro geschlossen bleiben muss."
            ),
            "default_subscribed": True,
            "kind": "outage",
        },
        {
            "key": "aktionen",
            "name": "Aktionen",
            "description": ("Mitmach-Aktionen und Veranstaltungen der Stadt, z. B. das Wunschfenster."),
            "default_subscribed": False,
            "kind": "campaign",
        },
        {
            "key": "nachrichten",
            "name": "Nachrichten",
            "description": "Neuigkeiten aus dem Rathaus.",
            "default_subscribed": False,
            "kind": "news",
        },
    ],
    "categories": [
        {
            "key": "report_update",
            "name": "Meine Meldungen",
            "description": "Wenn sich der Stand Ihrer Meldung ändert.",
        },
        {
            "key": "waste_reminder",
            "name": "Abfuhr-Erinnerungen",
            "description": ("Am Vorabend oder am Morgen der Abfuhr, und wenn sich ein Termin verschiebt."),
        },
    ],
}

# The deep-link catalogue as the app reads it (push.links; each app registers its screens).
CATALOGUE["links"] = [
    {
        "key": "notice",
        "template": "casapp://notices/{id}",
        "name": "Mitteilung",
        "description": "Eine veröffentlichte Mitteilung (Störung, Aktion, Nachricht) im Mitteilungsbrett.",
        "parameters": [
            {
                "name": "id",
                "type": "integer",
                "pattern": "[1-9][0-9]{0,17}",
                "description": "Nummer der Mitteilung",
            }
        ],
    },
    {
        "key": "campaign",
        "template": "casapp://campaigns/{id}",
        "name": "Aktionsseite",
        "description": "Die Seite einer Aktion der Stadt, zum Mitmachen.",
        "parameters": [
            {
                "name": "id",
                "type": "integer",
                "pattern": "[1-9][0-9]{0,17}",
                "description": "Nummer der Aktion",
            }
        ],
    },
    {
        "key": "report",
        "template": "casapp://reports/{id}",
        "name": "Meldung",
        "description": "Eine Meldung im Mängelmelder, mit ihrem Stand.",
        "parameters": [
            {
                "name": "id",
                "type": "integer",
                "pattern": "[1-9][0-9]{0,17}",
                "description": "Nummer der Meldung",
            }
        ],
    },
    {
        "key": "waste_calendar",
        "template": "casapp://waste",
        "name": "Abfallkalender",
        "description": "Die nächsten Abfuhrtermine der Adressen des Geräts.",
        "parameters": [],
    },
    {
        "key": "web",
        "template": "{url}",
        "name": "Internetseite",
        "description": "Eine öffentliche https-Adresse, im Browser geöffnet.",
        "parameters": [
            {"name": "url", "type": "https_url", "pattern": "https://\\S+", "description": "https://…"}
        ],
    },
]

NOTIFICATION_ITEM: dict[str, Any] = {
    "id": 36,
    "kind": "outage",
    "status": "sent",
    "content": {
        "de": {
            "title": "Bürgerbüro geschlossen",
            "body": "Wegen einer Störung bleibt das Bürgerbüro heute geschlossen.",
        },
        "en": {"title": "Citizens' office closed", "body": "It stays closed today because of a failure."},
    },
    "audience_kind": "all",
    "audience_topics": [],
    "audience_stadtteile": [],
    "deep_link": "",
    "image_url": None,
    "data": {},
    "priority": "high",
    "send_at": None,
    "expires_at": None,
    "thread": None,
    "outage_state": "ongoing",
    "emergency": False,
    "emergency_reason": "",
    "needs_review": False,
    "failure_reason": "",
    "created_by": "kommunikation",
    "created_at": "2026-12-06T23:37:01+01:00",
    "approved_by": "presse",
    "approved_at": "2026-12-06T23:37:02+01:00",
    "started_at": "2026-12-06T23:37:02+01:00",
    "finished_at": "2026-12-06T23:37:02+01:00",
    "updated_at": "2026-12-06T23:37:02+01:00",
}

# The detail: the list item with its figures and audit log.
NOTIFICATION: dict[str, Any] = {
    **NOTIFICATION_ITEM,
    "statistics": {
        "targeted": 1,
        "accepted": 1,
        "inbox_only": 0,
        "pending": 0,
        "cancelled": 0,
        "expired": 0,
        "failed": 0,
        "deactivated": 0,
        "opened": 0,
        "failed_by_error": {},
        "open_rate": 0.0,
        "sent_without_approval": False,
        "fast_path_reason": "",
    },
    "audit_log": [
        {
            "id": 3,
            "action": "approved",
            "actor": "presse",
            "changes": {"status": ["awaiting_approval", "scheduled"]},
            "at": "2026-12-06T23:37:02+01:00",
        }
    ],
}

NOTICE: dict[str, Any] = {
    "id": "n-36",
    "kind": "outage",
    "category": None,
    "title": "Bürgerbüro geschlossen",
    "body": "Wegen einer Störung bleibt das Bürgerbüro heute geschlossen.",
    "deep_link": "",
    "link": None,
    "image_url": "",
    "published_at": "2026-12-06T23:37:02+01:00",
    "expires_at": None,
    "ongoing": True,
    "timeline": [
        {
            "id": "n-36",
            "title": "Bürgerbüro geschlossen",
            "body": "Wegen einer Störung bleibt das Bürgerbüro heute geschlossen.",
            "published_at": "2026-12-06T23:37:02+01:00",
        }
    ],
}

# The refusals of what a draft may say (push.validation, push.links), answered on create and on update.
CONTENT_ERRORS: dict[str, str] = {
    "invalid_deep_link": "Wählen Sie einen Link aus dem Katalog der App oder eine https-Adresse.",
    "content_de_required": "Titel und Text auf Deutsch sind erforderlich.",
    "invalid_language": "Unbekanntes Sprachkürzel.",
    "invalid_content": "Jede Sprachfassung besteht aus einem Titel und einem Text.",
    "invalid_title": "Der Titel ist erforderlich und darf höchstens 120 Zeichen lang sein.",
    "invalid_body": "Der Text ist erforderlich und darf höchstens 1000 Zeichen lang sein.",
    "personal_data": (
        "Benachrichtigungen erscheinen auf dem Sperrbildschirm: keine "
        "E-Mail-Adressen oder Telefonnummern außer denen der Stadt. Abgelehnt: "
        "0171 2345678"
    ),
    "payload_too_large": "Die Nachricht ist größer als die 4 KB, die Push-Dienste annehmen.",
    "invalid_data": "Die Zusatzdaten müssen Textschlüssel auf Textwerte abbilden.",
    "invalid_audience": ("Wählen Sie als Zielgruppe alle, bestimmte Themen oder bestimmte Stadtteile."),
    "send_at_in_past": "Der Versandzeitpunkt liegt in der Vergangenheit.",
    "expires_before_send": "Der Ablaufzeitpunkt muss nach dem Versandzeitpunkt liegen.",
}

EMPTY_AUDIENCE = (
    "Diese Benachrichtigung würde kein einziges Gerät erreichen: keines, das in den letzten 30 Tagen aktiv "
    "war, hat ihr Thema abonniert (in den gewählten Stadtteilen). Wählen Sie eine andere Zielgruppe."
)

OPERATIONS = {
    "devices_register": OperationDocs(
        request={
            "platform": "android",
            "app_version": "2.4.1",
            "locale": "de-DE",
            "push_token": "fcm-token-abcdefghijklmnop",
        },
        response=CREDENTIALS,
    ),
    "devices_me_read": OperationDocs(
        summary="The calling installation",
        description=(
            "The installation the `Device` secret belongs to: platform, app version, "
            "language, whether a push token is set. The secret itself is never shown "
            "again."
        ),
        response=INSTALLATION,
    ),
    "devices_me_update": OperationDocs(
        summary="Change the installation",
        request={"locale": "en", "push_token": "fcm-token-abcdefghijklmnop"},
        response=INSTALLATION,
    ),
    "devices_me_erase": OperationDocs(summary="Erase the installation"),
    "devices_me_rotate_secret": OperationDocs(
        summary="Replace the secret", response={"secret": "kD9xv1m7W0pQnE3rT6yU8iO2aS5dF4gH7jK1lZ0xC9v"}
    ),
    "devices_me_pair": OperationDocs(
        errors={
            400: {
                "invalid_pairing_code": (
                    "Dieser Kopplungscode ist unbekannt, schon benutzt oder abgelaufen. "
                    "Lassen Sie sich im Arbeitsbereich einen neuen anzeigen."
                )
            },
            409: {
                "test_device_limit": (
                    "Höchstens 5 Testgeräte pro Person. Entkoppeln Sie zuerst eines im Arbeitsbereich."
                )
            },
        },
        request={"code": "K7QW-3XPA", "label": "Pixel 8 von Kim"},
        response={"label": "Pixel 8 von Kim", "paired_at": "2026-12-06T23:37:04+01:00"},
    ),
    "push_catalogue": OperationDocs(response=CATALOGUE),
    "notices_list": OperationDocs(response={"results": [NOTICE]}),
    "devices_me_preferences_read": OperationDocs(
        summary="The installation's push choices",
        description=(
            "Subscribed topics (keys of `GET /push/catalogue`, in catalogue order), "
            "muted categories of personal notifications, and the Stadtteil for "
            "notifications addressed to Stadtteile (or null)."
        ),
        response={"topics": ["stoerungen", "nachrichten"], "muted_categories": [], "stadtteil": "Ickern"},
    ),
    "devices_me_preferences_update": OperationDocs(
        summary="Change the push choices",
        errors={
            400: {
                "unknown_topic": "Unbekannte Themen: sport.",
                "unknown_category": "Unbekannte Benachrichtigungskategorien: werbung.",
            }
        },
        request={"topics": ["stoerungen", "nachrichten"], "muted_categories": [], "stadtteil": "Ickern"},
        response={"topics": ["stoerungen", "nachrichten"], "muted_categories": [], "stadtteil": "Ickern"},
    ),
    "devices_me_inbox": OperationDocs(
        response={
            "next": None,
            "previous": None,
            "results": [{**NOTICE, "read": False}],
        },
        parameters={"page_size": 20},
    ),
    "devices_me_inbox_item_read": OperationDocs(
        summary="Mark an inbox item read", parameters={"item_id": "n-36"}
    ),
    "devices_me_inbox_read_all": OperationDocs(summary="Mark the whole inbox read"),
    "push_notifications_list": OperationDocs(
        response={"next": None, "previous": None, "results": [NOTIFICATION_ITEM]},
        parameters={"status": "sent", "kind": "outage"},
    ),
    "push_notifications_create": OperationDocs(
        errors={
            400: {
                **CONTENT_ERRORS,
                "invalid_thread": "Nur Störungen können Aktualisierungen haben.",
            },
            409: {"outage_resolved": "Diese Störung ist bereits behoben."},
        },
        request={
            "kind": "outage",
            "content": {
                "de": {
                    "title": "Bürgerbüro geschlossen",
                    "body": "Wegen einer Störung bleibt das Bürgerbüro heute geschlossen.",
                },
                "en": {
                    "title": "Citizens' office closed",
                    "body": "It stays closed today because of a failure.",
                },
            },
            "audience_kind": "all",
        },
        response=NOTIFICATION,
    ),
    "push_notifications_read": OperationDocs(
        summary="One notification", response=NOTIFICATION, parameters={"id": 36}
    ),
    "push_notifications_update": OperationDocs(
        summary="Change a draft",
        errors={
            400: {
                **CONTENT_ERRORS,
            },
            409: {"not_editable": "Nur Entwürfe können geändert werden."},
        },
        request={
            "content": {
                "de": {
                    "title": "Bürgerbüro geschlossen",
                    "body": "Wegen einer Störung bleibt das Bürgerbüro heute geschlossen.",
                },
                "en": {
                    "title": "Citizens' office closed",
                    "body": "It stays closed today because of a failure.",
                },
            },
            "expires_at": "2026-12-07T18:00:00+01:00",
        },
        response=NOTIFICATION,
        parameters={"id": 36},
    ),
    "push_notifications_request_approval": OperationDocs(
        summary="Ask a colleague to approve",
        errors={
            400: {
                "empty_audience": EMPTY_AUDIENCE,
                "invalid_audience": (
                    "Wählen Sie als Zielgruppe alle, bestimmte Themen oder bestimmte Stadtteile."
                ),
                "send_at_in_past": "Der Versandzeitpunkt liegt in der Vergangenheit.",
                "expires_before_send": "Der Ablaufzeitpunkt muss nach dem Versandzeitpunkt liegen.",
            },
            409: {
                "invalid_transition": "Nicht möglich, solange die Benachrichtigung den Status „Gesendet“ hat."
            },
        },
        response=NOTIFICATION,
        parameters={"id": 36},
    ),
    "push_notifications_approve": OperationDocs(
        summary="Approve (four-eyes)",
        errors={
            400: {
                "empty_audience": EMPTY_AUDIENCE,
            },
            403: {
                "four_eyes": (
                    "Eine zweite Person muss Ihre Benachrichtigung freigeben (Vier-Augen-Prinzip)."
                ),
                "not_an_approver": "Nur Mitglieder der Gruppe „Kommunikation“ dürfen freigeben.",
            },
            409: {
                "invalid_transition": "Nicht möglich, solange die Benachrichtigung den Status „Gesendet“ hat."
            },
        },
        response=NOTIFICATION,
        parameters={"id": 36},
    ),
    "push_notifications_cancel": OperationDocs(
        summary="Cancel before sending",
        errors={
            409: {
                "invalid_transition": "Nicht möglich, solange die Benachrichtigung den Status „Gesendet“ hat."
            }
        },
        response=NOTIFICATION,
        parameters={"id": 36},
    ),
    "push_notifications_send_test": OperationDocs(
        summary="Send a test to one's own phones",
        errors={
            400: {
                "no_staff_device": (
                    'Koppeln Sie zuerst Ihr Handy: "Mein Handy koppeln" unter Testgeräte im Arbeitsbereich.'
                )
            }
        },
        response={"id": 37, "status": "sending", "test_of": 36},
        parameters={"id": 36},
    ),
    "push_notifications_send_emergency": OperationDocs(
        summary="Send an outage alert now, without approval",
        request={"reason": "Das Rechenzentrum ist ausgefallen, das Bürgerbüro bleibt heute geschlossen."},
        errors={
            400: {
                "not_an_outage": "Nur Störungsmeldungen können ohne Freigabe gesendet werden.",
                "empty_audience": EMPTY_AUDIENCE,
            },
            403: {"no_emergency_permission": "Ihnen fehlt die Berechtigung für Notfallsendungen."},
            409: {
                "invalid_transition": "Nicht möglich, solange die Benachrichtigung den Status „Gesendet“ hat."
            },
        },
        response=NOTIFICATION,
        parameters={"id": 36},
    ),
    "push_notifications_review": OperationDocs(
        summary="Review an emergency send",
        errors={
            403: {
                "four_eyes": ("Eine zweite Person muss Ihre Benachrichtigung freigeben (Vier-Augen-Prinzip).")
            },
            409: {"no_review_pending": "Es gibt nichts zu prüfen."},
        },
        response=NOTIFICATION,
        parameters={"id": 36},
    ),
    "push_notifications_preview": OperationDocs(
        summary="What a phone receives",
        response={
            "language": "de",
            "title": "Bürgerbüro geschlossen",
            "body": "Wegen einer Störung bleibt das Bürgerbüro heute geschlossen.",
            "image_url": "",
            "collapse_key": "outage-36",
            "data": {"notification_id": "36", "kind": "outage"},
            "priority": "high",
            "ttl_seconds": None,
            "channel": "outage",
        },
        parameters={"id": 36, "language": "de"},
    ),
    "push_notifications_statistics": OperationDocs(
        summary="How the send went",
        response={
            "targeted": 1,
            "accepted": 1,
            "inbox_only": 0,
            "pending": 0,
            "cancelled": 0,
            "expired": 0,
            "failed": 0,
            "failed_by_error": {},
            "deactivated": 0,
            "opened": 0,
            "open_rate": 0.0,
            "sent_without_approval": False,
            "fast_path_reason": "",
        },
        parameters={"id": 36},
    ),
    "push_notifications_reject": OperationDocs(
        summary="Reject (four-eyes), with a reason",
        errors={
            403: {
                "four_eyes": "Eine zweite Person muss Ihre Benachrichtigung freigeben (Vier-Augen-Prinzip).",
            },
            409: {
                "invalid_transition": "Nicht möglich, solange die Benachrichtigung den Status „Entwurf“ hat."
            },
        },
        request={"reason": "Bitte die Hotline 02305 106-0 nennen."},
        response=NOTIFICATION,
        parameters={"id": 36},
    ),
    "push_notifications_audience": OperationDocs(
        summary="How many installations it would reach",
        response={
            "total": 184,
            "by_platform": {"android": 112, "ios": 72},
            "by_language": {"de": 171, "en": 13},
            "german_fallback": 9,
            "active_days": 30,
            "minimum": 1,
            "below_minimum": False,
        },
        parameters={"id": 36},
    ),
    "campaigns_list": OperationDocs(
        response={"next": None, "previous": None, "results": [PARTICIPATION_EXAMPLE]},
    ),
    "campaigns_read": OperationDocs(response=PARTICIPATION_EXAMPLE, parameters={"participation_id": 3}),
    "campaigns_gallery": OperationDocs(
        response={"next": None, "previous": None, "results": [GALLERY_PHOTO_EXAMPLE]},
        parameters={"participation_id": 3},
    ),
    "campaigns_submit": OperationDocs(
        errors={
            400: {
                "consent_required": (
                    "Bitte stimmen Sie zu, dass die Stadt das Foto und seinen Text veröffentlichen darf."
                ),
                "parental_consent_required": (
                    "Für ein Kind muss ein Elternteil der Veröffentlichung zustimmen."
                ),
                "unsupported_photo": "Fotos müssen im Format JPEG, PNG, WebP oder HEIC vorliegen.",
                "invalid_photo": (
                    "Das Foto konnte nicht gelesen werden. "
                    "Möglicherweise ist es beschädigt oder unvollständig."
                ),
                "photo_too_large": "Das Foto ist zu groß: höchstens 50 Megapixel.",
            },
            409: {
                "participation_closed": "Diese Aktion nimmt keine Fotos (mehr) an.",
                "submission_limit": "Sie haben 3 Fotos an diese Aktion gesandt, so viele wie sie annimmt.",
            },
        },
        multipart={
            "photo": "(binary JPEG)",
            "text": "Schnee zu Weihnachten",
            "consent_publication": True,
            "is_child": True,
            "parental_consent": True,
        },
        response={
            **GALLERY_PHOTO_EXAMPLE,
            "status": "pending",
            "text": "Schnee zu Weihnachten",
            "public_text": "",
            "created_at": "2026-12-06T09:58:12+01:00",
            "published_at": None,
        },
        parameters={"participation_id": 3},
    ),
    "campaigns_submissions_mine": OperationDocs(
        response=[
            {
                **GALLERY_PHOTO_EXAMPLE,
                "status": "approved",
                "text": "Schnee zu Weihnachten",
                "public_text": "Schnee zu Weihnachten",
                "created_at": "2026-12-06T09:58:12+01:00",
            }
        ],
        parameters={"participation_id": 3},
    ),
    "campaigns_submission_withdraw": OperationDocs(parameters={"participation_id": 3, "submission_id": 17}),
    "push_pairing_codes_create": OperationDocs(
        response={"code": "V72CDK4Y", "expires_at": "2026-12-06T23:47:03+01:00"}
    ),
}
