"""The broadcast topics every deployment has. Ensured after each ``migrate`` (and after a test flush);
staff may rename and describe them in the admin, which this never overwrites."""

from __future__ import annotations

from typing import Any

from push.models import NotificationKind, Topic

# key, kind, German name, English name, German description, English description, default, position
DEFAULT_TOPICS = [
    (
        "stoerungen",
        NotificationKind.OUTAGE,
        "Störungen",
        "Outages",
        "Ausfälle städtischer Dienste, z. B. wenn das Bürgerbüro geschlossen bleiben muss.",
        "Outages of city services, e.g. when the citizens' office has to stay closed.",
        True,
        1,
    ),
    (
        "aktionen",
        NotificationKind.CAMPAIGN,
        "Aktionen",
        "Campaigns",
        "Mitmach-Aktionen und Veranstaltungen der Stadt, z. B. das Wunschfenster.",
        "Campaigns and events of the city, e.g. the wish window.",
        False,
        2,
    ),
    (
        "nachrichten",
        NotificationKind.NEWS,
        "Nachrichten",
        "News",
        "Neuigkeiten aus dem Rathaus.",
        "News from the town hall.",
        False,
        3,
    ),
]


# key: Turkish name and description (filled where empty, so also into topics created before they existed)
TURKISH_TOPICS = {
    "stoerungen": (
        "Arızalar ve kesintiler",
        "Belediye hizmetlerindeki aksaklıklar, örneğin Vatandaşlık Bürosu'nun kapalı kalması gerektiğinde.",
    ),
    "aktionen": (
        "Kampanyalar",
        "Belediyenin katılıma açık kampanyaları ve etkinlikleri, örneğin Dilek Penceresi.",
    ),
    "nachrichten": ("Haberler", "Belediye binasından haberler."),
}


def default_topics_ensure(**kwargs: Any) -> None:
    for key, kind, name_de, name_en, desc_de, desc_en, default, position in DEFAULT_TOPICS:
        Topic.objects.get_or_create(
            key=key,
            defaults={
                "kind": kind,
                "name_de": name_de,
                "name_en": name_en,
                "description_de": desc_de,
                "description_en": desc_en,
                "default_subscribed": default,
                "position": position,
            },
        )
    for key, (name_tr, description_tr) in TURKISH_TOPICS.items():
        Topic.objects.filter(key=key, name_tr="").update(name_tr=name_tr)
        Topic.objects.filter(key=key, description_tr="").update(description_tr=description_tr)
