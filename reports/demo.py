"""Demo data of the Mängelmelder: departments and a category catalogue as a German city has it."""

from __future__ import annotations

from typing import Any, TextIO

from django.db import transaction

from casapp.demo import demo_staff_member
from reports.demo_reports import load_demo_reports
from reports.models import Category, CategoryQuestion, Department, ReplyTemplate

DEPARTMENTS = {
    "tiefbau": "Tiefbauamt (Straßen und Wege)",
    "euv": "EUV Stadtbetrieb (Sauberkeit, Grün)",
    "ordnung": "Ordnungsamt",
    "gruen": "Grünflächen und Spielplätze",
}

# username, first name, last name, departments
DEMO_TRIAGE = [
    ("triage", "Tina", "Triage", ["tiefbau"]),
    ("euv", "Emil", "Ehlert", ["euv"]),
    ("ordnung", "Olga", "Ordnung", ["ordnung"]),
    ("gruen", "Greta", "Grün", ["gruen"]),
    ("teamleitung", "Theo", "Teamleitung", ["tiefbau", "gruen"]),
]

# group key, German, English, icon, [(leaf key, German, English, department, questions)]
CATALOGUE: list[tuple[str, str, str, str, list[tuple[str, str, str, str, list[dict[str, Any]]]]]] = [
    (
        "strassen",
        "Straßen und Wege",
        "Roads and paths",
        "road",
        [
            ("schlagloch", "Schlagloch", "Pothole", "tiefbau", []),
            ("gehweg-schaden", "Gehweg beschädigt", "Damaged pavement", "tiefbau", []),
            ("radweg", "Radweg beschädigt", "Damaged cycle path", "tiefbau", []),
            ("gully", "Gully verstopft oder defekt", "Blocked or broken drain", "tiefbau", []),
            ("verkehrszeichen", "Verkehrszeichen beschädigt", "Damaged road sign", "tiefbau", []),
        ],
    ),
    (
        "beleuchtung",
        "Beleuchtung",
        "Street lighting",
        "lightbulb",
        [
            (
                "strassenlaterne",
                "Straßenlaterne defekt",
                "Streetlight out",
                "tiefbau",
                [
                    {
                        "key": "mast_nummer",
                        "label_de": "Nummer am Laternenmast",
                        "label_en": "Number on the lamp post",
                        "kind": "text",
                        "required": False,
                    },
                    {
                        "key": "fehlerbild",
                        "label_de": "Was ist los?",
                        "label_en": "What is wrong?",
                        "kind": "single_choice",
                        "required": True,
                        "choices": [
                            {"key": "aus", "label_de": "Leuchtet nicht", "label_en": "Not lit"},
                            {"key": "flackert", "label_de": "Flackert", "label_en": "Flickers"},
                            {
                                "key": "tags_an",
                                "label_de": "Brennt tagsüber",
                                "label_en": "On during the day",
                            },
                        ],
                    },
                ],
            ),
            ("ampel", "Ampel gestört", "Traffic light fault", "tiefbau", []),
        ],
    ),
    (
        "sauberkeit",
        "Sauberkeit",
        "Cleanliness",
        "trash",
        [
            (
                "wilder-muell",
                "Wilder Müll",
                "Illegally dumped waste",
                "euv",
                [
                    {
                        "key": "menge",
                        "label_de": "Wie viel ist es?",
                        "label_en": "How much is it?",
                        "kind": "single_choice",
                        "required": False,
                        "choices": [
                            {"key": "klein", "label_de": "Einzelne Teile", "label_en": "A few items"},
                            {"key": "mittel", "label_de": "Kofferraumladung", "label_en": "A car boot full"},
                            {"key": "gross", "label_de": "Mehr", "label_en": "More"},
                        ],
                    },
                    {
                        "key": "inhalt",
                        "label_de": "Was liegt dort?",
                        "label_en": "What is there?",
                        "kind": "multiple_choice",
                        "required": False,
                        "choices": [
                            {"key": "sperrmuell", "label_de": "Sperrmüll", "label_en": "Bulky waste"},
                            {
                                "key": "elektro",
                                "label_de": "Elektrogeräte",
                                "label_en": "Electrical appliances",
                            },
                            {"key": "reifen", "label_de": "Reifen", "label_en": "Tyres"},
                            {
                                "key": "gefahrstoffe",
                                "label_de": "Gefahrstoffe",
                                "label_en": "Hazardous materials",
                            },
                        ],
                    },
                ],
            ),
            ("papierkorb", "Papierkorb voll oder defekt", "Litter bin full or broken", "euv", []),
            ("graffiti", "Graffiti", "Graffiti", "euv", []),
            ("glascontainer", "Glascontainer überfüllt", "Bottle bank overflowing", "euv", []),
            ("hundekot", "Hundekot", "Dog fouling", "ordnung", []),
        ],
    ),
    (
        "gruen",
        "Grün und Spielplätze",
        "Green spaces and playgrounds",
        "tree",
        [
            ("spielplatz", "Spielgerät beschädigt", "Damaged play equipment", "gruen", []),
            ("baum", "Baum oder Ast gefährlich", "Dangerous tree or branch", "gruen", []),
            (
                "gruenschnitt",
                "Hecke oder Bewuchs ragt in den Weg",
                "Overgrown hedge on the path",
                "gruen",
                [],
            ),
            ("parkbank", "Parkbank beschädigt", "Damaged park bench", "gruen", []),
        ],
    ),
    (
        "ordnung",
        "Ordnung und Verkehr",
        "Public order and traffic",
        "shield",
        [
            (
                "autowrack",
                "Abgemeldetes Fahrzeug",
                "Abandoned vehicle",
                "ordnung",
                [
                    {
                        "key": "kennzeichen_vorhanden",
                        "label_de": "Hat es noch ein Kennzeichen?",
                        "label_en": "Does it still have a number plate?",
                        "kind": "single_choice",
                        "required": False,
                        "choices": [
                            {"key": "ja", "label_de": "Ja", "label_en": "Yes"},
                            {"key": "nein", "label_de": "Nein", "label_en": "No"},
                        ],
                    },
                ],
            ),
            ("fahrradleiche", "Fahrradwrack", "Abandoned bicycle", "ordnung", []),
            (
                "falschparker-dauer",
                "Dauerhaft zugeparkter Weg",
                "Path permanently blocked by parking",
                "ordnung",
                [],
            ),
            (
                "sonstiges",
                "Sonstiges",
                "Something else",
                "ordnung",
                [
                    {
                        "key": "anzahl_betroffene",
                        "label_de": "Wie viele Stellen sind betroffen?",
                        "label_en": "How many spots are affected?",
                        "kind": "number",
                        "required": False,
                    },
                ],
            ),
        ],
    ),
]

