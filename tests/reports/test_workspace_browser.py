"""Service tier, in a real browser: a Tiefbau Triage member's day in the workspace with no internet at all.

The queue with its columns and "Mein Eingang", the overview map and a report's map with every request
leaving the site refused (so no tiles: the maps must still show the city boundary and the points), and a
reply template inserted, edited and sent. Screenshots of the queue, the map and a report's page are saved
to ``.pytest-media/workspace/`` (``PYTEST_MEDIA_DIR`` overrides the directory); docs/img/ has copies.

Debian's ``chromium`` driven by Playwright for Python, as in test_triage_browser.py, whose note on the
database applies: the database is touched only before the browser starts and after it is closed.
"""

from __future__ import annotations

import io
import random
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFilter

from reports.demo import CATALOGUE, DEPARTMENTS, load_demo_reply_templates
from reports.geo import point_in_city
from reports.models import Category, Department, ReplyTemplate, Report, ReportEvent, ReportPhoto, ReportStatus
from tests.browser import CHROMIUM, CHROMIUM_ARGS, MEDIA, PASSWORD, needs_chromium, offsite
from tests.reports.staff_factories import reporter, supporter_of, triage_staff

pytestmark = [
    pytest.mark.services,
    needs_chromium,
]

STREETS = [
    ("Münsterstraße", "Castrop"),
    ("Wittener Straße", "Obercastrop"),
    ("Bahnhofstraße", "Rauxel"),
    ("Lange Straße", "Castrop"),
    ("Dortmunder Straße", "Merklinde"),
    ("Recklinghauser Straße", "Habinghorst"),
    ("Ickerner Straße", "Ickern"),
    ("Habinghorster Straße", "Habinghorst"),
    ("Bladenhorster Straße", "Bladenhorst"),
    ("Schweriner Straße", "Schwerin"),
    ("Frohlinder Straße", "Frohlinde"),
    ("Henrichenburger Straße", "Henrichenburg"),
    ("Deininghauser Weg", "Deininghausen"),
    ("Pöppinghauser Straße", "Pöppinghausen"),
]
PROBLEMS = {
    "schlagloch": [
        "Tiefes Schlagloch in der Fahrbahn, Radfahrer müssen ausweichen",
        "Mehrere Schlaglöcher nach dem Frost, eines etwa 10 cm tief",
        "Schlagloch direkt an der Bushaltestelle, Wasser steht darin",
    ],
    "gehweg-schaden": [
        "Gehwegplatten angehoben, Stolpergefahr vor der Apotheke",
        "Bordstein abgebrochen, Kante liegt auf dem Gehweg",
    ],
    "strassenlaterne": [
        "Laterne vor Hausnummer 14 seit Tagen dunkel",
        "Straßenlaterne flackert die ganze Nacht",
    ],
    "gully": [
        "Gully verstopft, bei Regen steht die Kreuzung unter Wasser",
        "Gullydeckel klappert laut bei jeder Überfahrt",
    ],
    "verkehrszeichen": ["Vorfahrtsschild umgefahren, liegt im Grünstreifen"],
    "radweg": ["Wurzelaufbrüche im Radweg, gefährlich bei Dunkelheit"],
}
OPEN = [ReportStatus.RECEIVED, ReportStatus.RECEIVED, ReportStatus.IN_REVIEW, ReportStatus.IN_PROGRESS]


def _street_photo(seed: int) -> tuple[bytes, bytes]:
    """A photo of asphalt with a dark hole in it and the thumbnail the pipeline would make of it."""
    rng = random.Random(seed)
    image = Image.effect_noise((640, 480), 28).convert("RGB")
    image = Image.blend(image, Image.new("RGB", image.size, (118, 118, 122)), 0.55)
    draw = ImageDraw.Draw(image)
    x, y = rng.randint(140, 380), rng.randint(140, 260)
    draw.ellipse((x, y, x + rng.randint(140, 240), y + rng.randint(80, 160)), fill=(48, 44, 40))
    draw.rectangle((0, 420, 640, 436), fill=(236, 236, 230))  # a road marking
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    full, small = io.BytesIO(), io.BytesIO()
    image.save(full, "JPEG", quality=80)
    thumbnail = image.copy()
    thumbnail.thumbnail((320, 320))
    thumbnail.save(small, "JPEG", quality=75)
    return full.getvalue(), small.getvalue()


def _place_in_city(rng: random.Random) -> tuple[float, float]:
    while True:
        latitude, longitude = rng.uniform(51.535, 51.612), rng.uniform(7.255, 7.355)
        if point_in_city(latitude=latitude, longitude=longitude):
            return latitude, longitude


def _demo_catalogue() -> None:
    """The demo's departments, categories and reply templates; not its reports (this test files its own)."""
    departments = {key: Department.objects.create(key=key, name=name) for key, name in DEPARTMENTS.items()}
    for group_key, name_de, _name_en, _icon, children in CATALOGUE:
        group = Category.objects.create(key=group_key, name_de=name_de)
        for position, (key, leaf_de, _leaf_en, department, _questions) in enumerate(children):
            Category.objects.create(
                key=key, name_de=leaf_de, parent=group, department=departments[department], position=position
            )
    load_demo_reply_templates()


