from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PushConfig(AppConfig):
    name = "push"
    verbose_name = _("Push and app installations")
    # Permissions this app grants to the staff roles (synced after every migrate by casapp.roles).
    # Test devices are only paired from the phone (push.services.pairing): no role adds or changes them.
    role_permissions = {
        "Administration": [
            "view_installation",
            "view_notification",
            "view_delivery",
            "view_auditentry",
            "delete_staffdevice",
            "view_staffdevice",
            "view_topic",
            "change_topic",
            "view_participation",
            "view_submission",
        ],
        "Kommunikation": [
            "add_notification",
            "change_notification",
            "view_notification",
            "approve_notification",
            "view_auditentry",
            "view_topic",
            "delete_staffdevice",
            "view_staffdevice",
            # Mitmach-Aktionen: open one for a campaign, moderate what citizens send (push.participation).
            "add_participation",
            "change_participation",
            "view_participation",
            "change_submission",
            "view_submission",
        ],
    }

    # In no role: Administration grants it person by person (casapp.staff), and each grant is audited.
    grantable_permissions = {"send_emergency_outage": _("Send outage alerts without a second approval")}

    def ready(self) -> None:
        from push import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from push.participation.services import submissions_erase_for_installation
        from push.signals import installation_erasing
        from push.topics import default_topics_ensure

        post_migrate.connect(default_topics_ensure, sender=self, dispatch_uid="push.default_topics_ensure")
        # Erasing an installation withdraws its consent: its campaign photos go with it, files included.
        installation_erasing.connect(
            submissions_erase_for_installation, dispatch_uid="push.participation.erase_installation"
        )
        register_push_links()


def register_push_links() -> None:
    """push's own screens of the app: a notice of the notice board and a campaign's page."""
    from push.links import LinkParameter, register_link

    register_link(
        key="notice",
        template="casapp://notices/{id}",
        name={"de": "Mitteilung", "en": "Notice", "tr": "Duyuru"},
        description={
            "de": "Eine veröffentlichte Mitteilung (Störung, Aktion, Nachricht) im Mitteilungsbrett.",
            "en": "A published notice (outage, campaign, news) on the notice board.",
            "tr": "Duyuru panosunda yayımlanmış bir duyuru (arıza, kampanya, haber).",
        },
        parameters=[
            LinkParameter(
                "id", {"de": "Nummer der Mitteilung", "en": "Notice number", "tr": "Duyuru numarası"}
            )
        ],
        exists=_notice_exists,
        suggestions=_recent_notices,
    )
    register_link(
        key="campaign",
        template="casapp://campaigns/{id}",
        name={"de": "Aktionsseite", "en": "Campaign page", "tr": "Kampanya sayfası"},
        description={
            "de": "Die Seite einer Aktion der Stadt, zum Mitmachen.",
            "en": "The page of a campaign of the city, to take part.",
            "tr": "Katılmak için belediyenin bir kampanyasının sayfası.",
        },
        parameters=[
            LinkParameter(
                "id", {"de": "Nummer der Aktion", "en": "Campaign number", "tr": "Kampanya numarası"}
            )
        ],
        exists=_campaign_exists,
        suggestions=_recent_campaigns,
    )


def _notice_exists(id: str) -> bool:
    from push.models import BROADCAST_KINDS, Notification

    return Notification.objects.filter(pk=int(id), kind__in=BROADCAST_KINDS, test_of__isnull=True).exists()


def _campaign_exists(id: str) -> bool:
    # The id of the campaign's page is what the app's campaign API takes: the participation's own id, not
    # its notification's (``/api/v1/campaigns/{id}``).
    from push.participation.models import Participation

    return Participation.objects.filter(pk=int(id)).exists()


SUGGESTED = 30


def _recent_notices() -> list[tuple[str, str]]:
    from push.selectors import notifications_for_staff

    return [
        (str(n.pk), f"{n.pk}: {n}") for n in notifications_for_staff().order_by("-created_at")[:SUGGESTED]
    ]


def _recent_campaigns() -> list[tuple[str, str]]:
    from push.participation.models import Participation

    participations = Participation.objects.select_related("notification").order_by("-pk")[:SUGGESTED]
    return [(str(p.pk), f"{p.pk}: {p.notification}") for p in participations]