# The Turkish names of the catalogue (groups and leaves) and of its questions and their choices.
TURKISH_NAMES = {
    "strassen": "Yollar ve kaldırımlar",
    "schlagloch": "Yolda çukur",
    "gehweg-schaden": "Hasarlı kaldırım",
    "radweg": "Hasarlı bisiklet yolu",
    "gully": "Tıkalı veya arızalı rögar",
    "verkehrszeichen": "Hasarlı trafik levhası",
    "beleuchtung": "Sokak aydınlatması",
    "strassenlaterne": "Arızalı sokak lambası",
    "ampel": "Trafik ışığı arızası",
    "sauberkeit": "Temizlik",
    "wilder-muell": "Gelişigüzel atılmış çöp",
    "papierkorb": "Dolu veya hasarlı çöp kutusu",
    "graffiti": "Grafiti",
    "glascontainer": "Taşan cam konteyneri",
    "hundekot": "Köpek dışkısı",
    "gruen": "Yeşil alanlar ve oyun parkları",
    "spielplatz": "Hasarlı oyun aleti",
    "baum": "Tehlikeli ağaç veya dal",
    "gruenschnitt": "Yola taşan çit veya bitki",
    "parkbank": "Hasarlı park bankı",
    "ordnung": "Kamu düzeni ve trafik",
    "autowrack": "Kaydı silinmiş araç",
    "fahrradleiche": "Terk edilmiş bisiklet",
    "falschparker-dauer": "Park eden araçlar nedeniyle sürekli kapalı yol",
    "sonstiges": "Diğer",
}
# question key: (question, {choice key: choice})
TURKISH_QUESTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "mast_nummer": ("Lamba direğindeki numara", {}),
    "fehlerbild": (
        "Sorun nedir?",
        {"aus": "Yanmıyor", "flackert": "Yanıp sönüyor", "tags_an": "Gündüz yanıyor"},
    ),
    "menge": (
        "Ne kadar var?",
        {"klein": "Birkaç parça", "mittel": "Bir bagaj dolusu", "gross": "Daha fazla"},
    ),
    "inhalt": (
        "Orada ne var?",
        {
            "sperrmuell": "Hacimli atık",
            "elektro": "Elektrikli cihazlar",
            "reifen": "Lastikler",
            "gefahrstoffe": "Tehlikeli maddeler",
        },
    ),
    "kennzeichen_vorhanden": ("Plakası hâlâ takılı mı?", {"ja": "Evet", "nein": "Hayır"}),
    "anzahl_betroffene": ("Kaç yer etkileniyor?", {}),
}