def _a_day_of_reports(tiefbau_member: Any) -> dict[str, Any]:
    """The demo catalogue and a realistic queue: Tiefbau's open and closed reports across the city, a few
    of Grünflächen's (another department). Returns the reports the test follows."""
    _demo_catalogue()
    Department.objects.get(key="tiefbau").members.add(tiefbau_member)
    rng = random.Random(13)
    now = timezone.now()
    categories = {category.key: category for category in Category.objects.filter(key__in=PROBLEMS)}
    filed: list[Report] = []
    for number in range(34):
        key = rng.choice(list(PROBLEMS))
        street, stadtteil = rng.choice(STREETS)
        latitude, longitude = _place_in_city(rng)
        target = Report.objects.create(
            category=categories[key],
            description=rng.choice(PROBLEMS[key]),
            address=f"{street} {rng.randint(1, 180)}" if number % 7 else "",
            stadtteil=stadtteil,
            latitude=latitude,
            longitude=longitude,
            status=rng.choice(OPEN) if number % 9 else ReportStatus.DONE,
            assigned_to=tiefbau_member if number % 4 == 0 else None,
        )
        age = timedelta(days=rng.choice([0, 0, 1, 2, 3, 5, 8, 12, 21]), hours=rng.randint(1, 20))
        Report.objects.filter(pk=target.pk).update(created_at=now - age, updated_at=now - age / 3)
        if number % 3 == 0:
            full, small = _street_photo(number)
            stored = ReportPhoto(report=target, position=0)
            stored.image.save(f"photo-{target.pk}.jpg", ContentFile(full), save=False)
            stored.thumbnail.save(f"photo-{target.pk}-thumb.jpg", ContentFile(small), save=False)
            stored.width, stored.height = 640, 480  # as the photo pipeline sets them after storing
            stored.save()
        for _ in range(rng.choice([0, 0, 1, 2, 4])):
            supporter_of(target)
        filed.append(target)
    # The one the member answers: a broken road sign, the only one of its kind, reported three days ago.
    answered = Report.objects.create(
        category=Category.objects.get(key="verkehrszeichen"),
        description="Stoppschild an der Einmündung ist verdreht und zeigt in die falsche Richtung",
        address="Wittener Straße 77",
        stadtteil="Obercastrop",
        latitude=51.5532,
        longitude=7.3116,
        installation=reporter(locale="de"),
    )
    Report.objects.filter(category__key="verkehrszeichen").exclude(pk=answered.pk).delete()
    full, small = _street_photo(99)
    stored = ReportPhoto(report=answered, position=0)
    stored.image.save("stoppschild.jpg", ContentFile(full), save=False)
    stored.thumbnail.save("stoppschild-thumb.jpg", ContentFile(small), save=False)
    stored.width, stored.height = 640, 480
    stored.save()
    Report.objects.filter(pk=answered.pk).update(created_at=now - timedelta(days=3, hours=2))
    foreign = [
        Report.objects.create(
            category=Category.objects.get(key=key),
            description="Ast hängt über dem Spielplatz",
            latitude=latitude,
            longitude=longitude,
        )
        for key, (latitude, longitude) in zip(
            ("baum", "spielplatz"), (_place_in_city(rng), _place_in_city(rng)), strict=False
        )
        if Category.objects.filter(key=key).exists()
    ]
    return {
        "answered": answered,
        "foreign": foreign,
        "open_tiefbau": Report.objects.filter(
            category__department__key="tiefbau", status__in=[s.value for s in set(OPEN)]
        ).count(),
        "template": ReplyTemplate.objects.get(department__key="tiefbau", title="Bauhof beauftragt"),
    }