def _with_turkish(question: dict[str, Any]) -> dict[str, Any]:
    label, choices = TURKISH_QUESTIONS.get(question["key"], ("", {}))
    return {
        **question,
        "label_tr": label,
        "choices": [
            {**choice, "label_tr": choices.get(choice["key"], "")} for choice in question.get("choices", [])
        ],
    }


def _fill_turkish() -> None:
    """Turkish names for a catalogue loaded before they existed; a name staff wrote is kept."""
    for key, name in TURKISH_NAMES.items():
        Category.objects.filter(key=key, name_tr="").update(name_tr=name)
    for question in CategoryQuestion.objects.filter(key__in=TURKISH_QUESTIONS, label_tr=""):
        filled = _with_turkish({"key": question.key, "choices": question.choices})
        question.label_tr = filled["label_tr"]
        question.choices = filled["choices"]
        question.save(update_fields=["label_tr", "choices", "updated_at"])


# Reply templates ("Textbausteine") per department: title, text ({nummer}, {kategorie}: see reply_templates).
DEMO_REPLY_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "tiefbau": [
        (
            "Eingangsbestätigung",
            "Vielen Dank für Ihre Meldung #{nummer} ({kategorie}). Wir sehen uns den Schaden an und "
            "melden uns, sobald wir mehr wissen.",
        ),
        (
            "Bauhof beauftragt",
            "Der Bauhof ist mit der Meldung #{nummer} beauftragt und kommt in den nächsten Tagen vorbei.",
        ),
        ("Erledigt", "Der Schaden aus Ihrer Meldung #{nummer} ist behoben. Danke für Ihren Hinweis!"),
        (
            "Privatgrund",
            "Die Stelle aus Meldung #{nummer} liegt auf privatem Grund. Wir haben die Eigentümer informiert.",
        ),
    ],
    "gruen": [
        (
            "Eingangsbestätigung",
            "Vielen Dank für Ihre Meldung #{nummer} ({kategorie}). Unser Grünflächenteam schaut es sich an.",
        ),
        ("Baumkontrolle", "Ein Baumkontrolleur prüft die Stelle aus Meldung #{nummer} in dieser Woche."),
    ],
    "euv": [
        ("Abholung geplant", "Der EUV Stadtbetrieb holt den Abfall aus Meldung #{nummer} in Kürze ab."),
    ],
    "ordnung": [
        ("Außendienst informiert", "Der Außendienst des Ordnungsamts ist zu Meldung #{nummer} informiert."),
    ],
}


def load_demo_reply_templates() -> None:
    """Idempotent: the demo departments' reply templates, for those of the departments that exist; a
    template staff changed (same title) is left as it is."""
    for department in Department.objects.filter(key__in=DEMO_REPLY_TEMPLATES):
        for title, text in DEMO_REPLY_TEMPLATES[department.key]:
            ReplyTemplate.objects.get_or_create(department=department, title=title, defaults={"text": text})


@transaction.atomic
def load_demo(*, stdout: TextIO) -> None:
    """Idempotent: creates what is missing, changes nothing staff edited."""
    departments = {
        key: Department.objects.get_or_create(key=key, defaults={"name": name})[0]
        for key, name in DEPARTMENTS.items()
    }
    leaves = 0
    for group_position, (group_key, name_de, name_en, icon, children) in enumerate(CATALOGUE):
        group, _ = Category.objects.get_or_create(
            key=group_key,
            defaults={
                "name_de": name_de,
                "name_en": name_en,
                "name_tr": TURKISH_NAMES.get(group_key, ""),
                "icon_key": icon,
                "position": group_position,
            },
        )
        for position, (key, leaf_de, leaf_en, department, questions) in enumerate(children):
            leaf, created = Category.objects.get_or_create(
                key=key,
                defaults={
                    "parent": group,
                    "name_de": leaf_de,
                    "name_en": leaf_en,
                    "name_tr": TURKISH_NAMES.get(key, ""),
                    "icon_key": icon,
                    "department": departments[department],
                    "position": position,
                },
            )
            leaves += 1
            if created:
                for question_position, question in enumerate(questions):
                    CategoryQuestion.objects.create(
                        category=leaf, position=question_position, **_with_turkish(question)
                    )
    _fill_turkish()
    load_demo_reply_templates()
    # A Triage member per department and a team lead for two; Administration sees everything anyway.
    for username, first_name, last_name, keys in DEMO_TRIAGE:
        member = demo_staff_member(
            username=username, first_name=first_name, last_name=last_name, roles=["Triage"]
        )
        for key in keys:
            departments[key].members.add(member)
    stdout.write(f"Mängelmelder: {len(departments)} departments, {leaves} categories.\n")
    load_demo_reports(stdout=stdout)