@pytest.mark.django_db(transaction=True)
def test_a_tiefbau_day_in_the_workspace_without_internet(live_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    # --- the database, before the browser starts
    member = triage_staff(username="t.becker", first_name="Tina", last_name="Becker")
    day = _a_day_of_reports(member)
    answered: Report = day["answered"]
    assert day["foreign"], "the demo catalogue has Grünflächen categories"
    edit = " Voraussichtlich am Freitag; bis dahin ist die Stelle abgesichert."
    expected_reply = (
        f"Der Bauhof ist mit der Meldung #{answered.pk} beauftragt und kommt in den nächsten Tagen vorbei."
        + edit
    )
    shots = MEDIA / "workspace"
    shots.mkdir(parents=True, exist_ok=True)

    refused: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="de-DE", viewport={"width": 1920, "height": 1080})

            # Nothing leaves the machine: tiles (and anything else outside the site) are refused.
            def refuse(route: Any) -> None:
                refused.append(route.request.url)
                route.abort()

            context.route(offsite(live_server.url), refuse)
            page = context.new_page()
            page.set_default_timeout(20_000)

            page.goto(f"{live_server.url}/admin/login/?next=/admin/reports/report/")
            page.fill("input[name=username]", member.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit]")

            # The queue: "Mein Eingang" is one click; the row shows what a team needs to pick a report.
            page.wait_for_url(re.compile(r"/admin/reports/report/$"))
            page.click("#toggle-nav-sidebar")  # more room for the queue; the admin remembers it
            page.click("a.report-inbox-link")
            page.wait_for_url(re.compile(r"\?inbox=mine$"))
            row = page.locator(
                "#result_list tbody tr", has=page.locator(f'a[href*="/{answered.pk}/change/"]')
            )
            expect(row).to_contain_text("Verkehrszeichen beschädigt")
            expect(row).to_contain_text("Stoppschild an der Einmündung ist verdreht")
            expect(row).to_contain_text("Wittener Straße 77")
            expect(row).to_contain_text("Obercastrop")
            expect(row).to_contain_text("3 Tage")
            expect(row).to_contain_text("eingegangen")
            for header in (
                "Nr.",
                "Foto",
                "Beschreibung",
                "Adresse",
                "Alter",
                "Zugewiesen an",
                "Unterstützende",
            ):
                expect(page.locator("#result_list thead")).to_contain_text(header)
            thumbnails = page.locator("#result_list img.report-list-thumbnail")
            expect(thumbnails.first).to_have_attribute("loading", "lazy")
            assert thumbnails.count() >= 5
            page.wait_for_function(
                "[...document.querySelectorAll('img.report-list-thumbnail')].every(i => i.complete)"
            )
            page.screenshot(path=str(shots / "queue.png"))

            # The overview map, tiles refused: the boundary and the points are there all the same.
            page.click("a.report-map-link")
            page.wait_for_url(re.compile(r"/admin/reports/report/map/"))
            expect(page.locator("#overview-map-count")).to_have_text(
                f"{day['open_tiefbau']} offene Meldungen"
            )
            expect(page.locator("#overview-map path.city-boundary")).to_have_count(1)
            expect(page.locator("#overview-map .report-pin").first).to_be_visible()
            shown = page.locator("#overview-map .report-pin").count()
            clustered = page.evaluate(
                "[...document.querySelectorAll('#overview-map .report-cluster')]"
                ".reduce((sum, c) => sum + parseInt(c.textContent, 10), 0)"
            )
            assert shown + clustered == day["open_tiefbau"]
            assert page.locator("#overview-map img.leaflet-tile-loaded").count() == 0
            assert any("tile.openstreetmap.org" in url for url in refused), refused[:5]
            for other in day["foreign"]:
                assert page.locator(f'#overview-map [title="#{other.pk}"]').count() == 0
            page.screenshot(path=str(shots / "map.png"))

            # Filtered to one category, the one report; a click opens it.
            page.select_option("#id_category", "verkehrszeichen")
            expect(page.locator("#overview-map-count")).to_have_text("1 offene Meldung")
            expect(page).to_have_url(re.compile(r"category=verkehrszeichen"))
            page.locator(f'#overview-map .report-pin[title="#{answered.pk}"]').click()
            page.wait_for_url(re.compile(rf"/admin/reports/report/{answered.pk}/change/$"))

            # The report's own map, tiles refused too: it shows the whole city with the place in it.
            expect(page.locator("#report-map .leaflet-marker-icon")).to_be_visible()
            expect(page.locator("#report-map path.city-boundary")).to_have_count(1)
            page.wait_for_function(
                """() => {
                    const map = document.querySelector('#report-map').getBoundingClientRect();
                    const city = document.querySelector('#report-map path.city-boundary')
                        .getBoundingClientRect();
                    return city.width > 100 && city.left >= map.left - 2 && city.right <= map.right + 2
                        && city.top >= map.top - 2 && city.bottom <= map.bottom + 2;
                }"""
            )

            # A reply template, filled in by the server, inserted, edited, sent.
            page.select_option("#id_reply_template", label="Bauhof beauftragt")
            message = page.locator("textarea[name=message]")
            expect(message).to_have_value(
                re.compile(rf"^Der Bauhof ist mit der Meldung #{answered.pk} beauftragt")
            )
            expect(page.locator("#id_reply_template")).to_have_value("")
            message.press("End")
            message.type(edit)
            expect(message).to_have_value(expected_reply)
            page.evaluate("document.querySelector('.field-description').scrollIntoView()")
            page.screenshot(path=str(shots / "report.png"))
            page.locator("fieldset", has=message).screenshot(path=str(shots / "reply-template.png"))
            page.click("input[name=_continue]")

            page.wait_for_url(re.compile(rf"/admin/reports/report/{answered.pk}/change/$"))
            expect(page.locator("ul.messagelist li.success")).to_be_visible()
            expect(page.locator("table.report-history")).to_contain_text(edit.strip())
            expect(page.locator(".errornote")).to_have_count(0)
            page.locator("table.report-history").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "report-timeline.png"))
        finally:
            browser.close()

    # --- the database, after the browser closed
    reply = ReportEvent.objects.get(report=answered, kind=ReportEvent.Kind.REPLY)
    assert (reply.actor_id, reply.public_message, reply.is_public) == (member.pk, expected_reply, True)
    assert Report.objects.get(pk=answered.pk).status == ReportStatus.RECEIVED
    assert ReplyTemplate.objects.get(pk=day["template"].pk).text == day["template"].text  # untouched
